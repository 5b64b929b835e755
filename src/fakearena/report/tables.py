"""Leaderboard tables, independent of how they are rendered (markdown, HTML, CSV).

Detector metric keys name their test set: `test/<set>/<metric>`; a plain `test/<metric>` is
the training data's own test split, named after the record's test manifest(s).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fakearena.report.capacity import (
    CAPACITY_HEADER,
    capacity_columns,
    capacity_note,
    parameter_cell,
)
from fakearena.report.fold import MISSING, Folded, cell
from fakearena.report.naming import overrides_text
from fakearena.report.records import Configuration, RunRecord
from fakearena.report.units import grouped_warnings

# Detector columns per test set: (metric name, header).
DETECTOR_COLUMNS = (
    ("auc", "AUC [95% CI]"),
    ("ap", "AP"),
    ("eer", "EER"),
    ("acc", "ACC"),
    ("video_auc", "video AUC"),
)
# Generator metric names in display order; other metrics follow alphabetically.
GENERATOR_ORDER = (
    "fid",
    "kid_mean",
    "kid",
    "kid_std",
    "precision",
    "recall",
    "density",
    "coverage",
    "truth_psnr",
    "truth_ssim",
    "truth_gain_db",
    "closer_to_truth",
    "source_psnr",
    "source_ssim",
    "mse",
    "psnr",
    "ssim",
)
# metrics kept in leaderboard.csv but not shown as generator columns (context of the shown
# ones: doing nothing's scores behind truth_gain_db, and the SSIM twin of truth_psnr)
GENERATOR_CSV_ONLY = ("source_psnr", "source_ssim", "truth_ssim")
FLOOR_SUFFIX = "_floor"  # `<stage>/<metric>_floor`: the metric between two real samples
FAKES_STAGE = "fakes"  # a fake set's own record (truth metrics of swaps and blends)
ENV_PACKAGES = ("torch", "lightning", "timm", "torchmetrics", "numpy", "fakearena")
EVALUATIONS_TITLE = "Evaluations (fakearena evaluate of trained checkpoints)"
WARNING_MARK = "⚠"  # after an AUC computed on a set too small to say much


@dataclass
class Link:
    """A table cell that links somewhere (a run folder)."""

    text: str
    href: str


@dataclass
class Table:
    """A titled table: header names and rows of cells (text or a list of links)."""

    title: str
    headers: list[str]
    rows: list[list[str | list[Link]]] = field(default_factory=list)
    note: str = ""


def own_test_set(run: RunRecord) -> str:
    """The name of the run's own test split (what plain `test/<metric>` keys measure)."""
    # the run's own split comes first; later entries are extra test sets named in their keys
    names = [str(ref.get("name")) for ref in run.record.get("test_data") or [] if ref.get("name")]
    return names[0] if names else run.train_name


def split_test_key(key: str, own: str) -> tuple[str, str] | None:
    """`test/<set>/<metric>` -> (set, metric); `test/<metric>` -> (own, metric); else None."""
    parts = key.split("/")
    if parts[0] != "test" or len(parts) < 2:
        return None
    if len(parts) == 2:
        return own, parts[1]
    return "/".join(parts[1:-1]), parts[-1]


def test_sets(conf: Configuration, folded: dict[str, Folded]) -> dict[str, dict[str, Folded]]:
    """Test set -> metric name -> folded value, the configuration's own test split first."""
    own = own_test_set(conf.first)
    sets: dict[str, dict[str, Folded]] = {}
    for key in sorted(folded, key=lambda k: (k.count("/"), k)):
        split = split_test_key(key, own)
        if split is not None:
            sets.setdefault(split[0], {})[split[1]] = folded[key]
    return {name: values for name, values in sets.items() if _shown(name, sets)}


def _shown(name: str, sets: dict[str, Any]) -> bool:
    """Per-source rows (`<set>/source=<s>`) only where the set mixes several fake sources."""
    if "source=" not in name:
        return True
    parent = name.rsplit("source=", 1)[0].rstrip("/")
    siblings = [
        n for n in sets if "source=" in n and n.rsplit("source=", 1)[0].rstrip("/") == parent
    ]
    return len(siblings) >= 2


def environment_ids(confs: list[Configuration]) -> dict[str, str]:
    """Short names (E1, E2, ...) for each distinct set of package versions."""
    ids: dict[str, str] = {}
    for conf in confs:
        for run in conf.runs:
            env = package_text(run)
            if env not in ids:
                ids[env] = f"E{len(ids) + 1}"
    return ids


def package_text(run: RunRecord) -> str:
    packages = (run.record.get("environment") or {}).get("packages") or {}
    shown = [f"{p} {packages[p]}" for p in ENV_PACKAGES if p in packages]
    return ", ".join(shown) or "unknown"


def run_links(conf: Configuration, out_dir: Path) -> list[Link]:
    """Links to each run folder of a configuration, named by seed, relative to the report."""
    links = []
    for run in sorted(conf.runs, key=lambda r: str(r.seed)):
        href = Path(os.path.relpath(run.run_dir, out_dir)).as_posix()
        # a record without a seed (a fake set's own record) links as "record"
        links.append(Link("record" if run.seed is None else str(run.seed), href))
    return links


def _row_facts(conf: Configuration, envs: dict[str, str], out_dir: Path) -> list[Any]:
    """Seeds (each linking to its run folder), commit(s) and environment id(s)."""
    commits = sorted({r.commit for r in conf.runs})
    env = sorted({envs[package_text(r)] for r in conf.runs})
    return [run_links(conf, out_dir), ", ".join(commits), ", ".join(env)]


FACT_HEADERS = ["seeds (runs)", "commit", "env"]


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
            row += _row_facts(conf, envs, out_dir) if i == 0 else ["", "", ""]
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


def record_warnings(conf: Configuration) -> list[str]:
    """The record-level `warnings` of a configuration's runs, each sentence once."""
    found = [str(w) for run in conf.runs for w in run.record.get("warnings") or []]
    return list(dict.fromkeys(found))


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


def generator_keys(confs: list[Configuration], folded: dict[str, dict[str, Folded]]) -> list[str]:
    """Generator quality keys to show, in display order: each configuration's test metrics
    (its val metrics when it has no test metrics) and its fake set's (`fakes/...`), floors
    folded into their metric's cell.

    A GAN's headline reference (`test/<metric>`) comes first, then its further references
    (`test/unseen_people/<metric>`: the people it never saw), each in metric order.
    """
    keys: set[str] = set()
    for conf in confs:
        mine = [k for k in folded[conf.key] if _quality_key(k)]
        tested = [k for k in mine if k.startswith("test/")]
        keys.update(tested or [k for k in mine if k.startswith("val/")])
        keys.update(k for k in mine if k.startswith(FAKES_STAGE + "/"))
    keys = {k for k in keys if not (k.endswith(FLOOR_SUFFIX) and k[: -len(FLOOR_SUFFIX)] in keys)}
    keys = {k for k in keys if k.rsplit("/", 1)[-1] not in GENERATOR_CSV_ONLY}

    def order(key: str) -> tuple[str, int, str, str]:
        parts = key.split("/")
        reference = parts[1] if len(parts) == 3 else ""
        name = parts[-1]
        rank = GENERATOR_ORDER.index(name) if name in GENERATOR_ORDER else len(GENERATOR_ORDER)
        return (reference, rank, name, key)

    return sorted(keys, key=order)


def _quality_key(key: str) -> bool:
    """`stage/metric`, or `stage/<reference>/<metric>` of a further reference; per-identity
    breakdowns (`val/mse/<person>`) stay in the CSV."""
    parts = key.split("/")
    if len(parts) == 2:
        return True
    return (
        len(parts) == 3
        and parts[0] != FAKES_STAGE  # a fake set's per-split numbers stay in the CSV
        and parts[2].removesuffix(FLOOR_SUFFIX) in GENERATOR_ORDER
    )


def _quality_cell(values: dict[str, Folded], key: str) -> str:
    """A metric's cell, with its real-vs-real floor beside it where the run has one."""
    text = cell(values, key)
    if text != MISSING and key + FLOOR_SUFFIX in values:
        text += f" (floor {values[key + FLOOR_SUFFIX].text()})"
    return text


def generator_table(
    confs: list[Configuration],
    folded: dict[str, dict[str, Folded]],
    out_dir: Path,
    envs,
    evasion: dict[str, Any] | None = None,
) -> Table:
    """One row per generator configuration: quality (FID with its floor, KID, PRDC, truth
    PSNR, ...), then each detector's AUC on its test fakes and the best one (evasion).

    `evasion` maps a configuration key to its `fakearena.report.evasion.Evasion`.
    """
    keys = generator_keys(confs, folded)
    fid_key = next((k for k in keys if k.endswith("/fid")), None)
    detectors = list(dict.fromkeys(d for e in (evasion or {}).values() for d in e.aucs))
    headers = ["#", "generator", "train data", *keys, "N (FID)"]
    headers += [f"AUC {d}" for d in detectors]
    if evasion is not None:
        headers.append("evasion: best AUC (detector)")
    table = Table("Generators", [*headers, *FACT_HEADERS])
    for rank, conf in enumerate(confs, 1):
        values = folded[conf.key]
        n = values[fid_key].n if fid_key and fid_key in values else None
        row: list[Any] = [str(rank), conf.label, conf.first.train_name]
        row += [_quality_cell(values, k) for k in keys]
        row.append(MISSING if n is None else str(n))
        if evasion is not None:
            mine = evasion[conf.key]
            row += [mine.aucs[d].text() if d in mine.aucs else MISSING for d in detectors]
            row.append(mine.best_text())
        table.rows.append([*row, *_row_facts(conf, envs, out_dir)])
    table.note = (
        "Quality on the test split (val where a run has none); FID is biased at small N: "
        "compare FID only at equal N, beside its floor (the same score between two disjoint "
        "real samples of these sizes: what a perfect generator would get); KID is unbiased. "
        "AUC <detector>: that detector's frame AUC on the generator's test fakes (the test set "
        "named like the generator) against real test faces; evasion is the best of them: "
        "lower is a better generator, 0.5 is chance."
    )
    return table


def environment_table(envs: dict[str, str]) -> Table:
    """The package versions behind each `env` id used in the tables."""
    table = Table("Environments", ["env", "packages"])
    table.rows = [[ident, text] for text, ident in envs.items()]
    return table


def csv_rows(
    confs: list[Configuration], folded: dict[str, dict[str, Folded]], out_dir: Path
) -> list[dict[str, Any]]:
    """One machine-readable row per configuration: every metric's mean, std, seeds, CI, N,
    and where known the units its CI resampled and its flags (small_n, collapsed)."""
    rows = []
    for rank, conf in enumerate(confs, 1):
        run = conf.first
        row: dict[str, Any] = {
            "rank": rank,
            "name": conf.label,
            "task": run.record.get("task"),
            "command": run.command,
            "detector": run.record.get("detector") or "",
            "generator": run.record.get("generator") or "",
            "train_data": run.train_name,
            "seeds": " ".join(str(s) for s in conf.seeds),
            "n_runs": len(conf.runs),
            "commit": " ".join(sorted({r.commit for r in conf.runs})),
            "packages": json.dumps((run.record.get("environment") or {}).get("packages") or {}),
            "run_dirs": " ".join(str(r.run_dir) for r in conf.runs),
            "overrides": overrides_text(run.record),  # whole: the name shortens them
            **capacity_columns(run.record),
        }
        for key, value in folded[conf.key].items():
            row[key] = value.mean
            row[f"{key}:std"] = value.std
            row[f"{key}:seeds"] = value.count
            row[f"{key}:ci95_low"] = value.ci95[0] if value.ci95 else None
            row[f"{key}:ci95_high"] = value.ci95[1] if value.ci95 else None
            row[f"{key}:n"] = value.n
            if value.units is not None and value.units.unit != "samples":
                row[f"{key}:units"] = value.units.text()  # e.g. 6 videos (3 real, 3 fake)
            if value.flags:
                row[f"{key}:flags"] = ";".join(value.flags)
        rows.append(row)
    return rows
