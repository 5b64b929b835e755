"""benchmarks/_milestones.py: milestones fire once each, in order, on training time only (or on
training steps)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from benchmarks._milestones import TrainingMilestones


class Recorder(TrainingMilestones):
    def __init__(self, minutes, now, unit="minutes"):
        self.now = now
        super().__init__(minutes, "cpu", unit=unit)
        self.clock = lambda: self.now[0]
        self._since = self.clock()
        self.seen = []

    def evaluate(self, trainer, task, minute):
        self.seen.append((minute, self.steps, round(self.train_time)))
        self.now[0] += 1000.0  # a slow evaluation: its time must not count as training


def test_each_milestone_fires_once_when_training_time_passes_it_then_training_stops():
    now = [0.0]
    clock = Recorder([0, 1, 1.5], now)
    trainer = SimpleNamespace(should_stop=False)
    clock.on_train_start(trainer, None)
    assert clock.seen == [(0, 0, 0)]
    for _ in range(5):  # 5 batches of 20 s: 100 s of training
        now[0] += 20.0
        clock.on_train_batch_end(trainer, None, None, None, 0)
    # minute 1 at the third batch (60 s); 1.5 minutes (90 s) at the fifth
    assert clock.seen == [(0, 0, 0), (1, 3, 60), (1.5, 5, 100)]
    assert trainer.should_stop and clock.minutes == []


def test_step_milestones_fire_on_batches_and_still_measure_training_time():
    now = [0.0]
    clock = Recorder([0, 2, 4, 4], now, unit="steps")
    trainer = SimpleNamespace(should_stop=False)
    clock.on_train_start(trainer, None)
    for _ in range(4):  # batches of 7 s
        now[0] += 7.0
        clock.on_train_batch_end(trainer, None, None, None, 0)
    # each milestone at its batch count; the slow evaluations never count as training
    assert clock.seen == [(0, 0, 0), (2, 2, 14), (4, 4, 28), (4, 4, 28)]
    assert trainer.should_stop


def test_gan_quality_takes_step_milestones_or_minutes_not_both(capsys):
    from benchmarks.gan_quality import parse_args

    assert parse_args(["--steps", "600", "1500"]).steps == [600, 1500]
    assert parse_args(["--steps", "600"]).minutes is None
    assert parse_args([]).minutes == [2, 4, 6]
    with pytest.raises(SystemExit):
        parse_args(["--steps", "600", "--minutes", "1"])
    assert "not allowed with argument" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(["--steps", "1500", "600"])
    assert "--steps [1500, 600]: give milestones >= 0 in increasing order" in (
        capsys.readouterr().err
    )


@pytest.mark.slow
@pytest.mark.parametrize("benchmark", ["gan_fid_vs_time", "gan_quality"])
def test_the_gan_curve_benchmarks_run_their_milestones(benchmark, tmp_path, monkeypatch):
    """A tiny run of each curve benchmark writes one record per milestone, steps rising."""
    import importlib
    import json

    monkeypatch.setenv("WANDB_MODE", "offline")
    module = importlib.import_module(f"benchmarks.{benchmark}")
    tiny = ["generator.g_width=8", "generator.d_width=8"]
    if benchmark == "gan_quality":
        module.main(["--name", "tiny", "--minutes", "0", "0.03", "--n", "20", "--n-curve", "20",
                     "--out", str(tmp_path), "generator.work_size=32", *tiny])
        record, steps = json.loads((tmp_path / "tiny.json").read_text()), "batches"
    else:
        module.main(["--generator", "dcgan", "--minutes", "0", "0.03", "--n", "20",
                     "--out", str(tmp_path), *tiny])
        record, steps = json.loads((tmp_path / "dcgan.json").read_text()), "steps"
    milestones = record["milestones"]
    assert [m["milestone_minutes"] for m in milestones] == [0, 0.03]
    assert milestones[0][steps] == 0 < milestones[1][steps]
    assert milestones[1]["train_minutes"] >= 0.03


@pytest.mark.slow
def test_gan_quality_step_milestones_record_steps_grids_and_ms_per_step(tmp_path, monkeypatch):
    import json

    from benchmarks import gan_quality

    monkeypatch.setenv("WANDB_MODE", "offline")
    gan_quality.main(["--name", "tiny", "--steps", "0", "3", "--n", "20", "--out", str(tmp_path),
                      "generator.work_size=32", "generator.g_width=8", "generator.d_width=8"])
    record = json.loads((tmp_path / "tiny.json").read_text())
    milestones = record["milestones"]
    assert record["milestone_unit"] == "steps"
    assert [(m["milestone_steps"], m["batches"]) for m in milestones] == [(0, 0), (3, 3)]
    assert milestones[1]["ms_per_step"] > 0
    assert (tmp_path / milestones[1]["grid"]).name == "tiny_3steps.png"
    assert (tmp_path / milestones[1]["grid"]).is_file()
