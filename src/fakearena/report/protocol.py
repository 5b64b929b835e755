"""The cross-dataset table in the shape of DeepfakeBench's: a row per detector, a column per
test set, frame-level AUC (with its bootstrap 95% CI) in one table and video-level AUC in
another.

Every cell says what it stands on: its N in repeating units (videos, identities, ...), a mark
when the set is too small or the scores collapsed, and why a CI is missing; the warnings are
listed under the table once per kind, with a count. The in-domain column (the training data's
own test split) is never averaged with the cross-domain sets: the table has a cross-domain
mean of its own, which says how many sets it averages.

Reads only result records: `test[/<set>]/auc` and `test[/<set>]/video_auc` entries of each
detector's `results.json` (`fakearena.report.units` reads their N, flags and warnings).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fakearena.report.units import (
    entry_flags,
    entry_units,
    entry_warnings,
    flag_text,
    grouped_warnings,
    missing_ci_reason,
)
from fakearena.utils.io import atomic_path, atomic_write_text

LEVELS = (("auc", "Frame-level AUC [95% CI]"), ("video_auc", "Video-level AUC [95% CI]"))
CROSS_MEAN = "cross-domain mean"
SEPARATOR = "\n"  # between the sentences of one CSV cell (a sentence may hold "; ")


def protocol_frame(
    records: Mapping[str, dict[str, Any]],
    columns: Mapping[str, str],
    in_domain: str | None = None,
) -> pd.DataFrame:
    """One row per detector (the keys of `records`, in order).

    `columns` maps each test set's column name to its metric prefix in the records (`test`
    for the training data's own test split, `test/<set>` for a further set); `in_domain` names
    the training data's column (default: the first). Per set and level (`auc`, `video_auc`)
    the row holds `<set>/<level>`, `..._ci_low`, `..._ci_high`, `..._n_units`, `..._unit`,
    `..._n_real`, `..._n_fake`, `..._flags` (`;`-joined), `..._warning` (sentences, one a
    line) and `..._ci_reason`; the record's own `warnings` (one a line); then
    `cross_mean/<level>` over the cross-domain sets that have the value and
    `cross_sets/<level>` (how many of them). NaN where a set was not scored.
    """
    own = in_domain if in_domain is not None else next(iter(columns), None)
    cross = [c for c in columns if c != own]
    rows = []
    for name, record in records.items():
        metrics = record.get("metrics") or {}
        row: dict[str, Any] = {"detector": name, "config": record.get("detector") or ""}
        row["warnings"] = SEPARATOR.join(str(w) for w in record.get("warnings") or [])
        for column, prefix in columns.items():
            for level, _ in LEVELS:
                row.update(_cell_columns(f"{column}/{level}", metrics.get(f"{prefix}/{level}")))
        for level, _ in LEVELS:
            finite = [row[f"{c}/{level}"] for c in cross if not math.isnan(row[f"{c}/{level}"])]
            row[f"cross_mean/{level}"] = float(np.mean(finite)) if finite else math.nan
            row[f"cross_sets/{level}"] = len(finite)
        rows.append(row)
    return pd.DataFrame(rows)


def _cell_columns(key: str, entry: Mapping[str, Any] | None) -> dict[str, Any]:
    entry = entry or {}
    ci = entry.get("ci95") or [math.nan, math.nan]
    units = entry_units(entry) if entry else None
    return {
        key: float(entry["value"]) if entry.get("value") is not None else math.nan,
        f"{key}_ci_low": ci[0],
        f"{key}_ci_high": ci[1],
        f"{key}_n_units": units.n if units else None,
        f"{key}_unit": units.unit if units else "",
        f"{key}_n_real": units.real if units else None,
        f"{key}_n_fake": units.fake if units else None,
        f"{key}_flags": ";".join(entry_flags(entry)),
        f"{key}_warning": SEPARATOR.join(entry_warnings(entry)),
        f"{key}_ci_reason": missing_ci_reason(entry) or "",
    }


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def cell_text(row: Mapping[str, Any], key: str) -> str:
    """`0.0417 [0.000, 0.300] N=6 videos ⚠ small N`; `0.0417 (no CI) N=2 videos ⚠ small N`."""
    value = row.get(key, math.nan)
    if not _present(value):
        return "-"
    text = f"{value:.4f}"
    if _present(row.get(f"{key}_ci_low")):
        text += f" [{row[f'{key}_ci_low']:.3f}, {row[f'{key}_ci_high']:.3f}]"
    else:
        text += " (no CI)"
    if _present(row.get(f"{key}_n_units")):
        text += f" N={int(row[f'{key}_n_units'])} {row[f'{key}_unit']}"
    flags = [f for f in str(row.get(f"{key}_flags") or "").split(";") if f]
    return f"{text} {flag_text(flags)}".rstrip()


def _mean_text(row: Mapping[str, Any], level: str, cross: Sequence[str]) -> str:
    value = row[f"cross_mean/{level}"]
    if math.isnan(value) or not cross:
        return "-"
    count = int(row[f"cross_sets/{level}"])
    text = f"{value:.4f} ({count}/{len(cross)} sets)"
    flagged = [c for c in cross if row.get(f"{c}/{level}_flags")]
    if flagged:
        text += f" ⚠ includes {', '.join(flagged)}"
    return text


def table_notes(frame: pd.DataFrame, test_sets: Sequence[str]) -> list[str]:
    """The warnings and missing-CI reasons of every cell, one line per kind with a count."""
    items: list[tuple[str, str]] = []
    for row in frame.to_dict("records"):
        cell_warnings: list[str] = []
        for test_set in test_sets:
            for level, _ in LEVELS:
                key = f"{test_set}/{level}"
                where = f"{row['detector']} on {test_set} ({level.replace('_', ' ')})"
                said = [w for w in str(row.get(f"{key}_warning") or "").split(SEPARATOR) if w]
                items += [(where, w) for w in said]
                cell_warnings += said
                reason = row.get(f"{key}_ci_reason")
                if reason and _present(row.get(key)) and not _explains_ci(said):
                    items.append((where, reason))
        for warning in str(row.get("warnings") or "").split(SEPARATOR):
            # a record repeats its sets' warnings (`test/<set>: ...`): each is said once
            if warning and not any(w in warning for w in cell_warnings):
                items.append((str(row["detector"]), warning))
    return grouped_warnings(items)


def _explains_ci(warnings: Sequence[str]) -> bool:
    """Whether a cell's warnings already say why it has no confidence interval."""
    return any("confidence interval" in w or "no CI" in w for w in warnings)


def protocol_markdown(
    frame: pd.DataFrame,
    test_sets: Sequence[str],
    title: str,
    *,
    in_domain: str | None = None,
    frames_per_video: int | None = None,
    notes: Sequence[str] = (),
) -> str:
    """Both tables as Markdown under `title`: the protocol's settings first, the warnings
    after the tables."""
    own = in_domain if in_domain is not None else (test_sets[0] if test_sets else None)
    cross = [s for s in test_sets if s != own]
    frames = "every face crop" if frames_per_video is None else str(frames_per_video)
    lines = [f"# {title}", ""]
    lines.append(
        f"- frames per video: {frames} (fixed by the protocol for training and every test "
        "set: `frames_per_video` in conf/protocol.yaml; DeepfakeBench uses 32)"
    )
    if own is not None:
        lines.append(
            f"- in-domain: {own} (the training data's test split); cross-domain: "
            f"{', '.join(cross) or 'none'}; the cross-domain mean never includes {own}"
        )
    lines.append(
        "- cells: AUC [95% CI] and N, the repeating units the CI resamples; "
        "⚠ marks a set too small to say much (small N) or scores that barely vary (collapsed)"
    )
    lines += [f"- {note}" for note in notes]
    lines.append("")
    headers = [f"{s} (in-domain)" if s == own else s for s in test_sets]
    for level, heading in LEVELS:
        lines += [f"## {heading}", ""]
        lines.append("| detector | " + " | ".join([*headers, CROSS_MEAN]) + " |")
        lines.append("|---" * (len(test_sets) + 2) + "|")
        for row in frame.to_dict("records"):
            cells = [cell_text(row, f"{test_set}/{level}") for test_set in test_sets]
            cells.append(_mean_text(row, level, cross))
            label = row["detector"]
            if row["config"] and row["config"] != label:
                label += f" ({row['config']})"
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    warnings = table_notes(frame, test_sets)
    if warnings:
        lines += ["## Warnings", "", *(f"- {w}" for w in warnings), ""]
    return "\n".join(lines)


def write_protocol(
    frame: pd.DataFrame,
    test_sets: Sequence[str],
    out_dir: str | os.PathLike[str],
    title: str,
    **markdown: Any,
) -> dict[str, Path]:
    """Write `protocol.csv` and `protocol.md` into `out_dir`; returns their paths.

    `markdown` goes to `protocol_markdown` (in_domain, frames_per_video, notes).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "protocol.csv") as tmp:
        frame.to_csv(tmp, index=False)
    text = protocol_markdown(frame, test_sets, title, **markdown)
    atomic_write_text(out_dir / "protocol.md", text)
    return {"csv": out_dir / "protocol.csv", "md": out_dir / "protocol.md"}
