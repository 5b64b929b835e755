"""Hydra sweeps of `fakearena train`: multirun -> results.json per run -> leaderboard."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.utils import get_class

from fakearena.config import config_dir
from fakearena.report.leaderboard import write_leaderboard

from conftest import run_cli

TINY = ("data=manifest", "debug=fast_dev_run")


def compose_hydra(overrides: list[str]):
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return compose("train", overrides=overrides, return_hydra_config=True)


def sweep(tmp_path: Path, manifest: Path, *args: str) -> Path:
    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        "train",
        "-m",
        *TINY,
        f"data.manifests=[{manifest}]",
        f"hydra.sweep.dir={sweep_dir}",
        *args,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return sweep_dir


def check_two_seed_leaderboard(sweep_dir: Path, out: Path) -> None:
    """Two results.json, and a leaderboard whose numbers are exactly the records'."""
    files = sorted(sweep_dir.glob("*/results.json"))
    assert [f.parent.name for f in files] == ["0", "1"]
    records = [json.loads(f.read_text()) for f in files]
    assert [r["seed"] for r in records] == [0, 1]
    written = write_leaderboard([sweep_dir], out)
    runs = pd.read_csv(written["runs_csv"]).sort_values("seed")
    assert len(runs) == 2
    for (_, row), record in zip(runs.iterrows(), records):
        for key in ("val/auc", "test/auc", "test/acc"):
            assert row[key] == record["metrics"][key]["value"]
        assert row["run_dir"] == str(Path(record["artifacts"]["run_dir"]).resolve())
    board = pd.read_csv(written["csv"])
    assert len(board) == 1  # the two seeds are one configuration
    values = np.array([r["metrics"]["test/acc"]["value"] for r in records])
    assert board.loc[0, "test/acc"] == pytest.approx(values.mean(), abs=1e-12)
    assert board.loc[0, "test/acc:std"] == pytest.approx(values.std(ddof=1), abs=1e-12)
    assert board.loc[0, "seeds"] == "0 1"
    assert board.loc[0, "test/auc:n"] == records[0]["metrics"]["test/auc"]["n"]
    assert "[0](../sweep/0) [1](../sweep/1)" in written["md"].read_text()  # seeds link runs


def test_multirun_two_seeds_to_leaderboard(tmp_path: Path, toy_manifest: Path):
    sweep_dir = sweep(tmp_path, toy_manifest, "seed=0,1")
    check_two_seed_leaderboard(sweep_dir, tmp_path / "board")


@pytest.mark.slow
def test_joblib_launcher_runs_two_jobs(tmp_path: Path, toy_manifest: Path):
    sweep_dir = sweep(tmp_path, toy_manifest, "seed=0,1", "hydra/launcher=joblib")
    launcher = yaml.safe_load((sweep_dir / "multirun.yaml").read_text())["hydra"]["launcher"]
    assert launcher["_target_"].endswith("JoblibLauncher")
    check_two_seed_leaderboard(sweep_dir, tmp_path / "board")


@pytest.mark.parametrize("name", ["joblib", "submitit_local", "submitit_slurm"])
def test_launcher_configs_compose(name: str):
    launcher = compose_hydra([f"hydra/launcher={name}"]).hydra.launcher
    assert get_class(launcher._target_).__name__.endswith("Launcher")


@pytest.mark.parametrize(
    ("name", "direction", "params"),
    [
        ("optuna_detector", "maximize", {"task.optimizer.lr", "data.batch_size"}),
        ("optuna_gan", "minimize", {"task.optimizer.lr", "task.d_steps"}),
    ],
)
def test_optuna_sweeper_configs_compose(name: str, direction: str, params: set[str]):
    from hydra_plugins.hydra_optuna_sweeper._impl import create_params_from_overrides

    cfg = compose_hydra([f"hydra/sweeper={name}", "seed=7"])
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_.endswith("OptunaSweeper")
    assert sweeper.direction == direction
    assert sweeper.sampler.seed == 7  # one seed drives the search too
    distributions, fixed = create_params_from_overrides(
        [f"{key}={value}" for key, value in sweeper.params.items()]
    )
    assert params <= set(distributions) and not fixed
    lr = distributions["task.optimizer.lr"]
    assert getattr(lr, "log", False) or type(lr).__name__ == "LogUniformDistribution"


@pytest.mark.slow
def test_optuna_tunes_detector_on_val_auc(tmp_path: Path, toy_manifest: Path):
    sweep_dir = sweep(
        tmp_path, toy_manifest, "hydra/sweeper=optuna_detector", "hydra.sweeper.n_trials=2"
    )
    best = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    records = [json.loads(f.read_text()) for f in sweep_dir.glob("*/results.json")]
    assert len(records) == 2
    assert best["best_value"] == max(r["metrics"]["val/auc"]["value"] for r in records)
