"""Time budgets: `trainer.max_time` stops a run on time and it still ends validated and
recorded; the arena turns `budget_minutes` into that budget."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from fakearena.config import compose
from fakearena.errors import ConfigError
from fakearena.results import read_results
from fakearena.runs import train
from fakearena.runs.arena import budget_overrides, detector_spec, detector_stages

MAX_EPOCHS = 10_000  # what the run would do without its budget


def tiny_gan_config(run_dir: Path, *budget: str):
    """A tiny MLP GAN run whose validation epochs never come: its stop must validate itself."""
    return compose(
        "train",
        [
            "experiment=gan_mlp",
            # the data's own val split as the reference: 8 real faces a person are too few to
            # hold shots of each person out (task=gan's default data.reference=people)
            "data.reference=split",
            "data.synthetic.n_identities=3",
            "data.synthetic.per_identity=16",
            "data.batch_size=8",
            *budget,
            f"trainer.check_val_every_n_epoch={MAX_EPOCHS}",
            "trainer.limit_val_batches=1",
            "task.fid_n=6",
            "task.kid_subsets=5",
            "task.grid_size=4",
            f"hydra.run.dir={run_dir}",
            f"paths.output_dir={run_dir}",
        ],
    )


@pytest.mark.timeout(300)
def test_a_time_budget_stops_a_gan_run_early_validated_and_recorded(tmp_path: Path):
    cfg = tiny_gan_config(
        tmp_path, f"trainer.max_epochs={MAX_EPOCHS}", "trainer.max_time=00:00:00:03"
    )
    train.run(cfg)
    record = read_results(tmp_path)
    facts = record["training"]
    assert facts["stopped_by"] == "max_time" and facts["max_time_seconds"] == 3
    assert 1 <= facts["epochs"] < MAX_EPOCHS and facts["batches"] >= 1
    assert facts["train_seconds"] >= 2.5  # its budget, less the 0.5 s lead (+ the validation)
    # testing from best.ckpt must not add that checkpoint's elapsed time a second time
    assert facts["train_seconds"] <= record["wall_seconds"]
    metrics = record["metrics"]
    # validated where it stopped, although no validation epoch came
    assert metrics["val/fid"]["value"] > 0 and "val/precision" in metrics
    assert metrics["val/fid"]["epoch"] in (facts["epochs"], facts["epochs"] - 1)
    assert "test/fid" in metrics
    checkpoints = record["artifacts"]["checkpoints"]
    assert Path(checkpoints["best"]).is_file() and Path(checkpoints["last"]).is_file()


def test_budget_minutes_become_max_time_and_replace_the_epoch_count():
    assert budget_overrides(None, "generators.dcgan") == []
    assert budget_overrides(3.5, "generators.dcgan") == [
        "trainer.max_time=00:00:03:30",
        "trainer.max_epochs=-1",
    ]
    assert budget_overrides(1500, "x")[0] == "trainer.max_time=01:01:00:00"
    with pytest.raises(ConfigError, match=r"generators\.dcgan\.budget_minutes"):
        budget_overrides("soon", "generators.dcgan")


def test_detector_entries_take_overrides_or_a_mapping_with_a_budget(tmp_path: Path):
    entries = OmegaConf.create(
        {
            "plain": ["detector=meso4"],
            "timed": {"train": ["detector=small_cnn"], "budget_minutes": 0.5},
        }
    )
    assert detector_spec("plain", entries.plain) == (["detector=meso4"], None)
    assert detector_spec("timed", entries.timed) == (["detector=small_cnn"], 0.5)
    with pytest.raises(ConfigError, match="unknown keys"):
        detector_spec("bad", OmegaConf.create({"overrides": []}))
    cfg = OmegaConf.create(
        {"detectors": entries, "train_fakes": ["blend"], "faces": {"size": 32}, "seed": 0}
    )
    sets = {"blend": tmp_path / "blend.csv"}
    stages = detector_stages(cfg, tmp_path, tmp_path / "real.csv", sets, sets)
    timed = next(s for s in stages if s.name.endswith("timed"))
    assert timed.budget_minutes == 0.5 and "trainer.max_time=00:00:00:30" in timed.args
    plain = next(s for s in stages if s.name.endswith("plain"))
    assert plain.budget_minutes is None and not any("max_time" in a for a in plain.args)


def test_a_step_budget_replaces_the_wall_clock_budget_of_a_generator(tmp_path: Path):
    from fakearena.config import compose
    from fakearena.runs.arena import generator_stages, step_budget_overrides

    assert step_budget_overrides(None, "x") == []
    assert step_budget_overrides(600, "x") == ["trainer.max_steps=600", "trainer.max_epochs=-1"]
    for bad in (0, 2.5, "many", True):
        with pytest.raises(ConfigError, match=r"generators\.dcgan\.budget_steps"):
            step_budget_overrides(bad, "generators.dcgan")
    cfg = compose("arena", ["+generators.diffusion.budget_steps=600"])
    stages, _, _ = generator_stages(cfg, tmp_path, tmp_path / "data" / "real.csv")
    by_name = {stage.name: stage for stage in stages}
    stepped = by_name["train generator diffusion"]
    assert "trainer.max_steps=600" in stepped.args and stepped.budget_minutes is None
    assert not any(arg.startswith("trainer.max_time") for arg in stepped.args)
    timed = by_name["train generator dcgan"]  # the default: its wall-clock budget
    assert "trainer.max_time=00:00:02:30" in timed.args


@pytest.mark.timeout(300)
def test_a_step_budget_stops_a_gan_run_at_its_steps_validated(tmp_path: Path):
    """max_steps counts the GAN's D and G steps; the stopping batch validates (FID)."""
    cfg = tiny_gan_config(tmp_path, "trainer.max_epochs=-1", "trainer.max_steps=10")
    train.run(cfg)
    record = read_results(tmp_path)
    assert record["training"]["batches"] == 5  # 10 steps: 5 discriminator + 5 generator
    assert record["metrics"]["val/fid"]["value"] > 0
    assert Path(record["artifacts"]["checkpoints"]["best"]).is_file()
