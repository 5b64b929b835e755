"""The detector tables: each trained configuration on each of its test sets (AUC with its CI,
its N in units, its flags and the parameter column), and the evaluations of checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fakearena.report.capacity import (
    CAPACITY_HEADER,
    capacity_note,
    parameter_cell,
)
from fakearena.report.fold import MISSING, Folded
from fakearena.report.records import Configuration
from fakearena.report.table import (
    FACT_HEADERS,
    WARNING_MARK,
    Table,
    record_warnings,
    row_facts,
    test_sets,
)
from fakearena.report.units import grouped_warnings

# Detector columns per test set: (metric name, header).
DETECTOR_COLUMNS = (
    ("auc", "AUC [95% CI]"),
    ("ap", "AP"),
    ("eer", "EER"),
    ("acc", "ACC"),
    ("video_auc", "video AUC"),
)


EVALUATIONS_TITLE = "Evaluations (fakearena evaluate of trained checkpoints)"


def detector_table(
    confs: list[Configuration],
    folded: dict[str, dict[str, Folded]],
    out_dir: Path,
    envs,
    title: str = "Detectors",
) -> Table:
    """One row per (detector configuration, test set), configurations in ranking order.

    The metric columns come right after the name and test set (the facts follow them), so
    they stay in view on a narrow screen. Continuation rows of a configuration leave its name
    and facts blank, so each configuration reads as one block. An AUC computed on a set too
    small to say much is marked, and the note says why.
    """
    headers = ["#", "detector", "test set", *(h for _, h in DETECTOR_COLUMNS), "N"]
    headers += [CAPACITY_HEADER, "train data", *FACT_HEADERS]
    table = Table(title, headers)
    warnings: list[tuple[str, str]] = []
    for rank, conf in enumerate(confs, 1):
        sets = test_sets(conf, folded[conf.key]) or {MISSING: {}}
        for i, (test_set, metrics) in enumerate(sets.items()):
            auc = metrics.get("auc")
            row: list[Any] = [str(rank) if i == 0 else "", conf.label if i == 0 else "", test_set]
            for m, _ in DETECTOR_COLUMNS:
                text = metrics[m].text() if m in metrics else MISSING
                if m == "auc" and auc is not None and (auc.warning or auc.flags):
                    text += f" {WARNING_MARK}"
                    said = auc.warning or "flagged " + ", ".join(auc.flags)
                    warnings.append((f"{conf.label} on {test_set}", said))
                row.append(text)
            row.append(_n_text(auc))
            row.append(parameter_cell(conf.first.record) if i == 0 else "")
            capacity = capacity_note(conf.first.record) if i == 0 else None
            if capacity:
                warnings.append((conf.label, capacity))
            row.append(conf.first.train_name if i == 0 else "")
            row += row_facts(conf, envs, out_dir) if i == 0 else ["", "", ""]
            table.rows.append(row)
        said = [w for _, w in warnings]
        for sentence in record_warnings(conf):
            if not any(w in sentence for w in said):  # a cell's warning is said there
                warnings.append((conf.label, sentence))
    table.note = " ".join(
        [
            "Cells: value [95% CI] for one seed; mean ± std over the seeds listed for several "
            "((k/n) when only k of the n runs have the metric). The AUC's CI resamples the "
            "repeating unit: videos when they group frames, else people, else images (rows of "
            "one video or person are not independent; results.json says which, `ci_unit`).",
            "Seeds link to their run folders.",
            *(f"{WARNING_MARK} {line}." for line in grouped_warnings(warnings)),
        ]
    )
    return table


def _n_text(auc: Folded | None) -> str:
    """N of an AUC: its samples, and the units its CI resampled when those are not samples
    (`1400 (140 videos)`)."""
    if auc is None or auc.n is None:
        return MISSING
    if auc.units is None or auc.units.unit == "samples" or auc.units.n == auc.n:
        return str(auc.n)
    return f"{auc.n} ({auc.units.n} {auc.units.unit})"


def evaluation_table(
    confs: list[Configuration], folded: dict[str, dict[str, Folded]], out_dir: Path, envs
) -> Table:
    """`fakearena evaluate` runs: trained checkpoints scored on other data, one block each.

    A configuration is named after the training configuration it scored when that run is on
    the board (its own rows are in the Detectors table); seeds link to the evaluate runs.
    """
    table = detector_table(confs, folded, out_dir, envs, title=EVALUATIONS_TITLE)
    table.note = (
        "Each row is a trained configuration's checkpoints (one per seed) scored by "
        "`fakearena evaluate` on another set. " + table.note
    )
    return table
