"""The leaderboard's significance table: which detector differences on a test set hold.

For every test set and every pair of detector configurations that scored it, the paired
bootstrap of `fakearena.metrics.significance` runs on the rows both scored (joined by
`path` from their predictions.csv files), seed k of one paired with seed k of the other
(the seeds both have; without a common seed, the seeds in sorted order). A difference whose
95% interval excludes 0 is significant; any other is a tie.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fakearena.metrics.predictions import read_predictions
from fakearena.metrics.significance import (
    TIE,
    UNTESTED,
    PairedComparison,
    paired_bootstrap_auc,
)
from fakearena.metrics.units import PLURAL
from fakearena.report.fold import number
from fakearena.report.plots import prediction_files
from fakearena.report.records import Configuration
from fakearena.report.table import Table, own_test_set

TITLE = "Significance: paired differences of detectors on each test set"
HEADERS = ["test set", "A", "B", "AUC(A) − AUC(B) [95% CI]", "p", "seed pairs", "units", "verdict"]


def predictions_by_set(conf: Configuration) -> dict[str, dict[Any, Path]]:
    """Test set -> {seed: predictions file} of a configuration's runs."""
    found: dict[str, dict[Any, Path]] = {}
    for run in conf.runs:
        for test_set, path in prediction_files(run, own_test_set(run)).items():
            found.setdefault(test_set, {})[run.seed] = path
    return found


def _seed_pairs(a: dict[Any, Path], b: dict[Any, Path]) -> list[tuple[Path, Path]]:
    common = sorted(set(a) & set(b), key=str)
    if common:
        return [(a[s], b[s]) for s in common]
    return list(zip((a[s] for s in sorted(a, key=str)), (b[s] for s in sorted(b, key=str))))


def paired_rows(pairs: list[tuple[Path, Path]]) -> pd.DataFrame | None:
    """One table of the rows every file scored: path, label, video_id, identity, a<k>, b<k>.

    None when a file has no `path` column, the files share no row, or they disagree on a
    row's label.
    """
    joined: pd.DataFrame | None = None
    for k, files in enumerate(pairs):
        for side, file in zip("ab", files):
            frame = read_predictions(file)
            if "path" not in frame:  # rows cannot be matched
                return None
            keep = [c for c in ("path", "label", "video_id", "identity") if c in frame]
            part = frame[keep].assign(**{f"{side}{k}": frame["prob"]})
            if joined is None:
                joined = part
                continue
            joined = joined.merge(part, on="path", suffixes=("", "_other"))
            if "label_other" in joined and (joined["label"] != joined["label_other"]).any():
                return None
            joined = joined.drop(columns=[c for c in joined if c.endswith("_other")])
    return None if joined is None or joined.empty else joined


def compare(
    a: dict[Any, Path], b: dict[Any, Path], n_bootstrap: int, seed: int
) -> dict[str, Any] | None:
    """The paired comparison of two configurations' predictions on one test set."""
    pairs = _seed_pairs(a, b)
    rows = paired_rows(pairs)
    if rows is None or rows["label"].nunique() < 2:
        return None
    k = range(len(pairs))
    result, _ = paired_bootstrap_auc(
        np.stack([rows[f"a{i}"].to_numpy() for i in k]),
        np.stack([rows[f"b{i}"].to_numpy() for i in k]),
        rows["label"].to_numpy(),
        rows["video_id"].astype(str).to_numpy() if "video_id" in rows else None,
        rows["identity"].astype(str).to_numpy() if "identity" in rows else None,
        n_bootstrap=n_bootstrap,
        seed=seed,
    )
    return {"result": result, "rows": len(rows)}


def _cells(result: PairedComparison) -> list[str]:
    """Difference [CI], p, seed pairs, units (with flags), and an empty verdict cell that the
    caller fills with `_verdict` (it needs the detectors' names)."""
    delta = number(result.delta)
    if result.ci95 is not None:
        low, high = (number(v, like=result.delta) for v in result.ci95)
        delta += f" [{low}, {high}]"
    units = f"{result.n_units} {PLURAL[result.unit]}"
    if result.flags:
        units += f" ({', '.join(result.flags)})"
    p_value = "-" if result.p_value is None else f"{result.p_value:.3f}"
    return [delta, p_value, str(result.seeds), units, ""]


def _verdict(result: PairedComparison, first: str, second: str) -> str:
    return {
        "A": f"{first} better",
        "B": f"{second} better",
        TIE: "tie (no significant difference)",
        UNTESTED: f"untested: fewer than 2 {PLURAL[result.unit]} of a class",
    }[result.verdict]


def significance_table(
    detectors: list[Configuration], n_bootstrap: int = 1000, seed: int = 0
) -> Table | None:
    """One row per (test set, pair of configurations), in ranking order; None without pairs."""
    by_conf = {conf.key: predictions_by_set(conf) for conf in detectors}
    test_sets = sorted({name for sets in by_conf.values() for name in sets})
    table = Table(TITLE, list(HEADERS))
    for test_set in test_sets:
        scored = [c for c in detectors if test_set in by_conf[c.key]]
        for first, second in combinations(scored, 2):
            found = compare(
                by_conf[first.key][test_set], by_conf[second.key][test_set], n_bootstrap, seed
            )
            if found is None:
                continue
            table.rows.append([test_set, first.label, second.label, *_cells(found["result"])])
            table.rows[-1][-1] = _verdict(found["result"], first.label, second.label)
    if not table.rows:
        return None
    table.note = (
        "A paired bootstrap over the units of the rows both detectors scored (videos, else "
        "people, else images; resampled per class): each replicate scores A and B on the same "
        "resampled rows and averages AUC(A) − AUC(B) over seed pairs (seed k of A with seed k "
        "of B), which it also resamples. A difference whose 95% interval excludes 0 is "
        f"significant; any other is a tie; with a single unit of a class nothing is tested. "
        f"{n_bootstrap} replicates, seed {seed}."
    )
    return table
