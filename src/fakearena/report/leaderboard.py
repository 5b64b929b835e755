"""The leaderboard: result records -> `leaderboard.{md,csv,html}` plus PNG plots.

`write_leaderboard` is what `fakearena leaderboard` and the arena call. It reads nothing but
`results.json` records (and the images they point to), folds seeds of one configuration into
mean +- std, ranks configurations by a chosen metric, and writes:
- `leaderboard.md` and `leaderboard.html` (self-contained: PNGs embedded as base64),
- `leaderboard.csv`: one row per configuration, every metric's mean/std/seeds/CI/N,
- `leaderboard_runs.csv`: one row per run, every metric's value and N,
- the test-set table (`report.testsets`): each test set's confound check, first,
- `auc_heatmap.png` (detector x test set frame AUC), `roc_<set>.png`, `images/` (run images),
- in the md/html report, which detector differences on a test set are significant (a paired
  bootstrap over units and seeds, `fakearena.report.significance`) and which are ties.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from fakearena.errors import FakearenaError
from fakearena.report import plots
from fakearena.report.cross_dataset import auc_matrix, cross_dataset_tables
from fakearena.report.csv_export import csv_rows
from fakearena.report.detector_tables import detector_table, evaluation_table
from fakearena.report.evasion import EVASION, evasion_by_generator, sort_by_evasion
from fakearena.report.fold import Folded, fold_all, sort_configurations
from fakearena.report.generators import generator_tables
from fakearena.report.heatmap import auc_heatmap
from fakearena.report.html import Figure, render_html
from fakearena.report.naming import overrides_text
from fakearena.report.records import (
    Configuration,
    RunRecord,
    collect_records,
    group_configurations,
)
from fakearena.report.significance import significance_table
from fakearena.report.table import Link, Table, environment_ids, environment_table, own_test_set
from fakearena.report.testsets import is_testset_record, testset_table
from fakearena.results import now_iso
from fakearena.utils.io import atomic_write_text

DETECTOR_FALLBACK_SORT = ("test/auc", "val/auc")
GENERATOR_FALLBACK_SORT = ("val/fid", "test/fid", "val/kid_mean", "val/mse", "test/mse")
TITLE = "fakearena leaderboard"


def write_leaderboard(
    records_or_dirs: Iterable[str | os.PathLike[str] | Mapping[str, Any]],
    out_dir: str | os.PathLike[str],
    sort_by: str = "test/auc",
    generator_sort_by: str | None = None,
) -> dict[str, Path]:
    """Write the leaderboard of the given run folders / results.json files / record dicts.

    Args:
        records_or_dirs: run folders (searched recursively for results.json), results.json
            files, or result records as dicts.
        out_dir: where the report goes (created).
        sort_by: metric key that ranks configurations; lower-is-better metrics (FID, EER, MSE,
            ...) rank ascending. Tables whose runs lack it rank by their usual metric instead.
        generator_sort_by: what ranks the generators instead of `sort_by`: a metric key, or
            `evasion` (the best detector's AUC on each generator's test fakes, lowest first).

    Returns:
        Name -> path of everything written ("md", "csv", "runs_csv", "html", "auc_heatmap",
        "roc_<set>").
    """
    runs = collect_records(records_or_dirs)
    if not runs:
        raise FakearenaError("no result records given; pass run folders holding results.json")
    testsets = [r for r in runs if is_testset_record(r)]
    runs = [r for r in runs if not is_testset_record(r)]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    confs = group_configurations(runs)
    folded = {conf.key: fold_all(conf) for conf in confs}
    detect = [c for c in confs if c.first.kind == "detect"]
    detectors = _ranked([c for c in detect if not c.evaluation], folded, sort_by, True)
    evaluations = _ranked_evaluations([c for c in detect if c.evaluation], folded)
    generators = [c for c in confs if c.first.kind != "detect"]
    evasion = evasion_by_generator(generators, detectors, folded) if detectors else None
    generator_key = generator_sort_by or sort_by
    if generator_key == EVASION and evasion is not None:
        generators = sort_by_evasion(generators, evasion)
    else:
        generators = _ranked(generators, folded, generator_key, False)
    envs = environment_ids(detectors + evaluations + generators)
    written: dict[str, Path] = {}
    blocks: list[Any] = []
    if testsets:  # first: it says whether the AUCs below measure forgeries or faces
        blocks.append(testset_table(testsets))
    if detectors:
        blocks.append(detector_table(detectors, folded, out, envs))
        significance = significance_table(detectors)
        if significance is not None:
            blocks.append(significance)
    if evaluations:
        blocks.append(evaluation_table(evaluations, folded, out, envs))
    if detectors or evaluations:
        rows, columns, values = auc_matrix(detectors, folded, evaluations)
        if columns:
            heatmap = auc_heatmap(rows, columns, values, out / "auc_heatmap.png")
            written["auc_heatmap"] = heatmap
            blocks.append(("Detector × test set AUC", [Figure("auc_heatmap.png", heatmap)]))
        blocks.extend(cross_dataset_tables(detectors, folded))
        rocs = _roc_figures(detectors + evaluations, out)
        written.update({f"roc_{f.title}": f.path for f in rocs})
        if rocs:
            blocks.append(("ROC curves (first seed of each configuration)", rocs))
    if generators:
        blocks.extend(generator_tables(generators, folded, out, envs, evasion))
    gallery = plots.copy_gallery(detectors + evaluations + generators, out)
    if gallery:
        figures = [Figure(title, path) for title, path in gallery]
        blocks.append(("Run images: sample grids, swap previews, plots", figures))
    blocks.append(environment_table(envs))
    meta = [
        f"{_count(len(runs), 'run')} in {_count(len(confs), 'configuration')}; "
        f"generated {now_iso()}",
        f"ranked by {sort_by} (where the runs have it)"
        + (f", generators by {generator_sort_by}" if generator_sort_by else "")
        + "; missing values are shown as -",
    ]
    written["md"] = atomic_write_text(out / "leaderboard.md", render_markdown(meta, blocks, out))
    written["html"] = atomic_write_text(out / "leaderboard.html", render_html(TITLE, meta, blocks))
    written["csv"] = write_csv(detectors + evaluations + generators, folded, out)
    written["runs_csv"] = write_runs_csv(detectors + evaluations + generators, out)
    return written


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _ranked(
    confs: list[Configuration], folded: dict[str, dict[str, Folded]], sort_by: str, detect: bool
) -> list[Configuration]:
    candidates = (sort_by, *(DETECTOR_FALLBACK_SORT if detect else GENERATOR_FALLBACK_SORT))
    for key in candidates:
        if any(key in folded[c.key] for c in confs):
            return sort_configurations(confs, folded, key)
    return sorted(confs, key=lambda c: c.label)


def _ranked_evaluations(
    confs: list[Configuration], folded: dict[str, dict[str, Folded]]
) -> list[Configuration]:
    """Evaluations by the set they scored, then best frame AUC first (missing ones last)."""

    def order(conf: Configuration) -> tuple[str, bool, float, str]:
        test_set = own_test_set(conf.first)
        auc = folded[conf.key].get(f"test/{test_set}/auc")
        return (test_set, auc is None, 0.0 if auc is None else -auc.mean, conf.label)

    return sorted(confs, key=order)


def _roc_figures(confs: list[Configuration], out: Path) -> list[Figure]:
    by_set: dict[str, list[plots.Curve]] = {}
    for conf in confs:
        run = _first_with_predictions(conf)
        if run is None:
            continue
        own = own_test_set(run)
        metrics = run.record.get("metrics") or {}
        for test_set, path in plots.prediction_files(run, own).items():
            entry = metrics.get("test/auc" if test_set == own else f"test/{test_set}/auc")
            curve = plots.Curve(conf.label, path, plots.roc_note(entry))
            by_set.setdefault(test_set, []).append(curve)
    figures = []
    for test_set, curves in by_set.items():
        path = plots.roc_curves(test_set, curves, out / f"roc_{plots.safe_name(test_set)}.png")
        if path is not None:
            figures.append(Figure(test_set, path))
    return figures


def _first_with_predictions(conf: Configuration) -> RunRecord | None:
    for run in sorted(conf.runs, key=lambda r: str(r.seed)):
        if plots.prediction_files(run, own_test_set(run)):
            return run
    return None


def write_csv(confs: list[Configuration], folded: dict[str, dict[str, Folded]], out: Path) -> Path:
    """`leaderboard.csv`: one row per configuration, metric columns `key`, `key:std`, ..."""
    frame = pd.DataFrame(csv_rows(confs, folded, out))
    return atomic_write_text(out / "leaderboard.csv", frame.to_csv(index=False))


def write_runs_csv(confs: list[Configuration], out: Path) -> Path:
    """`leaderboard_runs.csv`: one row per run (no folding), each metric's value and N."""
    rows = []
    for conf in confs:
        for run in sorted(conf.runs, key=lambda r: str(r.seed)):
            row: dict[str, Any] = {
                "name": conf.label,
                "task": run.record.get("task"),
                "command": run.command,
                "seed": run.seed,
                "train_data": run.train_name,
                "commit": run.commit,
                "run_dir": str(run.run_dir),
                "overrides": overrides_text(run.record),
            }
            for key, entry in sorted((run.record.get("metrics") or {}).items()):
                if isinstance(entry, dict) and "value" in entry:
                    row[key] = entry["value"]
                    row[f"{key}:n"] = entry.get("n")
            rows.append(row)
    return atomic_write_text(out / "leaderboard_runs.csv", pd.DataFrame(rows).to_csv(index=False))


def render_markdown(meta: list[str], blocks: list[Any], out: Path) -> str:
    """The report as GitHub-flavoured markdown (images referenced beside it)."""
    lines = [f"# {TITLE}", "", *(f"{m}  " for m in meta), ""]
    for block in blocks:
        if isinstance(block, Table):
            lines += [f"## {block.title}", ""]
            if block.note:
                lines += [f"_{block.note}_", ""]
            lines.append("| " + " | ".join(block.headers) + " |")
            lines.append("|" + "|".join("---" for _ in block.headers) + "|")
            for row in block.rows:
                lines.append("| " + " | ".join(_md_cell(c) for c in row) + " |")
            lines.append("")
        else:
            title, figures = block
            lines += [f"## {title}", ""]
            for fig in figures:
                rel = Path(os.path.relpath(fig.path, out)).as_posix()
                lines.append(f"![{fig.title}]({rel})")
            lines.append("")
    return "\n".join(lines)


def _md_cell(value: str | list[Link]) -> str:
    if isinstance(value, list):
        return " ".join(f"[{link.text}]({link.href})" for link in value)
    return str(value).replace("|", "\\|")
