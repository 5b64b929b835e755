"""Detector training: model selection never reads a test set; test_data sets are scored after
training; augmentation comes from config; the learning-rate schedule; synthetic blends learnt."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import lightning as L
import pandas as pd
import pytest
import torch
from hydra.utils import instantiate

from fakearena.config import compose
from fakearena.data.datasets import ManifestDataset
from fakearena.data.manifest import read_manifest, write_manifest
from fakearena.data.transforms.augment import DetectorAugment
from fakearena.results import read_results
from fakearena.tasks.detect import warmup_cosine

from conftest import make_toy_manifest, run_cli


def _manifest_with_missing_test_files(root: Path) -> Path:
    path = make_toy_manifest(root, n=60, size=32)
    manifest = read_manifest(path)
    test = manifest.frame.split == "test"
    manifest.frame.loc[test, "path"] = [f"missing/{i}.png" for i in range(int(test.sum()))]
    return write_manifest(manifest, path)


def test_fit_never_reads_the_test_split_and_test_data_is_scored_after(tmp_path: Path):
    train = _manifest_with_missing_test_files(tmp_path / "train")
    other = make_toy_manifest(tmp_path / "other", n=40, size=32, seed=5)
    run_dir = tmp_path / "run"
    result = run_cli(
        "train",
        "data=manifest",
        f"data.manifests=[{train}]",
        "data.image_size=32",
        "data.batch_size=8",
        "detector=small_cnn",
        "augment=standard",
        "test=false",
        f"test_data=[{other}]",
        "trainer.max_epochs=2",
        f"hydra.run.dir={run_dir}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    record = read_results(run_dir)
    assert "val/auc" in record["metrics"] and "test/auc" not in record["metrics"]
    stored = json.loads((run_dir / "test_data" / "toy" / "metrics.json").read_text())
    assert record["metrics"]["test/toy/auc"]["value"] == stored["auc"]
    assert record["metrics"]["test/toy/video_auc"]["value"] == stored["video_auc"]
    assert "test/toy/source=toy/square/auc" in record["metrics"]
    predictions = pd.read_csv(run_dir / "test_data" / "toy" / "predictions.csv")
    assert len(predictions) == int((read_manifest(other).frame.split == "test").sum())
    assert record["test_data"][-1]["sha256"] == read_manifest(other).sha256


def test_a_spy_dataset_sees_only_train_and_val_rows_during_fit(tmp_path: Path, monkeypatch):
    from fakearena.runs.train import run

    manifest = make_toy_manifest(tmp_path / "toy", n=60, size=32)
    reads: list[tuple[str, str]] = []
    phase = {"now": "before"}
    original_load, original_fit = ManifestDataset.load, L.Trainer.fit

    def spy_load(self, index):
        reads.append((phase["now"], self.manifest.frame["split"].iat[index]))
        return original_load(self, index)

    def spy_fit(self, *args, **kwargs):
        phase["now"] = "fit"
        try:
            return original_fit(self, *args, **kwargs)
        finally:
            phase["now"] = "after"

    monkeypatch.setattr(ManifestDataset, "load", spy_load)
    monkeypatch.setattr(L.Trainer, "fit", spy_fit)
    cfg = compose(
        "train",
        [
            "data=manifest",
            f"data.manifests=[{manifest}]",
            "data.image_size=32",
            "data.batch_size=8",
            "trainer.max_epochs=2",
            "logger=csv",
            f"paths.output_dir={tmp_path / 'run'}",
        ],
    )
    run(cfg)
    during_fit = {split for when, split in reads if when == "fit"}
    assert during_fit == {"train", "val"}
    assert "test" in {split for when, split in reads if when == "after"}  # the spy works


def test_augment_config_reaches_the_training_dataset_only(tmp_path: Path):
    manifest = make_toy_manifest(tmp_path / "toy", n=30, size=32)
    cfg = compose("train", ["data=manifest", f"data.manifests=[{manifest}]", "augment=standard"])
    datamodule = instantiate(cfg.data)
    assert isinstance(datamodule.dataset("train").transform, DetectorAugment)
    assert datamodule.dataset("val").transform is None
    assert datamodule.dataset("test").transform is None
    assert compose("train").data.get("train_transform") is None


def test_warmup_then_cosine_schedule():
    factors = [warmup_cosine(s, 4, 20) for s in range(20)]
    assert factors[:4] == pytest.approx([0.2, 0.4, 0.6, 0.8])
    assert factors[4] == pytest.approx(1.0)
    assert factors[12] == pytest.approx(0.5)  # halfway through the decay
    decay = factors[4:]
    assert all(a >= b for a, b in itertools.pairwise(decay)) and factors[-1] > 0


def test_a_tiny_detector_learns_the_toy_fakes(tmp_path: Path):
    from fakearena.runs.train import run

    manifest = make_toy_manifest(tmp_path / "toy", n=80, size=32)
    cfg = compose(
        "train",
        [
            "data=manifest",
            f"data.manifests=[{manifest}]",
            "data.image_size=32",
            "data.batch_size=16",
            "detector=meso4",
            "task.optimizer.lr=3e-3",
            "trainer.max_epochs=6",
            "logger=csv",
            f"paths.output_dir={tmp_path / 'run'}",
        ],
    )
    assert run(cfg) > 0.9


@pytest.mark.slow
def test_a_tiny_detector_learns_synthetic_blended_fakes(tmp_path: Path):
    """Synthetic real faces vs blended fakes (the synth helper's renderer), 64 px."""
    pytest.importorskip("fakearena.data.synthetic")
    from fakearena.runs.train import run

    torch.set_num_threads(2)
    cfg = compose(
        "train",
        [
            "data=synthetic",
            "data.synthetic.n_identities=8",
            "detector=small_cnn",
            "task.optimizer.lr=3e-3",
            "trainer.max_epochs=12",
            "logger=csv",
            f"paths.output_dir={tmp_path / 'run'}",
        ],
    )
    assert run(cfg) > 0.9
