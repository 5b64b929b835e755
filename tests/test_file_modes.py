"""Files fakearena writes are readable by the team: atomic writes respect the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image
from skimage import data

from fakearena.faces.extract import ExtractOptions, SourceItem, extract_faces
from fakearena.report.leaderboard import write_leaderboard
from fakearena.results import SCHEMA_VERSION, metric, write_results
from fakearena.utils.io import atomic_write_text

from conftest import make_toy_manifest


@pytest.fixture()
def umask() -> Iterator[Callable[[int], int]]:
    """Set the process umask for the test; the old one is restored afterwards."""
    old = os.umask(0o022)
    try:
        yield os.umask
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_manifests_crops_results_and_report_are_0644_under_umask_022(tmp_path: Path, umask):
    umask(0o022)
    manifest = make_toy_manifest(tmp_path / "toy", n=8, size=16)
    assert mode(manifest) == 0o644 and mode(manifest.with_suffix(".yaml")) == 0o644

    Image.fromarray(data.astronaut()).save(tmp_path / "astro.png")
    item = SourceItem(
        path=tmp_path / "astro.png", kind="image", video_id="astro", label=0, split="test"
    )
    options = ExtractOptions(size=32, detect_size=320)
    summary = extract_faces([item], tmp_path / "faces", options, name="faces", progress=False)
    crops = sorted((tmp_path / "faces" / "astro").glob("*.jpg"))  # JPEG q95 by default
    assert crops, "the astronaut's face was not extracted"
    for path in [*crops, summary.manifest_path, summary.report_path]:
        assert mode(path) == 0o644, f"{path} is {oct(mode(path))}"

    run_dir = tmp_path / "run"
    record = {
        "schema_version": SCHEMA_VERSION,
        "task": "detect",
        "detector": "meso4",
        "generator": None,
        "train_data": [{"name": "toy", "sha256": "x"}],
        "test_data": [{"name": "toy", "sha256": "x"}],
        "metrics": {"test/auc": metric(0.9, n=10)},
        "seed": 0,
        "artifacts": {"run_dir": str(run_dir)},
        "environment": {},
        "config": {},
    }
    results = write_results(run_dir, record)
    assert mode(results) == 0o644
    written = write_leaderboard([run_dir], tmp_path / "report")
    for name in ("html", "md", "csv"):
        assert mode(written[name]) == 0o644, f"{written[name]} is {oct(mode(written[name]))}"


def test_a_private_umask_is_respected_too(tmp_path: Path, umask):
    umask(0o077)
    assert mode(atomic_write_text(tmp_path / "private.txt", "x")) == 0o600
    umask(0o027)
    assert mode(atomic_write_text(tmp_path / "group.txt", "x")) == 0o640
    # replacing a file gives it the current umask's mode, and leaves no temp file behind
    assert mode(atomic_write_text(tmp_path / "private.txt", "y")) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["group.txt", "private.txt"]
