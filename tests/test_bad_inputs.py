"""Every bad input of issue 11 is one clear error naming the thing and the fix (or is handled).

Inputs also covered elsewhere (see docs/bad_inputs.md): face-swap identities
(test_faceswap.py), face-swap image size (test_faceswap.py), videos without a face or with
no decodable frame (test_faces.py), a detector checkpoint given to generate (test_generate.py),
a pickled checkpoint given to evaluate (test_evaluate.py).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fakearena.config import compose
from fakearena.data.datasets import ManifestDataset, collate_samples
from fakearena.data.manifest import read_manifest, write_manifest
from fakearena.data.media import load_image
from fakearena.errors import (
    CheckpointError,
    DataError,
    ManifestError,
    TrainingDivergedError,
)
from fakearena.results import read_results
from fakearena.tasks.checkpoints import load_checkpoint, restore_task
from fakearena.tasks.detect import DetectTask

from conftest import make_toy_manifest, run_cli

SIZE = 16
HEADER = "path,label,split,video_id,frame,identity,source\n"


class _CreatesFile:
    """Unpickling this runs `touch target`: the payload of a malicious checkpoint."""

    def __init__(self, target: Path):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def _evil_checkpoint(tmp_path: Path) -> tuple[Path, Path]:
    marker, ckpt = tmp_path / "pwned", tmp_path / "evil.ckpt"
    with open(ckpt, "wb") as fh:
        pickle.dump({"state_dict": {}, "payload": _CreatesFile(marker)}, fh)
    return ckpt, marker


def _toy(tmp_path: Path, n: int = 40) -> Path:
    return make_toy_manifest(tmp_path / "toy", n=n, size=SIZE)


def _rewrite(manifest: Path, name: str, keep) -> Path:
    """A copy of `manifest` (same root) with the rows where `keep(frame)` is true."""
    data = read_manifest(manifest)
    data.frame = data.frame[keep(data.frame)].reset_index(drop=True)
    return write_manifest(data, manifest.parent / f"{name}.csv")


def _train(tmp_path: Path, manifest: Path, *extra: str, out: str = "run"):
    from fakearena.runs.train import run

    cfg = compose(
        "train",
        [
            "data=manifest",
            f"data.manifests=[{manifest}]",
            f"data.image_size={SIZE}",
            "data.batch_size=8",
            "debug=fast_dev_run",
            "task.n_bootstrap=0",
            f"paths.output_dir={tmp_path / out}",
            *extra,
        ],
    )
    return run(cfg)


# ---- image files ------------------------------------------------------------------------------
def test_missing_truncated_and_non_image_files_name_the_file(tmp_path: Path):
    with pytest.raises(DataError, match=r"image file not found: .*gone\.png; fix the manifest"):
        load_image(tmp_path / "gone.png")
    whole = tmp_path / "whole.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), np.uint8)).save(whole)
    cut = tmp_path / "cut.png"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(DataError, match=r"cut\.png is truncated or corrupt .*re-extract or remove"):
        load_image(cut)
    text = tmp_path / "notes.png"
    text.write_text("this is not a picture\n")
    with pytest.raises(DataError, match=r"notes\.png is not an image PIL can read.*remove the row"):
        load_image(text)
    assert load_image(whole).shape == (64, 64, 3)


def test_a_bad_row_names_row_manifest_and_the_skip_option(tmp_path: Path):
    manifest = read_manifest(_toy(tmp_path)).select(split="train")
    (manifest.root / manifest.frame.path[3]).unlink()
    dataset = ManifestDataset(manifest, image_size=SIZE)
    with pytest.raises(DataError) as info:
        dataset[3]
    message = str(info.value)
    assert manifest.frame.path[3] in message and "row 4 of manifest toy" in message
    assert "data.on_bad_sample=skip" in message
    skipping = ManifestDataset(manifest, image_size=SIZE, on_bad_sample="skip")
    batch = collate_samples([skipping[i] for i in range(2, 6)])
    assert batch["skipped"].tolist() == [3] and batch["index"].tolist() == [2, 4, 5]


def test_images_of_mixed_sizes_are_resized_to_data_image_size(tmp_path: Path):
    manifest_path = _toy(tmp_path, n=10)
    manifest = read_manifest(manifest_path)
    big = manifest.root / manifest.frame.path[0]
    Image.fromarray(np.full((40, 24, 3), 200, np.uint8)).save(big)  # another size and aspect
    dataset = ManifestDataset(manifest, image_size=SIZE)
    shapes = {tuple(dataset[i]["image"].shape) for i in range(len(dataset))}
    assert shapes == {(3, SIZE, SIZE)}
    # a uniform image stays uniform through the antialiased resize (uint8 levels)
    torch.testing.assert_close(
        dataset[0]["image"], torch.full((3, SIZE, SIZE), 200, dtype=torch.uint8)
    )


# ---- manifests --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("csv", "fragments"),
    [
        (
            "path,label,split,video_id,frame,identity\na.png,0,train,v,0,\n",
            ["missing column(s) ['source']", "the header must contain"],
        ),
        (HEADER + "a.png,2,train,v,0,,real\n", ["row(s) 1", "label must be 0"]),
        (HEADER + "a.png,0,training,v,0,,real\n", ["row(s) 1", "split must be one of"]),
        (HEADER + "/etc/passwd,0,train,v,0,,real\n", ["row(s) 1", "path must be relative"]),
        (HEADER + "../../secret.png,0,train,v,0,,real\n", ["row(s) 1", "path must be relative"]),
        (
            HEADER + "a.png,0,train,v,0,,real\na.png,0,train,v,0,,real\n",
            ["row(s) 2", "duplicate path"],
        ),
    ],
    ids=["missing-column", "unknown-label", "unknown-split", "absolute", "dotdot", "duplicate"],
)
def test_bad_manifests_name_the_file_and_the_rows(tmp_path: Path, csv: str, fragments: list[str]):
    path = tmp_path / "bad.csv"
    path.write_text(csv)
    with pytest.raises(ManifestError) as info:
        read_manifest(path)
    message = str(info.value)
    assert message.startswith(f"Invalid manifest {path}")
    for fragment in fragments:
        assert fragment in message, message


def test_empty_split_and_one_class_sets_stop_training_before_it_starts(tmp_path: Path):
    manifest = _toy(tmp_path)
    no_val = _rewrite(manifest, "no_val", lambda f: f.split != "val")
    with pytest.raises(DataError, match=r"no rows in split 'val'.*fix the manifest's split"):
        _train(tmp_path, no_val, out="a")
    reals_only_test = _rewrite(manifest, "one", lambda f: (f.split != "test") | (f.label == 0))
    with pytest.raises(
        DataError, match=r"test rows of data .* all real \(0\).*add the missing class"
    ):
        _train(tmp_path, reals_only_test, out="b")
    assert not (tmp_path / "b" / "checkpoints").exists()  # stopped before any training


# ---- on_bad_sample=skip -----------------------------------------------------------------------
def _damage(manifest: Path) -> tuple[str, str]:
    """Make one train image corrupt and one val image missing; returns their paths."""
    frame = read_manifest(manifest).frame
    corrupt = frame[frame.split == "train"].path.iloc[1]
    missing = frame[frame.split == "val"].path.iloc[0]
    (manifest.parent / corrupt).write_text("not an image")
    (manifest.parent / missing).unlink()
    return corrupt, missing


def test_skip_policy_completes_and_lists_the_skipped_rows(tmp_path: Path):
    manifest = _toy(tmp_path)
    corrupt, missing = _damage(manifest)
    _train(tmp_path, manifest, "data.on_bad_sample=skip", "trainer.limit_train_batches=1.0")
    skipped = read_results(tmp_path / "run")["skipped_rows"]
    frame = read_manifest(manifest).frame
    val = frame[frame.split == "val"].reset_index(drop=True)
    train = frame[frame.split == "train"].reset_index(drop=True)
    assert skipped == [
        {"split": "train", "index": int(train.index[train.path == corrupt][0]), "path": corrupt},
        {"split": "val", "index": int(val.index[val.path == missing][0]), "path": missing},
    ]


def test_error_policy_names_the_file_and_suggests_skip(tmp_path: Path):
    manifest = _toy(tmp_path)
    _, missing = _damage(manifest)
    result = run_cli(
        "train",
        "data=manifest",
        f"data.manifests=[{manifest}]",
        f"data.image_size={SIZE}",
        "data.batch_size=8",
        "debug=fast_dev_run",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert missing in result.stderr and "data.on_bad_sample=skip" in result.stderr


# ---- training ---------------------------------------------------------------------------------
def test_nan_loss_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint(
    tmp_path: Path, monkeypatch
):
    logits = DetectTask._logits

    def nan_in_second_epoch(self, batch):
        out = logits(self, batch)
        return out * float("nan") if self.training and self.current_epoch == 1 else out

    monkeypatch.setattr(DetectTask, "_logits", nan_in_second_epoch)
    with pytest.raises(TrainingDivergedError) as info:
        _train(tmp_path, _toy(tmp_path), "trainer.max_epochs=2")
    message = str(info.value)
    assert "loss became nan at step 2 (epoch 1)" in message and "task.optimizer.lr" in message
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert "last good checkpoint" in message and str(last) in message
    assert isinstance(info.value, FloatingPointError)
    state = load_checkpoint(last)
    assert state["epoch"] == 0
    assert all(torch.isfinite(v).all() for v in state["state_dict"].values())
    assert not (tmp_path / "run" / "results.json").exists()


def test_an_unknown_config_key_is_one_paragraph_without_traceback(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    result = run_cli("train", "nonexistent_key=1", f"hydra.run.dir={tmp_path / 'r'}")
    assert result.returncode == 1
    assert result.stderr.startswith("fakearena: error: `fakearena train`: nonexistent_key is not")
    assert "+nonexistent_key=1 would add it" in result.stderr  # no close key: how to add one
    assert "Traceback" not in result.stderr and not (tmp_path / "r").exists()


# ---- checkpoints ------------------------------------------------------------------------------
def test_generate_and_train_refuse_a_pickled_checkpoint_and_the_payload_never_runs(
    tmp_path: Path,
):
    from fakearena.runs import generate

    ckpt, marker = _evil_checkpoint(tmp_path)
    cfg = compose("generate", [f"ckpt={ckpt}", "n=2", f"out={tmp_path / 'out'}"])
    with pytest.raises(CheckpointError, match=r"refusing to load .*evil\.ckpt"):
        generate.run(cfg)
    with pytest.raises(CheckpointError, match="refusing to load"):
        _train(tmp_path, _toy(tmp_path), f"ckpt_path={ckpt}")
    assert not marker.exists()


@pytest.mark.slow
def test_cli_generate_refuses_a_pickled_checkpoint_in_one_paragraph(tmp_path: Path):
    ckpt, marker = _evil_checkpoint(tmp_path)
    result = run_cli("generate", f"ckpt={ckpt}", "n=2", f"out={tmp_path / 'out'}")
    assert result.returncode == 1
    assert "refusing to load" in result.stderr and "Traceback" not in result.stderr
    assert not marker.exists()
    assert not (tmp_path / "out" / "images").exists()


def test_a_weights_only_checkpoint_naming_foreign_code_is_refused(tmp_path: Path):
    """weights_only stops pickled code; the stored network config must not smuggle it in."""
    marker = tmp_path / "pwned"
    ckpt = tmp_path / "sneaky.ckpt"
    hparams = {
        "name": "detect",
        "task_target": "fakearena.tasks.detect.DetectTask",
        "net_config": {"_target_": "os.system", "_args_": [f"touch {marker}"]},
    }
    torch.save({"state_dict": {}, "hyper_parameters": hparams}, ckpt)
    with pytest.raises(CheckpointError, match=r"asks to build 'os\.system'.*not a fakearena"):
        restore_task(ckpt, expected_task="detect")
    hparams["net_config"] = {"_target_": "fakearena.models.detectors.SmallCNN"}
    hparams["task_target"] = "subprocess.Popen"
    torch.save({"state_dict": {}, "hyper_parameters": hparams}, ckpt)
    with pytest.raises(CheckpointError, match=r"task_target asks to build 'subprocess\.Popen'"):
        restore_task(ckpt, expected_task="detect")
    assert not marker.exists()


def test_evaluate_refuses_a_gan_checkpoint(tmp_path: Path):
    from fakearena.runs.evaluate import run

    ckpt = tmp_path / "gan.ckpt"
    hparams = {
        "name": "gan",
        "task_target": "fakearena.tasks.gan.GANTask",
        "net_config": {"_target_": "fakearena.models.generators.MLPGAN"},
    }
    torch.save({"state_dict": {}, "hyper_parameters": hparams}, ckpt)
    cfg = compose(
        "evaluate",
        [f"ckpt={ckpt}", f"data.manifests=[{_toy(tmp_path)}]", f"paths.output_dir={tmp_path}/r"],
    )
    with pytest.raises(CheckpointError, match=r"task=gan checkpoint.*needs a task=detect"):
        run(cfg)
