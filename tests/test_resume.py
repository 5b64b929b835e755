"""A run killed with SIGKILL resumes with resume=true and ends where an uninterrupted run ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fakearena.results import read_results

from conftest import REPO_ROOT, make_toy_manifest, run_cli


def _train_args(manifest: Path, run_dir: Path) -> list[str]:
    return [
        "train",
        "data=manifest",
        f"data.manifests=[{manifest}]",
        "data.image_size=16",
        "data.batch_size=4",
        "trainer.max_epochs=3",
        "seed=3",
        f"hydra.run.dir={run_dir}",
    ]


CRASH_CALLBACK = """
import os
import signal

from lightning.pytorch.callbacks import Callback


class KillAtBatch(Callback):
    \"\"\"SIGKILL this process when batch `batch` of epoch `epoch` starts (a hard crash).\"\"\"

    def __init__(self, epoch, batch):
        self.epoch, self.batch = epoch, batch

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.current_epoch == self.epoch and batch_idx == self.batch:
            os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.slow
def test_sigkill_then_resume_gives_the_uninterrupted_result(tmp_path: Path):
    manifest = make_toy_manifest(tmp_path / "data", n=60, size=16)
    reference_dir, resumed_dir = tmp_path / "reference", tmp_path / "resumed"
    reference = run_cli(*_train_args(manifest, reference_dir))
    assert reference.returncode == 0, reference.stderr[-2000:]

    # The crash comes from inside the run, at a fixed batch of the second epoch, so it does not
    # depend on how fast this machine is (a timer-based kill raced the end of the run).
    (tmp_path / "crash_callback.py").write_text(CRASH_CALLBACK)
    env = dict(os.environ, PYTHONWARNINGS="ignore", PYTHONPATH=str(tmp_path))
    crashed = subprocess.run(
        [
            sys.executable,
            "-m",
            "fakearena.cli",
            *_train_args(manifest, resumed_dir),
            "+callbacks.crash._target_=crash_callback.KillAtBatch",
            "+callbacks.crash.epoch=1",
            "+callbacks.crash.batch=2",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    assert (resumed_dir / "checkpoints" / "last.ckpt").exists()
    assert not (resumed_dir / "results.json").exists()

    resumed = run_cli(*_train_args(manifest, resumed_dir), "resume=true")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    want, got = read_results(reference_dir), read_results(resumed_dir)
    for key in ("val/auc", "test/auc", "test/acc"):
        assert got["metrics"][key]["value"] == want["metrics"][key]["value"], key
    final_want = torch.load(reference_dir / "checkpoints" / "last.ckpt", weights_only=True)
    final_got = torch.load(resumed_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert final_got["epoch"] == final_want["epoch"] == 2
    for name, tensor in final_want["state_dict"].items():
        torch.testing.assert_close(final_got["state_dict"][name], tensor, rtol=0, atol=0)
