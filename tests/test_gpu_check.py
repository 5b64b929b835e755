"""`benchmarks/gpu_check.sh`: the one script a GPU machine runs; its CPU dry run works here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPT = REPO_ROOT / "benchmarks" / "gpu_check.sh"
CASES = {
    "detector resnet50",
    "detector xception",
    "gan dcgan",
    "faceswap faceswap_ae",
    "fid from png files",
}


def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    variables = dict(os.environ, PYTHON=sys.executable, GPU_CHECK_OUT=str(tmp_path), **env)
    return subprocess.run(
        ["bash", str(SCRIPT)], env=variables, capture_output=True, text=True, timeout=3600
    )


def test_the_gpu_profile_refuses_a_machine_without_cuda(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    done = _run(tmp_path, GPU_CHECK_PROFILE="gpu")
    assert done.returncode != 0
    assert "no CUDA device: use GPU_CHECK_PROFILE=cpu or GPU_CHECK_DRY=1" in done.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_the_dry_run_measures_every_case_on_cpu(tmp_path):
    done = _run(tmp_path, GPU_CHECK_DRY="1")
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((tmp_path / "gpu_check_dry.json").read_text())
    assert {case["case"] for case in record["cases"]} == CASES
    for case in record["cases"]:
        assert case["device"] == "cpu"
        assert case["end_to_end_images_per_s"] > 0 and case["compute_only_images_per_s"] > 0
        assert case["ratio"] == pytest.approx(
            case["end_to_end_images_per_s"] / case["compute_only_images_per_s"]
        )
    loader = record["loader"]
    assert len(loader["cached_epochs_images_per_s"]) == 3
    assert len(loader["uncached_epochs_images_per_s"]) == 2
    assert set(record["help_seconds"]) == {"fakearena --help", "fakearena train --help"}
    for line in ("end-to-end", "compute-only", "fakearena train --help"):
        assert line in done.stdout
