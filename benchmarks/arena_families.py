"""Families side by side: every detector on every fake family, trained on all of them and
without each one (leave-one-generator-out), from one arena run.

    fakearena arena hydra.run.dir=outputs/arena/families \
        'train_fakes=[blend,dcgan,diffusion,faceswap]' leave_one_out=true seeds=3 \
        +generators.dcgan.budget_steps=7000 +generators.diffusion.budget_steps=600
    python -m benchmarks.arena_families outputs/arena/families

The arena trains each detector on the real train people with every family's fakes
(`train_fakes`: the blends and each generator's `-train-people` instance's fakes) and, with
`leave_one_out`, once more without each family (`<detector>-without-<family>`), each seed of
`seeds`; every run is scored on every family's test set (the same unseen test people).
This writes to `benchmarks/results/arena_families/`:

- summary.json: per test set its units and confound check; per detector and row (all
  families, or without one) the AUC of each seed on each test set, their mean ± std, and for
  the without-rows the paired bootstrap of AUC(all) − AUC(without) on the same rows across
  seed pairs (`fakearena.report.significance.compare`);
- families.md: README's "Families side by side" section, ready to paste (`_families_table`:
  the table, its notes, the figures);
- families.png: real faces and each family's test fakes, same count and size
  (`_families_figure`); faceswap_swap_preview.png: the swap preview (source | truth | fake |
  mask) the arena's report drew.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from benchmarks._families_figure import families_figure
from benchmarks._families_table import render_section
from benchmarks._seed_runs import auc_cell, paired_difference
from fakearena.errors import DataError, FakearenaError
from fakearena.metrics.units import PLURAL
from fakearena.report.records import RunRecord
from fakearena.results import read_results
from fakearena.utils.io import atomic_write_json, atomic_write_text

OUT = Path(__file__).resolve().parent / "results" / "arena_families"
FAMILIES = ("blend", "dcgan", "diffusion", "faceswap")
# the generators train the steps their default budgets buy on 2 idle cores (about 3,500 DCGAN
# batches, 600 diffusion steps: benchmarks/results/arena_demo), however loaded the machine
ARENA_OVERRIDES = (
    f"train_fakes=[{','.join(FAMILIES)}]",
    "leave_one_out=true",
    "seeds=3",
    "+generators.dcgan.budget_steps=7000",
    "+generators.diffusion.budget_steps=600",
)
COMMAND = "fakearena arena hydra.run.dir=outputs/arena/families " + " ".join(
    f"'{o}'" if "[" in o else o for o in ARENA_OVERRIDES
)
# config keys that decide what the table shows (the documented command's, or the run says not)
COMPARED = ("seed", "faces", "generators", "detectors", "train_fakes", "leave_one_out", "seeds",
            "common", "confound")
WITHOUT = "-without-"
VERDICTS = {"A": "drop", "B": "gain", "tie": "tie", "untested": "untested"}
PREVIEW = "faceswap_swap_preview.png"


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def arena_settings(run: Path) -> dict[str, Any]:
    """The finished arena's config, checked to hold the rows this table needs."""
    record = run / "arena.json"
    if not record.is_file():
        raise DataError(
            f"{record} does not exist: {run} is not a finished arena run; run `{COMMAND}` "
            "(or continue it with the same command) first"
        )
    config = _read(record)["config"]
    if not config.get("leave_one_out"):
        raise DataError(
            f"{record}: the arena ran with leave_one_out=false, so it has no "
            f"<detector>{WITHOUT}<family> rows; rerun it with leave_one_out=true ({COMMAND})"
        )
    return config


def config_differences(config: dict[str, Any]) -> list[str]:
    """The keys that shape the table where the run's config is not the one `COMMAND`
    composes (empty: the run is the documented command's)."""
    from omegaconf import OmegaConf

    from fakearena.config import compose

    documented = compose("arena", list(ARENA_OVERRIDES))

    def plain(key: str) -> Any:  # only these keys: paths.* resolve from Hydra's run state
        value = documented.get(key)
        return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value

    return [k for k in COMPARED if plain(k) != config.get(k)]


def test_sets(run: Path) -> dict[str, dict[str, Any]]:
    """Family -> its confound check (testsets/<family>/results.json)."""
    found = {}
    for population in sorted((run / "testsets").glob("*.json")):
        check = read_results(run / "testsets" / population.stem)["metrics"]
        auc = check["testset/confound_auc"]
        found[population.stem] = {
            "rows": _read(population)["rows"],
            "confound_auc": round(auc["value"], 3),
            "confound_ci95": [round(v, 3) for v in auc["ci95"]],
            "confound_flagged": bool(auc["flagged"]),
        }
    if not found:
        raise DataError(f"{run / 'testsets'} holds no test set (<family>.json); is {run} an arena?")
    return found


def detector_runs(run: Path, families: list[str]) -> dict[str, dict[str | None, list[RunRecord]]]:
    """Detector -> held-out family (None: trained on all) -> its runs, one per seed."""
    found: dict[str, dict[str | None, list[RunRecord]]] = {}
    for record in sorted((run / "detectors").rglob("results.json")):
        folder = record.parent
        name = folder.parent.name if re.fullmatch(r"seed\d+", folder.name) else folder.name
        detector, _, held_out = name.partition(WITHOUT)
        if held_out and held_out not in families:
            continue
        runs = found.setdefault(detector, {}).setdefault(held_out or None, [])
        runs.append(RunRecord(read_results(folder), folder))
    if not found:
        raise DataError(f"{run / 'detectors'} holds no finished detector run; finish `{COMMAND}`")
    for detector, rows in found.items():
        missing = [f"{detector}{WITHOUT}{f}" for f in families if f not in rows]
        if None not in rows:
            missing.insert(0, detector)
        if missing:
            raise DataError(
                f"{run / 'detectors'} lacks the runs {missing}; finish the arena with `{COMMAND}`"
            )
    return found


def _drop(all_runs, without_runs, family: str, replicates: int, seed: int) -> dict | None:
    """AUC(all) − AUC(without) on the test set's rows, paired bootstrap across seed pairs."""
    found = paired_difference(all_runs, without_runs, family, replicates, seed)
    if found is None:
        return None
    return {"drop": found.pop("delta"), **found, "verdict": VERDICTS[found["verdict"]]}


def summarise(run: Path, replicates: int = 1000, seed: int = 0) -> dict[str, Any]:
    """The summary of an arena run with leave-one-out rows (see the module docstring)."""
    config = arena_settings(run)
    sets = test_sets(run)
    families = sorted(sets)
    train_fakes = [str(f) for f in config.get("train_fakes") or []]
    untrained = [f for f in families if f not in train_fakes]
    if untrained:
        raise DataError(
            f"{run / 'arena.json'}: the detectors' all-families row did not train on "
            f"{untrained} (train_fakes={train_fakes}); rerun the arena with every family in "
            f"train_fakes: {COMMAND}"
        )
    detectors = detector_runs(run, families)
    rows = []
    for detector, variants in detectors.items():
        for held_out in [None, *families]:
            runs = sorted(variants[held_out], key=lambda r: str(r.seed))
            row = {
                "detector": detector,
                "held_out": held_out,
                "seeds": [r.seed for r in runs],
                "cells": {f: auc_cell(runs, f) for f in families},
                "drops": {},
            }
            if held_out is not None:
                for family in families:
                    drop = _drop(variants[None], runs, family, replicates, seed)
                    if drop is not None:
                        row["drops"][family] = drop
            rows.append(row)
    for family, test_set in sets.items():
        first = rows[0]["cells"][family]
        test_set["units"], test_set["unit"] = first["units"], first["unit"]
        test_set["unit_plural"] = PLURAL.get(str(first["unit"]), "units")
    return {
        "command": COMMAND,
        "config_differs_in": config_differences(config),
        # the documented command (the folder the run was read from is `run_dir`)
        "benchmark": "python -m benchmarks.arena_families outputs/arena/families",
        "run_dir": str(run),
        "families": families,
        "train_fakes": train_fakes,
        "seeds": rows[0]["seeds"],
        "bootstrap": {"replicates": replicates, "seed": seed},
        "confound_tolerance": config.get("confound", {}).get("tolerance"),
        "test_sets": sets,
        "rows": rows,
    }


def write(run: Path, out: Path = OUT, faces: int = 8, replicates: int = 1000) -> dict:
    """Summarise `run` into `out`: summary.json, families.md, families.png, the swap preview."""
    summary = summarise(run, replicates=replicates)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "summary.json", summary)
    atomic_write_text(out / "families.md", render_section(summary))
    families_figure(run / "testsets", summary["families"], out / "families.png", count=faces)
    preview = run / "report" / "images" / PREVIEW
    if preview.is_file():
        shutil.copyfile(preview, out / PREVIEW)
    return summary


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="the arena's run folder (hydra.run.dir)")
    parser.add_argument("--out", type=Path, default=OUT, help="results folder")
    parser.add_argument("--faces", type=int, default=8, help="faces per row of the figure")
    parser.add_argument("--replicates", type=int, default=1000, help="bootstrap replicates")
    args = parser.parse_args(argv)
    write(args.run, args.out, args.faces, args.replicates)
    print(f"written: {args.out / 'summary.json'}, families.md, families.png")
    return args.out / "summary.json"


if __name__ == "__main__":
    try:
        main()
    except FakearenaError as error:  # a sentence naming the file and the fix, no traceback
        sys.exit(f"benchmarks.arena_families: {error}")
