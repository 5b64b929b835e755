"""Checkpoints load weights-only: pickled code is refused, tasks are checked, models rebuilt."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch

from fakearena.config import compose
from fakearena.errors import CheckpointError
from fakearena.runs.train import build_task
from fakearena.tasks.checkpoints import load_checkpoint, restore_task


class _CreatesFile:
    """A pickle payload that would create a file when unpickled."""

    def __init__(self, target: Path):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def _save_detect_checkpoint(path: Path) -> torch.nn.Module:
    cfg = compose("train", ["detector=small_cnn"])
    task = build_task(cfg)
    torch.save({"state_dict": task.state_dict(), "hyper_parameters": dict(task.hparams)}, path)
    return task


def test_a_pickled_callable_is_refused_and_never_runs(tmp_path: Path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.ckpt"
    with open(path, "wb") as fh:
        pickle.dump({"state_dict": {}, "payload": _CreatesFile(marker)}, fh)
    with pytest.raises(CheckpointError, match="refusing to load"):
        load_checkpoint(path)
    assert not marker.exists()


def test_restore_rebuilds_the_same_network(tmp_path: Path):
    path = tmp_path / "detect.ckpt"
    original = _save_detect_checkpoint(path)
    restored = restore_task(path, expected_task="detect")
    images = torch.rand(2, 3, 32, 32)
    original.eval()
    torch.testing.assert_close(restored(images), original(images))


def test_a_checkpoint_of_another_task_is_refused(tmp_path: Path):
    path = tmp_path / "detect.ckpt"
    _save_detect_checkpoint(path)
    with pytest.raises(CheckpointError, match="task=detect checkpoint, but this command needs"):
        restore_task(path, expected_task="gan")


def test_missing_and_foreign_checkpoints_are_clear_errors(tmp_path: Path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.ckpt")
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(CheckpointError, match="no fakearena task metadata"):
        restore_task(foreign)
