"""`fakearena arena seeds=[...]`: one detector run per seed, planned without running any."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakearena.config import compose
from fakearena.errors import ConfigError
from fakearena.runs.arena import detector_stages


def _plan(tmp_path: Path, *overrides: str):
    cfg = compose("arena_smoke", list(overrides))
    sets = {name: tmp_path / f"{name}.csv" for name in ("blend", "dcgan", "faceswap")}
    tests = {name: tmp_path / "testsets" / f"{name}.csv" for name in sets}
    return detector_stages(cfg, tmp_path, tmp_path / "real.csv", sets, tests)


def test_seeds_plan_one_stage_per_detector_and_seed_with_leave_one_out(tmp_path: Path):
    stages = _plan(tmp_path, "seeds=[0,1]", "leave_one_out=true")
    detectors = tmp_path / "detectors"
    expected = {}
    for name in ("meso4", "small_cnn"):  # arena.yaml's order, then the smoke config's
        for variant in ("", "-without-blend", "-without-dcgan", "-without-faceswap"):
            for seed in (0, 1):
                expected[f"train detector {name}{variant} seed {seed}"] = (
                    detectors / f"{name}{variant}" / f"seed{seed}",
                    seed,
                )
    assert [s.name for s in stages] == list(expected)
    for stage in stages:
        folder, seed = expected[stage.name]
        assert stage.run_dir == folder and stage.done_file == folder / "results.json"
        assert f"seed={seed}" in stage.args and f"hydra.run.dir={folder}" in stage.args
        assert sum(a.startswith("seed=") for a in stage.args) == 1
    without_dcgan = next(s for s in stages if s.name == "train detector meso4-without-dcgan seed 1")
    manifests = next(a for a in without_dcgan.args if a.startswith("data.manifests="))
    assert "dcgan.csv" not in manifests and "faceswap.csv" in manifests


def test_default_is_one_run_of_seed_without_a_seed_folder(tmp_path: Path):
    stages = _plan(tmp_path, "seed=7")
    assert [s.run_dir for s in stages] == [
        tmp_path / "detectors" / "meso4",
        tmp_path / "detectors" / "small_cnn",
    ]
    assert all("seed=7" in s.args for s in stages)
    counted = _plan(tmp_path, "seeds=3")
    assert [s.run_dir.name for s in counted] == ["seed0", "seed1", "seed2"] * 2


@pytest.mark.parametrize("value", ["[1,1]", "[]", "[a]"])
def test_bad_seed_lists_are_refused_with_the_fix(tmp_path: Path, value: str):
    with pytest.raises(ConfigError, match=r"give distinct integer seeds \(e.g. seeds=\[0,1,2\]\)"):
        _plan(tmp_path, f"seeds={value}")
