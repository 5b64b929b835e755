"""Mistakes a new user makes get one paragraph that names the thing and the right fix.

Every test pins the environment it depends on: HYDRA_FULL_ERROR unset (one-paragraph errors),
FAKEARENA_DATA set or unset as the case needs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from _cli import in_process_cli
from fakearena.config import closest_key, compose
from fakearena.errors import CheckpointError, DataError
from fakearena.tasks.checkpoints import resolve_checkpoint


@pytest.fixture(autouse=True)
def one_paragraph_errors(monkeypatch):
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)


@pytest.fixture()
def cli(capsys, monkeypatch):
    """`fakearena ARGS` in this process: (exit code, stderr)."""
    run_cli = in_process_cli(capsys, monkeypatch)

    def run(*args: str) -> tuple[int, str]:
        code, _, err = run_cli(*args)
        return code, err

    return run


def one_paragraph(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("fakearena: error: "), stderr[-2000:]
    return lines[0]


def test_a_mistyped_key_gets_the_closest_key_and_leaves_no_folder(tmp_path: Path, cli):
    run_dir = tmp_path / "run"
    code, stderr = cli("train", "trainer.max_epoch=3", f"hydra.run.dir={run_dir}")
    assert code == 1
    line = one_paragraph(stderr)
    assert "trainer.max_epoch is not a config key; did you mean trainer.max_epochs=3?" in line
    assert "+trainer.max_epoch" not in line  # Hydra's advice, which ends in a TypeError
    assert not run_dir.exists()
    # following Hydra's old advice anyway: the same suggestion, no TypeError, no folder
    code, stderr = cli("train", "+trainer.max_epoch=3", f"hydra.run.dir={run_dir}")
    line = one_paragraph(stderr)
    assert "trainer.max_epoch is not an argument of lightning" in line
    assert "did you mean trainer.max_epochs?" in line and not run_dir.exists()


def test_a_mistyped_option_and_an_unknown_timm_model(tmp_path: Path, cli):
    code, stderr = cli("train", "detector=mesa4", f"hydra.run.dir={tmp_path / 'a'}")
    line = one_paragraph(stderr)
    assert "detector=mesa4 is not an option of detector; did you mean detector=meso4?" in line
    code, stderr = cli(
        "train", "detector=timm", "detector.name=resnet_nope", f"hydra.run.dir={tmp_path / 'b'}"
    )
    assert code == 1
    line = one_paragraph(stderr)
    assert "timm has no model 'resnet_nope'; set detector.name" in line
    assert "Error in call to target" not in line  # not Hydra's wrapping
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_closest_key_prefers_siblings_then_the_same_name_elsewhere():
    keys = ["trainer", "trainer.max_epochs", "trainer.devices", "data", "data.image_size"]
    assert closest_key("trainer.max_epoch", keys) == "trainer.max_epochs"
    assert closest_key("trainer.image_size", keys) == "data.image_size"
    assert closest_key("trainer.foo", keys) is None
    assert closest_key("dat", keys) == "data"


def test_data_config_without_fakearena_data_names_the_variable(tmp_path: Path, monkeypatch):
    from hydra.utils import instantiate

    monkeypatch.delenv("FAKEARENA_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "ffpp_c23" / "faces").mkdir(parents=True)  # never used as a fallback
    cfg = compose("train", ["data=ffpp_c23"])
    assert cfg.data.manifests[0] == "$FAKEARENA_DATA/ffpp_c23/faces/ffpp_c23.csv"
    with pytest.raises(DataError) as error:
        instantiate(cfg.data).manifest  # noqa: B018
    message = str(error.value)
    assert "environment variable FAKEARENA_DATA, and FAKEARENA_DATA is not set" in message
    assert "conf/data/ffpp_c23.yaml" in message and "file not found" not in message

    monkeypatch.setenv("FAKEARENA_DATA", str(tmp_path / "datasets"))
    (tmp_path / "datasets").mkdir()
    cfg = compose("train", ["data=ffpp_c23"])
    expected = r"FAKEARENA_DATA=\S+ \(paths\.data_dir\) holds no ffpp_c23/faces/ffpp_c23\.csv"
    with pytest.raises(DataError, match=expected):
        instantiate(cfg.data).manifest  # noqa: B018


def test_a_run_folder_stands_for_its_best_checkpoint(tmp_path: Path):
    run = tmp_path / "train" / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "best.ckpt").write_bytes(b"x")
    best = run / "checkpoints" / "best.ckpt"
    assert resolve_checkpoint(run) == best and resolve_checkpoint(best) == best
    with pytest.raises(CheckpointError, match=r"holds run folders, e\.g\. .*train/run"):
        resolve_checkpoint(tmp_path / "train")  # a sweep's folder: which run?
    (run / "checkpoints" / "best.ckpt").rename(run / "checkpoints" / "last.ckpt")
    with pytest.raises(CheckpointError, match=r"without checkpoints/best\.ckpt; it holds .*last"):
        resolve_checkpoint(run)
    with pytest.raises(CheckpointError, match=r"does not exist; give a \.ckpt file or a training"):
        resolve_checkpoint(tmp_path / "nope")
