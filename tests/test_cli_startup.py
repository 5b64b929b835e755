"""Startup: `--help` and user errors that need no model answer without importing torch.

Timings live in benchmarks (`benchmarks/gpu_check.py` records the `--help` times); here the
behaviour behind them is checked: which modules a command loaded before it answered.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fakearena.cli import COMMANDS

REPO_ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "lightning", "pandas", "timm")

_PROBE = """
import contextlib, io, json, sys
from fakearena.cli import main
argvs, heavy_names = json.loads(sys.argv[1]), json.loads(sys.argv[2])  # Hydra rewrites argv
out, err, codes = io.StringIO(), io.StringIO(), []
for argv in argvs:
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
            codes.append(0)
        except SystemExit as stop:
            codes.append(stop.code)
heavy = [name for name in heavy_names if name in sys.modules]
print(json.dumps({"codes": codes, "heavy": heavy, "out": out.getvalue(), "err": err.getvalue()}))
"""


def probe(*argvs: list[str], cwd: Path = REPO_ROOT) -> dict:
    """Run `fakearena ARGV` for each argv in one fresh interpreter; what it printed and loaded."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(list(argvs)), json.dumps(HEAVY)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_help_answers_without_torch_lightning_or_pandas():
    helps = [["--help"]]
    helps += [[name, "--help"] for name in COMMANDS]
    helps += [["faces", "extract", "--help"], ["data", "synth", "--help"]]
    helps += [["data", "validate", "--help"], ["data", "build", "ffpp", "--help"]]
    result = probe(*helps)
    assert result["codes"] == [0] * len(helps), result["err"]
    assert result["heavy"] == []
    for name in COMMANDS:
        assert f"fakearena {name}" in result["out"]
    assert result["out"].count("device=auto") >= 5  # the top-level and each job's help


def test_job_help_lists_groups_with_defaults_and_the_keys():
    result = probe(["train", "--help"])
    text = result["out"]
    assert "trainer     auto*, cpu, ddp, ddp_multinode, gpu" in text
    assert "detector" in text and "small_cnn*" in text
    assert "keys (conf/train.yaml):" in text and "  seed: 0" in text
    assert "- trainer: auto" not in text  # the defaults list is shown as groups


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["train", "detector=does_not_exist"],
            "detector=does_not_exist is not an option of detector",
        ),
        (["train", "no_such_key=1"], "no_such_key"),
        (["evaluate", "ckpt=missing.ckpt"], "checkpoint missing.ckpt does not exist"),
        (
            ["train", "data=manifest", "data.manifests=[gone.csv]"],
            "gone.csv:\n  - file not found",
        ),
        (["detect", "missing.mp4", "ckpt=x.ckpt"], "input missing.mp4 does not exist"),
        (["generate", "ckpt=missing.ckpt", "out=fakes"], "checkpoint missing.ckpt does not exist"),
        (["fid", "missing_a", "missing_b"], "missing_a does not exist"),
        (["faces", "extract", "input=missing.mp4", "out=o"], "input missing.mp4 not found"),
        (["fid", "a", "b", "devcie=cpu"], "did you mean device?"),
    ],
)
def test_user_errors_fail_before_the_heavy_imports(tmp_path, argv, message):
    result = probe(argv, cwd=tmp_path)
    assert result["codes"] != [0]
    assert message in result["err"]
    assert result["heavy"] == [] or result["heavy"] == ["pandas"], result["heavy"]
    assert not [p for p in tmp_path.rglob("*") if p.is_file()], "a failed start left files"
