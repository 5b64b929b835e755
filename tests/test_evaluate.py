"""`fakearena evaluate`: predictions, metrics recomputable from them, ROC, robustness, refusals."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fakearena.config import compose
from fakearena.data.manifest import read_manifest
from fakearena.errors import DataError
from fakearena.metrics.predictions import read_predictions, score_predictions
from fakearena.results import read_results
from fakearena.runs.train import build_task
from fakearena.tasks.checkpoints import restore_task

from conftest import make_toy_manifest, run_cli

SIZE = 32


def save_detect_checkpoint(path: Path, detector: str = "meso4", size: int = SIZE) -> Path:
    """A checkpoint as `fakearena train` writes it (random weights, fixed seed)."""
    torch.manual_seed(0)
    cfg = compose("train", [f"detector={detector}", f"data.image_size={size}"])
    task = build_task(cfg)
    task.hparams["data_spec"] = {"name": "toy", "image_size": size, "channels": 3}
    hparams = dict(task.hparams)
    torch.save({"state_dict": task.state_dict(), "hyper_parameters": hparams}, path)
    return path


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory) -> tuple[Path, Path, Path]:
    """One CLI evaluate run with a robustness sweep: (run dir, manifest, checkpoint)."""
    root = tmp_path_factory.mktemp("evaluate")
    manifest = make_toy_manifest(root / "toy", n=40, size=SIZE)
    ckpt = save_detect_checkpoint(root / "detect.ckpt")
    run_dir = root / "run"
    result = run_cli(
        "evaluate",
        f"ckpt={ckpt}",
        "data=manifest",
        f"data.manifests=[{manifest}]",
        "perturb=noise",
        "perturb_levels=[0.05,0.3]",
        "n_bootstrap=200",
        f"hydra.run.dir={run_dir}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir, manifest, ckpt


def test_metrics_json_equals_a_recomputation_from_predictions_csv(evaluated):
    run_dir, _, _ = evaluated
    stored = json.loads((run_dir / "metrics.json").read_text())
    recomputed = score_predictions(
        read_predictions(run_dir / "predictions.csv"), n_bootstrap=200, seed=0
    )
    assert json.loads(json.dumps(recomputed)) == stored
    assert {"auc", "ap", "eer", "acc", "video_auc", "per_source", "auc_ci95"} <= set(stored)


def test_predictions_are_the_test_rows_scored_by_the_checkpoint(evaluated):
    run_dir, manifest_path, ckpt = evaluated
    predictions = read_predictions(run_dir / "predictions.csv")
    manifest = read_manifest(manifest_path)
    test_rows = manifest.frame[manifest.frame.split == "test"].reset_index(drop=True)
    assert list(predictions.columns) == ["path", "video_id", "source", "label", "prob"]
    assert predictions["path"].tolist() == test_rows["path"].tolist()
    assert predictions["label"].tolist() == test_rows["label"].tolist()
    assert predictions["video_id"].tolist() == test_rows["video_id"].tolist()
    # independent scoring: PIL -> tensor -> restored network
    task = restore_task(ckpt, expected_task="detect")
    images = [np.asarray(Image.open(manifest.root / p).convert("RGB")) for p in test_rows.path]
    batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0
    with torch.no_grad():
        expected = torch.sigmoid(task(batch)).double().numpy()
    np.testing.assert_allclose(predictions["prob"].to_numpy(), expected, rtol=1e-5, atol=1e-6)


def test_results_roc_and_robustness_are_written(evaluated):
    run_dir = evaluated[0]
    stored = json.loads((run_dir / "metrics.json").read_text())
    record = read_results(run_dir)
    assert record["task"] == "detect" and record["detector"] == "meso4"
    assert record["metrics"]["test/toy/auc"]["value"] == stored["auc"]
    assert record["metrics"]["test/toy/auc"]["ci95"] == stored["auc_ci95"]
    assert record["metrics"]["test/toy/video_auc"]["n"] == stored["n_videos"]
    assert record["test_data"][0]["scored_rows"] == stored["n"]
    for name in ("roc.png", "robustness.png"):
        assert (run_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import pandas as pd

    table = pd.read_csv(run_dir / "robustness.csv")
    assert table["severity"].tolist() == [0, 1, 2]
    assert table["level"].tolist()[1:] == [0.05, 0.3]
    assert table["auc"].iat[0] == pytest.approx(stored["auc"])
    assert record["metrics"]["test/toy/noise=0.3/auc"]["value"] == pytest.approx(
        table["auc"].iat[2]
    )


class _CreatesFile:
    def __init__(self, target: Path):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def test_evaluate_refuses_a_checkpoint_with_a_pickled_callable(tmp_path: Path):
    marker = tmp_path / "pwned"
    ckpt = tmp_path / "evil.ckpt"
    with open(ckpt, "wb") as fh:
        pickle.dump({"state_dict": {}, "payload": _CreatesFile(marker)}, fh)
    manifest = make_toy_manifest(tmp_path / "toy", n=20, size=SIZE)
    result = run_cli(
        "evaluate",
        f"ckpt={ckpt}",
        "data=manifest",
        f"data.manifests=[{manifest}]",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert result.returncode == 1
    assert "refusing to load" in result.stderr and "Traceback" not in result.stderr
    assert not marker.exists()


def _evaluate_in_process(tmp_path: Path, ckpt: Path, manifest: Path, *extra: str):
    from fakearena.runs.evaluate import run

    cfg = compose(
        "evaluate",
        [
            f"ckpt={ckpt}",
            f"data.manifests=[{manifest}]",
            f"paths.output_dir={tmp_path / 'run'}",
            "n_bootstrap=0",
            *extra,
        ],
    )
    return run(cfg)


def test_a_test_set_with_one_class_is_a_clear_error(tmp_path: Path):
    manifest = make_toy_manifest(tmp_path / "toy", n=40, size=SIZE)
    data = read_manifest(manifest)
    data.frame = data.frame[data.frame.label == 0]
    from fakearena.data.manifest import write_manifest

    one_class = write_manifest(data, tmp_path / "toy" / "reals.csv")
    ckpt = save_detect_checkpoint(tmp_path / "d.ckpt")
    with pytest.raises(DataError, match="real and fake"):
        _evaluate_in_process(tmp_path, ckpt, one_class)


def test_a_checkpoint_of_another_task_is_refused(tmp_path: Path):
    from fakearena.errors import CheckpointError

    ckpt = save_detect_checkpoint(tmp_path / "d.ckpt")
    state = torch.load(ckpt, weights_only=True)
    state["hyper_parameters"]["name"] = "gan"
    torch.save(state, ckpt)
    manifest = make_toy_manifest(tmp_path / "toy", n=20, size=SIZE)
    with pytest.raises(CheckpointError, match="needs a task=detect checkpoint"):
        _evaluate_in_process(tmp_path, ckpt, manifest)


def test_split_all_scores_every_row(tmp_path: Path):
    manifest = make_toy_manifest(tmp_path / "toy", n=20, size=SIZE)
    ckpt = save_detect_checkpoint(tmp_path / "d.ckpt")
    _evaluate_in_process(tmp_path, ckpt, manifest, "split=all")
    assert len(read_predictions(tmp_path / "run" / "predictions.csv")) == 20


def test_a_set_without_test_rows_says_to_use_split_all(tmp_path: Path):
    """A DFDC build of training parts only: evaluate's default split=test finds no rows."""
    from fakearena.data.manifest import write_manifest

    data = read_manifest(make_toy_manifest(tmp_path / "toy", n=20, size=SIZE))
    data.frame["split"] = "train"
    train_only = write_manifest(data, tmp_path / "toy" / "parts.csv")
    ckpt = save_detect_checkpoint(tmp_path / "d.ckpt")
    with pytest.raises(DataError) as error:
        _evaluate_in_process(tmp_path, ckpt, train_only)
    message = str(error.value)
    assert "no rows in split 'test'" in message and "train 20, val 0, test 0" in message
    assert "split=all" in message and "every run needs train" not in message
    _evaluate_in_process(tmp_path, ckpt, train_only, "split=all")
    assert len(read_predictions(tmp_path / "run" / "predictions.csv")) == 20


def test_a_two_video_set_gets_no_frame_ci_but_a_warning_everywhere(tmp_path: Path, capsys):
    """16 frames of 2 videos are 2 samples, not 16: no interval, and a warning in results.json
    and on the console (the leaderboard shows it too: test_leaderboard)."""
    from fakearena.data.manifest import write_manifest

    data = read_manifest(make_toy_manifest(tmp_path / "toy", n=32, size=SIZE))
    frame = data.frame
    frame["split"] = "test"
    frame["video_id"] = np.where(frame["label"] == 1, "clip/fake", "clip/real")
    data.frame = frame.iloc[:16].reset_index(drop=True)
    data.card.name = "two"
    two = write_manifest(data, tmp_path / "toy" / "two.csv")
    ckpt = save_detect_checkpoint(tmp_path / "d.ckpt")
    _evaluate_in_process(tmp_path, ckpt, two, "n_bootstrap=200")
    record = read_results(tmp_path / "run")
    auc = record["metrics"]["test/two/auc"]
    assert "ci95" not in auc and auc["n"] == 16
    assert (auc["n_videos"], auc["n_videos_real"], auc["n_videos_fake"]) == (2, 1, 1)
    assert "only 2 videos (1 real, 1 fake)" in auc["warning"]
    assert "ci95" not in record["metrics"]["test/two/video_auc"]
    assert record["warnings"] == [f"test/two: {auc['warning']}"]
    err = capsys.readouterr().err
    assert "fakearena: warning: two: only 2 videos (1 real, 1 fake)" in err


def test_video_metrics_get_intervals_that_resample_videos(tmp_path: Path):
    manifest = make_toy_manifest(tmp_path / "toy", n=200, size=SIZE)
    ckpt = save_detect_checkpoint(tmp_path / "d.ckpt")
    _evaluate_in_process(tmp_path, ckpt, manifest, "n_bootstrap=200", "split=all")
    from fakearena.metrics.bootstrap import bootstrap_metrics

    metrics = read_results(tmp_path / "run")["metrics"]
    assert metrics["test/toy/auc"]["ci_unit"] == "video"
    # an untrained detector scores every image alike: large enough, but collapsed
    assert metrics["test/toy/auc"]["warning"].startswith("collapsed scores:")
    videos = read_predictions(tmp_path / "run" / "predictions.csv").groupby("video_id")
    replicates = bootstrap_metrics(
        videos["prob"].mean().to_numpy(), videos["label"].first().to_numpy(), 200, seed=0
    )
    for key in ("auc", "ap", "eer", "acc"):
        entry = metrics[f"test/toy/video_{key}"]
        assert entry["n"] == entry["n_videos"] == 150
        assert entry["ci95"] == pytest.approx(np.percentile(replicates[key], [2.5, 97.5]))


def test_ckpt_may_be_the_training_run_folder(tmp_path: Path):
    manifest = make_toy_manifest(tmp_path / "toy", n=20, size=SIZE)
    train_run = tmp_path / "outputs" / "train" / "2026-01-01_00-00-00"
    (train_run / "checkpoints").mkdir(parents=True)
    best = save_detect_checkpoint(train_run / "checkpoints" / "best.ckpt")
    _evaluate_in_process(tmp_path, train_run, manifest)
    record = read_results(tmp_path / "run")
    assert record["artifacts"]["checkpoint"] == str(best.resolve())


def test_upscaling_the_crops_is_said_and_recorded(tmp_path: Path, capsys):
    """A detector trained at 64 px scoring 32 px crops (as data=ffpp_c23 trains at 256 px on
    128 px crops): every image is enlarged, and the run says so."""
    from fakearena.data.datamodule import FaceDataModule

    manifest = make_toy_manifest(tmp_path / "toy", n=20, size=SIZE)  # card: image_size 32
    ckpt = save_detect_checkpoint(tmp_path / "d.ckpt", size=64)
    _evaluate_in_process(tmp_path, ckpt, manifest)
    warning = read_results(tmp_path / "run")["warnings"][0]
    assert warning.startswith("data manifest: resizing to 64 px upscales its images (toy 32 px")
    assert "by up to 2x" in warning and "size=64" in warning
    assert f"fakearena: warning: {warning}" in capsys.readouterr().err
    same = FaceDataModule(manifests=[str(manifest)], image_size=SIZE)
    assert same.manifest is not None and same.warnings == []
