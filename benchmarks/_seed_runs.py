"""What the seeded benchmarks read from an arena's detector runs (detectors/<name>/seed<k>/):
one AUC cell across seeds, and the paired bootstrap of one row against another.

Shared by `benchmarks.detector_zoo` (each method against its ablation row) and
`benchmarks.arena_families` (each detector trained on all families against the same detector
trained without one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fakearena.errors import DataError
from fakearena.report.plots import prediction_files
from fakearena.report.records import RunRecord
from fakearena.report.significance import compare
from fakearena.report.table import own_test_set


def auc_cell(runs: list[RunRecord], test_set: str) -> dict[str, Any]:
    """`test/<test_set>/auc` of every run (one per seed): the values, mean, std (ddof 1; None
    with one seed), the units the CIs resample and any flag of any seed."""
    entries = [r.record["metrics"].get(f"test/{test_set}/auc") for r in runs]
    if any(e is None for e in entries):
        folders = [str(r.run_dir) for r, e in zip(runs, entries) if e is None]
        raise DataError(f"runs {folders} have no test/{test_set}/auc; rerun them with the arena")
    aucs = [float(e["value"]) for e in entries]
    return {
        "aucs": [round(a, 4) for a in aucs],
        "mean": round(float(np.mean(aucs)), 4),
        "std": round(float(np.std(aucs, ddof=1)), 4) if len(aucs) > 1 else None,
        "units": entries[0].get("n_units"),
        "unit": entries[0].get("ci_unit"),
        "flags": sorted({str(f) for e in entries for f in e.get("flags") or []}),
    }


def seed_predictions(runs: list[RunRecord], test_set: str) -> dict[Any, Path]:
    """Seed -> the predictions file each run wrote for `test_set` (its `artifacts`)."""
    found = {}
    for run in runs:
        path = prediction_files(run, own_test_set(run)).get(test_set)
        if path is not None:
            found[run.seed] = path
    return found


def paired_difference(
    a: list[RunRecord], b: list[RunRecord], test_set: str, replicates: int, seed: int
) -> dict[str, Any] | None:
    """AUC(a) − AUC(b) on `test_set`'s rows by a paired bootstrap across seed pairs (seed k
    with seed k, units resampled on the same rows); None without predictions of both."""
    found = compare(
        seed_predictions(a, test_set), seed_predictions(b, test_set), replicates, seed
    )
    if found is None:
        return None
    result = found["result"]
    return {
        "delta": round(result.delta, 4),
        "ci95": None if result.ci95 is None else [round(v, 4) for v in result.ci95],
        "p": None if result.p_value is None else round(result.p_value, 4),
        "verdict": result.verdict,
        "seed_pairs": result.seeds,
        "rows": found["rows"],
        "units": result.n_units,
        "unit": result.unit,
    }
