"""Shared test fixtures: small on-disk manifests, the shared real-data fixtures, CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from fakearena.data.manifest import Manifest, ManifestCard, write_manifest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """One FAKEARENA_CACHE per test session (identity models, FID statistics): tests never
    read or fill the user's ~/.cache, and CLI subprocesses inherit it."""
    previous = os.environ.get("FAKEARENA_CACHE")
    os.environ["FAKEARENA_CACHE"] = str(tmp_path_factory.mktemp("fakearena_cache"))
    yield
    if previous is None:
        os.environ.pop("FAKEARENA_CACHE", None)
    else:
        os.environ["FAKEARENA_CACHE"] = previous


def shared_dir() -> Path | None:
    """`../shared` beside the repository (fixtures, split lists), or None when absent."""
    for candidate in (REPO_ROOT.parent / "shared", Path("/work/shared")):
        if (candidate / "fixtures").is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The real-data fixtures folder; skips the test when it is absent."""
    shared = shared_dir()
    if shared is None:
        pytest.skip("../shared/fixtures is not present on this machine")
    return shared / "fixtures"


def make_toy_manifest(root: Path, n: int = 60, size: int = 32, seed: int = 0) -> Path:
    """Write `n` PNGs (reals: noise; fakes: noise with a bright square) and their manifest."""
    rng = np.random.default_rng(seed)
    rows = []
    (root / "img").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        label = i % 2
        image = (rng.random((size, size, 3)) * 80 + 60).astype(np.uint8)
        if label:
            image[size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 220
        path = f"img/{i:04d}.png"
        Image.fromarray(image).save(root / path)
        fraction = i / n
        split = "train" if fraction < 0.6 else ("val" if fraction < 0.8 else "test")
        rows.append(
            {
                "path": path,
                "label": label,
                "split": split,
                "video_id": f"toy/real{i // 4}" if label == 0 else f"toy/fake{i}",
                "frame": 0,
                "identity": f"p{i % 3}",
                "source": "real" if label == 0 else "toy/square",
            }
        )
    manifest = Manifest(pd.DataFrame(rows), ManifestCard(name="toy", image_size=size), root)
    return write_manifest(manifest, root / "toy.csv")


@pytest.fixture(scope="session")
def ffpp_crops(fixtures_dir: Path, tmp_path_factory) -> Path:
    """Face crops (64 px, 8 frames per video) of the two-video FF++ fixture, one real and one
    NeuralTextures fake, split by frame so that every split holds both labels: frames 0-3
    train, 4-5 val, 6-7 test (a smoke-test layout; real data splits by video)."""
    from dataclasses import replace

    from fakearena.data.builders.cli import main as build_main
    from fakearena.data.manifest import read_manifest
    from fakearena.faces.cli import main as faces_main

    root = tmp_path_factory.mktemp("ffpp_crops")
    assert build_main(["ffpp", f"root={fixtures_dir / 'ffpp_mini'}", f"out={root}"]) == 0
    extract = [f"input={root / 'videos.csv'}", f"out={root / 'faces'}", "frames_per_video=8"]
    assert faces_main(["extract", *extract, "size=64", "progress=false"]) == 0
    manifest = read_manifest(root / "faces" / "ffpp_c23.csv")
    frame = manifest.frame.copy()
    order = frame.groupby("video_id")["frame"].rank(method="first").astype(int) - 1
    frame["split"] = np.where(order < 4, "train", np.where(order < 6, "val", "test"))
    return write_manifest(replace(manifest, frame=frame), root / "faces" / "ffpp_crops.csv")


@pytest.fixture()
def toy_manifest(tmp_path: Path) -> Path:
    return make_toy_manifest(tmp_path / "toy")


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run `fakearena ARGS` in a subprocess (as a user would), capturing output."""
    env = dict(os.environ, WANDB_MODE="offline", PYTHONWARNINGS="ignore")
    return subprocess.run(
        [sys.executable, "-m", "fakearena.cli", *args],
        cwd=cwd or REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
