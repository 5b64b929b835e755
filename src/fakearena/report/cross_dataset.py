"""The detector x test set AUC matrix (the heatmap's cells) and the cross-dataset tables."""

from __future__ import annotations

from typing import Any

import numpy as np

from fakearena.report.fold import MISSING, Folded
from fakearena.report.records import Configuration, RunRecord
from fakearena.report.table import Table, own_test_set, test_sets


def auc_matrix(
    confs: list[Configuration],
    folded: dict[str, dict[str, Folded]],
    evaluations: list[Configuration] = (),
) -> tuple[list[str], list[str], list[list[Folded | None]]]:
    """Detector configuration x test set frame AUC (rows, columns, values); per-source slices
    of a set are not columns (they stay in the detector table).

    An evaluation fills the row of the configuration it scored (a set the training run also
    tested keeps the training run's value); evaluations whose configuration is not on the
    board share a row per label (per checkpoint run).
    """
    labels = [conf.label for conf in confs]
    row_of: dict[str, int] = {conf.key: i for i, conf in enumerate(confs)}
    per_row = [_whole_set_aucs(c, folded) for c in confs]
    for conf in evaluations:
        found = _whole_set_aucs(conf, folded)
        owner = conf.evaluates if conf.evaluates in row_of else f"label:{conf.label}"
        if owner not in row_of:
            row_of[owner] = len(labels)
            labels.append(conf.label)
            per_row.append({})
        for test_set, value in found.items():
            per_row[row_of[owner]].setdefault(test_set, value)
    columns = list(dict.fromkeys(s for sets in per_row for s in sets))
    values = [[sets.get(col) for col in columns] for sets in per_row]
    return labels, columns, values


def _whole_set_aucs(conf: Configuration, folded: dict[str, dict[str, Folded]]) -> dict:
    """Test set -> frame AUC, per-source slices (`<set>/source=<s>`) left out: a slice is
    part of a test set, not a test set of its own."""
    sets = test_sets(conf, folded[conf.key])
    return {s: m.get("auc") for s, m in sets.items() if "source=" not in s}


def cross_dataset_tables(
    confs: list[Configuration], folded: dict[str, dict[str, Folded]]
) -> list[Table]:
    """Per detector: train set (rows) x test set (columns) frame AUC."""
    tables = []
    models = dict.fromkeys(conf.first.model for conf in confs)
    for model in models:
        mine = [c for c in confs if c.first.model == model]
        trains = list(dict.fromkeys(c.first.train_name for c in mine))
        if len(trains) < 2:
            continue  # one train set: the detector x test set heatmap already shows it
        cells: dict[tuple[str, str], list[RunRecord]] = {}
        columns: list[str] = []
        for conf in mine:
            for test_set in test_sets(conf, folded[conf.key]):
                columns.append(test_set)
                cells.setdefault((conf.first.train_name, test_set), []).append(conf)
        columns = list(dict.fromkeys(columns))
        table = Table(f"Cross-dataset AUC: {model} (train set × test set)", ["train \\ test"])
        table.headers += columns
        for train in trains:
            row: list[Any] = [train]
            for col in columns:
                group = cells.get((train, col), [])
                values = [folded[c.key] for c in group]
                keys = [_auc_key(c, col) for c in group]
                row.append(_pooled_cell(values, keys))
            table.rows.append(row)
        table.note = "Frame AUC; configurations of one detector and train set are pooled."
        tables.append(table)
    return tables


def _auc_key(conf: Configuration, test_set: str) -> str:
    return "test/auc" if test_set == own_test_set(conf.first) else f"test/{test_set}/auc"


def _pooled_cell(values: list[dict[str, Folded]], keys: list[str]) -> str:
    found = [v[k] for v, k in zip(values, keys) if k in v]
    if not found:
        return MISSING
    if len(found) == 1:
        return found[0].text()
    means = [f.mean for f in found]
    return Folded(float(np.mean(means)), float(np.std(means, ddof=1)), len(found)).text()
