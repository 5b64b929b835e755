"""`fakearena train task=gan` end to end (results.json with FID) and `fakearena generate`."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from fakearena.config import compose
from fakearena.data.manifest import read_manifest
from fakearena.errors import CheckpointError, ConfigError
from fakearena.generation.fakeset import split_assignment
from fakearena.results import read_results
from fakearena.runs import generate
from fakearena.utils.io import sha256_file

from conftest import make_toy_manifest, run_cli

HAS_SYNTHETIC = importlib.util.find_spec("fakearena.data.synthetic") is not None
FID_N = 8


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory) -> Path:
    """A fast_dev_run of the reference MLP GAN (synthetic 28x28 gray faces when available)."""
    tmp = tmp_path_factory.mktemp("gan")
    if HAS_SYNTHETIC:
        data = ["experiment=gan_mlp"]
    else:  # until fakearena.data.synthetic lands: PNG faces-like toy data from a manifest
        manifest = make_toy_manifest(tmp / "toy", n=60, size=32)
        data = ["task=gan", "generator=mlp", "data=manifest", f"data.manifests=[{manifest}]"]
        data += ["data.image_size=28", "data.channels=1"]
    run_dir = tmp / "run"
    result = run_cli(
        "train",
        *data,
        "debug=fast_dev_run",
        "data.batch_size=16",
        f"task.fid_n={FID_N}",
        "task.kid_subsets=10",
        "task.grid_size=16",
        f"hydra.run.dir={run_dir}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


def test_fast_dev_run_writes_results_with_fid_kid_and_a_sample_grid(gan_run: Path):
    record = read_results(gan_run)
    assert record["task"] == "gan" and record["generator"] == "mlp"
    metrics = record["metrics"]
    for key in ("val/fid", "val/kid", "test/fid", "test/kid"):
        assert key in metrics, key
        assert metrics[key]["n"] == FID_N
        assert metrics[key]["protocol"]["weights_sha256"].startswith("7ff4a85c")
        assert metrics[key]["protocol"]["resize"].startswith("tf1_resize_bilinear")
    assert metrics["val/fid"]["value"] > 0  # an untrained generator is far from the reals
    assert metrics["val/fid"]["rank_deficient"] is True  # N=8 < 2048: flagged, not hidden
    assert metrics["test/fid"]["warning"].startswith("rank-deficient covariance: 8 images")
    assert f"test/fid: {metrics['test/fid']['warning']}" in record["warnings"]
    for stage in ("val", "test"):
        for name in ("precision", "recall", "density", "coverage"):
            entry = metrics[f"{stage}/{name}"]
            assert entry["k"] == 3 and entry["n"] == FID_N, (stage, name)
            assert entry["value"] >= 0 and (name == "density" or entry["value"] <= 1)
            floor = metrics[f"{stage}/{name}_floor"]  # real vs real at the same sizes
            assert floor["n"] == FID_N and "other real rows" in floor["protocol"]["floor"]
        assert metrics[f"{stage}/fid_floor"]["value"] < metrics[f"{stage}/fid"]["value"]
    assert Path(record["artifacts"]["checkpoints"]["best"]).is_file()
    assert (gan_run / "samples" / "epoch_0000.png").is_file()


def run_generate(ckpt: Path, out: Path, seed: int, n: int = 6, *extra: str) -> Path:
    cfg = compose("generate", [f"ckpt={ckpt}", f"n={n}", f"out={out}", f"seed={seed}", *extra])
    return Path(generate.run(cfg))


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def test_generate_writes_a_valid_manifest_and_the_same_seed_gives_identical_files(
    gan_run: Path, tmp_path: Path
):
    ckpt = gan_run / "checkpoints" / "best.ckpt"
    csv = run_generate(ckpt, tmp_path / "a", 5, 6, "batch_size=4")
    manifest = read_manifest(csv, check_files=True)  # validates schema and files
    frame = manifest.frame
    assert len(frame) == 6 and set(frame.label) == {1} and set(frame.split) == {"test"}
    assert set(frame.source) == {"gan/mlp"}
    assert frame.video_id.tolist() == [f"gan/mlp/5/{i}" for i in range(6)]
    provenance = manifest.card.provenance
    assert provenance["checkpoint_sha256"] == sha256_file(ckpt)
    assert provenance["seed"] == 5 and manifest.card.image_size == 28
    assert frame.sha256.tolist() == [sha256_file(manifest.abspath(i)) for i in range(6)]

    # same seed, other batch size and folder: byte-identical images, manifest and card
    run_generate(ckpt, tmp_path / "b", 5, 6, "batch_size=6")
    assert files_of(tmp_path / "a") == files_of(tmp_path / "b")
    # another seed: other images
    run_generate(ckpt, tmp_path / "c", 6, 6)
    assert (tmp_path / "c" / "images" / "000000.png").read_bytes() != (
        tmp_path / "a" / "images" / "000000.png"
    ).read_bytes()


def test_generate_takes_the_training_run_folder_as_ckpt(gan_run: Path, tmp_path: Path):
    manifest = run_generate(gan_run, tmp_path / "fakes", seed=0, n=2)
    provenance = read_manifest(manifest).card.provenance
    best = gan_run / "checkpoints" / "best.ckpt"
    assert provenance["checkpoint"] == str(best.resolve())
    assert provenance["checkpoint_sha256"] == sha256_file(best)


def test_an_interrupted_generate_resumes_without_duplicates(gan_run: Path, tmp_path: Path):
    ckpt = gan_run / "checkpoints" / "best.ckpt"
    run_generate(ckpt, tmp_path / "full", 5, 6)
    run_generate(ckpt, tmp_path / "part", 5, 6)
    # simulate an interruption: two images and the manifest never got written
    for name in ("images/000002.png", "images/000005.png", "gan_mlp_seed5.csv"):
        (tmp_path / "part" / name).unlink()
    run_generate(ckpt, tmp_path / "part", 5, 6)
    assert files_of(tmp_path / "part") == files_of(tmp_path / "full")
    with pytest.raises(ConfigError, match=r"other settings.*seed"):
        run_generate(ckpt, tmp_path / "part", 9, 6)


def test_generate_refuses_a_detector_checkpoint(tmp_path: Path):
    ckpt = tmp_path / "detect.ckpt"
    hparams = {"name": "detect", "task_target": "fakearena.tasks.detect.DetectTask"}
    torch.save({"hyper_parameters": {**hparams, "net_config": {}}, "state_dict": {}}, ckpt)
    with pytest.raises(CheckpointError, match=r"task=detect.*generator checkpoint"):
        run_generate(ckpt, tmp_path / "out", 0)


def test_split_assignment_by_name_and_fractions():
    assert split_assignment(3, "val") == ["val"] * 3
    splits = split_assignment(10, {"train": 0.7, "val": 0.15, "test": 0.15})
    assert len(splits) == 10 and splits[:7] == ["train"] * 7
    assert sorted(splits[7:]) in (["test", "test", "val"], ["test", "val", "val"])
    with pytest.raises(ConfigError, match="train"):
        split_assignment(4, {"holdout": 1.0})
