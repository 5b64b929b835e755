"""One device story: `device=auto` and `trainer=auto` give the same answer in every command."""

from __future__ import annotations

import pytest
import torch

from fakearena.config import compose
from fakearena.faces.cli import ARGS as FACES_ARGS
from fakearena.faces.options import ExtractOptions
from fakearena.metrics.cli import ARGS as FID_ARGS
from fakearena.utils.parallel import (
    default_num_workers,
    launch_shard,
    num_workers_value,
    resolve_device,
)

JOB_COMMANDS = ("evaluate", "generate", "detect")


@pytest.mark.parametrize("cuda", [False, True], ids=["no-cuda", "cuda"])
def test_device_auto_resolves_the_same_in_every_command(monkeypatch, cuda: bool):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    expected = "cuda" if cuda else "cpu"
    assert resolve_device("auto").type == expected
    for name in JOB_COMMANDS:  # device=auto is each job's default, resolved by one function
        cfg = compose(name)
        assert cfg.device == "auto"
        assert launch_shard(cfg).device.type == expected
    train = compose("train")  # trainer=auto: Lightning's accelerator name for the same device
    assert train.trainer.accelerator == {"cuda": "gpu", "cpu": "cpu"}[expected]
    assert train.trainer.precision == ("bf16-mixed" if cuda else "32-true")
    assert train.trainer.deterministic == (False if cuda else "warn")
    fid = FID_ARGS.parse(["a.csv", "b.csv"])
    faces = FACES_ARGS.parse(["input=clip.mp4", "out=faces"])
    for device in (fid.device, faces.device, ExtractOptions().device):
        assert device == "auto" and resolve_device(device).type == expected


def test_trainer_auto_is_the_default_and_can_be_overridden():
    cfg = compose("train", ["trainer.precision=16-mixed"])
    assert cfg.trainer.precision == "16-mixed"
    assert compose("train", ["trainer=cpu"]).trainer.accelerator == "cpu"


def test_a_device_that_is_not_there_is_a_clear_error(monkeypatch):
    from fakearena.errors import ConfigError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="CUDA is not available; use device=cpu"):
        resolve_device("cuda")
    with pytest.raises(ConfigError, match="not a torch device"):
        resolve_device("gpu0")


@pytest.mark.parametrize(
    ("cpus", "processes", "expected"),
    [(2, 1, 0), (3, 1, 2), (16, 1, 8), (16, 2, 7), (16, 8, 0), (64, 4, 8)],
)
def test_num_workers_auto_comes_from_the_cpu_cores(monkeypatch, cpus, processes, expected):
    monkeypatch.setattr("fakearena.utils.parallel.available_cpus", lambda: cpus)
    assert default_num_workers(processes) == expected
    assert num_workers_value("auto", processes) == expected
    assert num_workers_value(3, processes) == 3


def test_num_workers_rejects_what_is_not_a_count():
    from fakearena.errors import ConfigError

    with pytest.raises(ConfigError, match="num_workers='many': give auto or a count"):
        num_workers_value("many")
