"""benchmarks/arena_families.py: the families-side-by-side table from an arena run with
leave-one-generator-out rows, its figure, and the markdown README quotes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.metrics import roc_auc_score

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `benchmarks` is a top-level folder, not an installed package
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import arena_families  # noqa: E402
from benchmarks._families_figure import LABEL_WIDTH, pick_rows  # noqa: E402
from benchmarks._families_table import (  # noqa: E402
    FIGURE,
    SECTION,
    render_section,
    render_table,
    section_mismatch,
)
from benchmarks._seed_runs import auc_cell  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

from fakearena.config import compose  # noqa: E402
from fakearena.data.manifest import read_manifest  # noqa: E402
from fakearena.errors import DataError  # noqa: E402
from fakearena.report.records import RunRecord  # noqa: E402
from fakearena.runs.arena import detector_stages  # noqa: E402

from conftest import run_cli  # noqa: E402

# the smoke arena's identity-matched GAN sets keep few rows (an untrained GAN draws one or
# two of its people): the figure shows 4 faces a family
FACES, TILE = 4, 96

SEEDS = ([0.90, 0.92, 0.95], [0.60, 0.70, 0.65])  # blend, dcgan AUCs of three seeds


def _record(auc: float, test_set: str, flags=()) -> RunRecord:
    entry = {"value": auc, "ci95": [auc - 0.1, auc + 0.1], "n_units": 40, "ci_unit": "identity"}
    return RunRecord({"metrics": {f"test/{test_set}/auc": {**entry, "flags": list(flags)}}}, Path())


def test_a_cell_is_the_mean_and_sample_std_of_the_seeds():
    runs = [_record(a, "dcgan", ["small_n"] if a < 0.65 else []) for a in SEEDS[1]]
    cell = auc_cell(runs, "dcgan")
    assert cell["mean"] == pytest.approx(np.mean(SEEDS[1]), abs=1e-4)
    assert cell["std"] == pytest.approx(np.std(SEEDS[1], ddof=1), abs=1e-4)
    assert cell["units"] == 40 and cell["flags"] == ["small_n"]
    with pytest.raises(DataError, match="have no test/blend/auc"):
        auc_cell(runs, "blend")


def _summary() -> dict:
    """Two families, one detector, three seeds: the all row and the two without-rows."""

    def cells(blend, dcgan):
        return {
            name: {
                "mean": float(np.mean(a)),
                "std": float(np.std(a, ddof=1)),
                "flags": [],
            }
            for name, a in (("blend", blend), ("dcgan", dcgan))
        }

    drop = {"drop": 0.3, "verdict": "drop"}
    return {
        "families": ["blend", "dcgan"],
        "seeds": [0, 1, 2],
        "bootstrap": {"replicates": 1000, "seed": 0},
        "confound_tolerance": 0.1,
        "test_sets": {
            "blend": {"units": 40, "unit_plural": "identities", "confound_auc": 0.52,
                      "confound_flagged": False},
            "dcgan": {"units": 40, "unit_plural": "identities", "confound_auc": 0.71,
                      "confound_flagged": True},
        },
        "rows": [
            {"detector": "meso4", "held_out": None, "cells": cells(*SEEDS), "drops": {}},
            {
                "detector": "meso4",
                "held_out": "dcgan",
                "cells": cells(SEEDS[0], [0.50, 0.55, 0.52]),
                "drops": {"blend": {"drop": -0.004, "verdict": "tie"}, "dcgan": drop},
            },
            {
                "detector": "meso4",
                "held_out": "blend",
                "cells": cells([0.55, 0.60, 0.58], SEEDS[1]),
                "drops": {"dcgan": {"drop": 0.01, "verdict": "untested"}},
            },
        ],
    }


def test_the_table_renders_a_hand_computed_example():
    # numpy: blend 0.9233 ± 0.0252, dcgan 0.65 ± 0.05, [0.5, 0.55, 0.52] 0.5233 ± 0.0252,
    # [0.55, 0.6, 0.58] 0.5767 ± 0.0252
    lines = render_table(_summary()).splitlines()
    assert lines[0] == (
        "| detector | trained on | `blend` (40 identities) | `dcgan` (40 identities) |"
    )
    assert lines[2] == "| meso4 | all 2 families | 0.923 ± 0.025 | 0.650 ± 0.050 |"
    assert lines[3] == (
        "| meso4 | without `dcgan` | 0.923 ± 0.025, drop -0.004 | "
        "**0.523 ± 0.025**, drop +0.300* |"
    )
    assert lines[4] == (
        "| meso4 | without `blend` | **0.577 ± 0.025**, drop not tested (no paired rows) | "
        "0.650 ± 0.050, drop +0.010 (untested) |"
    )
    text = "\n".join(lines)
    assert "over 3 training seeds (0, 1, 2)" in text and "1000 replicates, seed 0" in text
    assert "`blend` 0.520, `dcgan` 0.710 (**confounded**)" in text


def test_the_documented_arena_command_plans_every_row(tmp_path: Path):
    command = arena_families.COMMAND.split()
    assert command[:2] == ["fakearena", "arena"]
    overrides = [o.strip("'") for o in command[3:]]
    cfg = compose("arena", overrides)
    sets = {name: tmp_path / f"{name}.csv" for name in arena_families.FAMILIES}
    stages = detector_stages(cfg, tmp_path, tmp_path / "real.csv", sets, sets)
    names = {s.name for s in stages}
    for detector in ("meso4", "resnet"):
        for variant in ["", *(f"-without-{f}" for f in arena_families.FAMILIES)]:
            for seed in range(3):
                assert f"train detector {detector}{variant} seed {seed}" in names
    assert len(stages) == 2 * 5 * 3


def test_a_run_of_the_documented_command_is_named_by_it():
    cfg = compose("arena", [o.strip("'") for o in arena_families.COMMAND.split()[3:]])
    config = {k: OmegaConf.to_container(cfg[k]) if OmegaConf.is_config(cfg[k]) else cfg[k]
              for k in arena_families.COMPARED}
    assert arena_families.config_differences(config) == []
    config["seeds"], config["faces"]["size"] = 2, 32
    assert arena_families.config_differences(config) == ["faces", "seeds"]
    summary = {**_summary(), "command": arena_families.COMMAND, "benchmark": "python -m x"}
    assert f"each): `{arena_families.COMMAND}`, summarised" in render_section(summary)
    summary["config_differs_in"] = ["faces", "seeds"]
    assert "an arena whose `faces`, `seeds` settings differ from `fakearena arena" in (
        render_section(summary)
    )


def test_a_run_without_leave_one_out_is_refused_with_the_fix(tmp_path: Path):
    with pytest.raises(DataError, match="is not a finished arena run; run `fakearena arena"):
        arena_families.summarise(tmp_path)
    (tmp_path / "arena.json").write_text(json.dumps({"config": {"leave_one_out": False}}))
    with pytest.raises(DataError, match="rerun it with leave_one_out=true"):
        arena_families.summarise(tmp_path)


def test_the_command_line_names_the_missing_run_without_a_traceback(tmp_path: Path):
    missing = tmp_path / "nothing"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.arena_families", str(missing)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"{missing / 'arena.json'} does not exist" in done.stderr


def test_rows_take_one_face_per_person_in_turn():
    frame = pd.DataFrame(
        {"identity": ["b", "a", "a", "b", "c"], "path": ["b1", "a2", "a1", "b0", "c0"]},
        index=[10, 11, 12, 13, 14],
    )
    assert [frame.loc[i, "path"] for i in pick_rows(frame, 4)] == ["a1", "b0", "c0", "a2"]


def test_the_readme_check_finds_a_changed_number_and_a_missing_figure():
    summary = _summary()
    rendered = render_table(summary)
    readme = f"# x\n\n{SECTION}\n\n![families]({FIGURE})\n\n{rendered}\n## Next\n"
    assert section_mismatch(readme, summary) is None
    # notes wrapped over lines still match
    assert section_mismatch(readme.replace("; each column", ";\neach column"), summary) is None
    changed = readme.replace("0.523 ± 0.025", "0.532 ± 0.025")
    assert "should hold the table rendered from" in section_mismatch(changed, summary)
    assert "should show" in section_mismatch(readme.replace(FIGURE, "x.png"), summary)
    assert "has no" in section_mismatch("# x\n", summary)
    # the table must sit inside the section, not in a later one
    moved = f"# x\n\n{SECTION}\n\n![families]({FIGURE})\n\n## Next\n\n{rendered}"
    assert "should hold" in section_mismatch(moved, summary)


@pytest.mark.slow
def test_a_tiny_leave_one_out_arena_gives_the_table_and_the_figure(tmp_path: Path):
    run_dir, out = tmp_path / "arena", tmp_path / "out"
    # the documented command's families and leave-one-out, at the smoke arena's sizes (its
    # seeds and step budgets are the full measurement's)
    overrides = [
        o.strip("'")
        for o in arena_families.COMMAND.split()[3:]
        if "seeds" not in o and "budget_steps" not in o
    ]
    arena = run_cli(
        "arena", "--config-name", "arena_smoke", f"hydra.run.dir={run_dir}", *overrides,
        "seeds=2", "detectors.meso4=null",
    )
    assert arena.returncode == 0, arena.stdout[-3000:] + arena.stderr[-3000:]
    benchmark = subprocess.run(
        [sys.executable, "-m", "benchmarks.arena_families", str(run_dir), "--out", str(out),
         "--faces", str(FACES), "--replicates", "200"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert benchmark.returncode == 0, benchmark.stderr[-3000:]
    check_outputs(run_dir, out)


def _predictions(run_dir: Path, name: str, seed: int, family: str) -> pd.DataFrame:
    record = json.loads((run_dir / "detectors" / name / f"seed{seed}" / "results.json").read_text())
    return pd.read_csv(record["artifacts"]["predictions"][family])


def check_outputs(run_dir: Path, out: Path) -> None:
    """The summary against sklearn on the predictions files, the table against the summary,
    every tile of the figure against the test sets' files."""
    summary = json.loads((out / "summary.json").read_text())
    families = list(arena_families.FAMILIES)
    assert summary["families"] == families and summary["seeds"] == [0, 1]
    assert [(r["detector"], r["held_out"]) for r in summary["rows"]] == [
        ("small_cnn", held_out) for held_out in [None, *families]
    ]
    for row in summary["rows"]:
        name = "small_cnn" + (f"-without-{row['held_out']}" if row["held_out"] else "")
        for family, cell in row["cells"].items():
            aucs = []
            for seed in (0, 1):
                frame = _predictions(run_dir, name, seed, family)
                aucs.append(roc_auc_score(frame["label"], frame["prob"]))
            assert cell["aucs"] == pytest.approx(aucs, abs=1e-4), (name, family)
            assert cell["mean"] == pytest.approx(np.mean(aucs), abs=1e-4)
            assert cell["std"] == pytest.approx(np.std(aucs, ddof=1), abs=1e-4)
        if row["held_out"] is None:
            assert row["drops"] == {}
            continue
        assert set(row["drops"]) == set(families)
        for family, drop in row["drops"].items():
            deltas = []
            for seed in (0, 1):
                both = _predictions(run_dir, "small_cnn", seed, family).merge(
                    _predictions(run_dir, name, seed, family), on=["path", "label"]
                )
                deltas.append(
                    roc_auc_score(both["label"], both["prob_x"])
                    - roc_auc_score(both["label"], both["prob_y"])
                )
            assert drop["drop"] == pytest.approx(np.mean(deltas), abs=1e-4), (name, family)
            if drop["ci95"] is None:  # a matched smoke set of one person: nothing to resample
                assert drop["verdict"] == "untested", (name, family)
                continue
            low, high = drop["ci95"]
            assert drop["verdict"] == ("drop" if low > 0 else "gain" if high < 0 else "tie")
            assert drop["seed_pairs"] == 2 and drop["units"] == row["cells"][family]["units"]
    section = (out / "families.md").read_text()
    assert section == render_section(summary) and render_table(summary) in section
    readme = f"# fakearena\n\n{section}\n## Next\n"
    assert section_mismatch(readme, summary) is None
    assert (out / arena_families.PREVIEW).is_file()
    assert {"faces", "detectors", "seeds"} <= set(summary["config_differs_in"])  # the smoke
    check_figure(run_dir / "testsets", out / "families.png", families)


def _candidates(testset_csv: Path, label: int) -> np.ndarray:
    manifest = read_manifest(testset_csv)
    labels = manifest.frame["label"].to_numpy()
    tiles = []
    for row in np.flatnonzero(labels == label):
        with Image.open(manifest.abspath(int(row))) as image:
            tile = image.convert("RGB").resize((TILE, TILE), Image.Resampling.BICUBIC)
        tiles.append(np.asarray(tile, dtype=np.int16))
    return np.stack(tiles)


def check_figure(testsets: Path, figure: Path, families: list[str]) -> None:
    """Rows real, then each family; each tile is one of its set's faces of the right class,
    found by brute force among all of them (and no fake tile is a real face)."""
    with Image.open(figure) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    assert pixels.shape == ((1 + len(families)) * TILE, LABEL_WIDTH + FACES * TILE, 3)
    reals = _candidates(testsets / "blend.csv", 0)
    for r, name in enumerate(["real", *families]):
        wanted = reals if r == 0 else _candidates(testsets / f"{name}.csv", 1)
        for c in range(FACES):
            y, x = r * TILE, LABEL_WIDTH + c * TILE
            tile = pixels[y : y + TILE, x : x + TILE]
            assert np.abs(wanted - tile).max(axis=(1, 2, 3)).min() == 0, (name, c)
            if r:
                assert np.abs(reals - tile).max(axis=(1, 2, 3)).min() > 0, (name, c)
