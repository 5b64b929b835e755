"""The cross-dataset table in the shape of DeepfakeBench's: a row per detector, a column per
test set, frame-level AUC (with its bootstrap 95% CI) in one table and video-level AUC in
another, each with the mean over the test sets.

Reads only result records: `test[/<set>]/auc` (with `ci95`) and `test[/<set>]/video_auc` of
each detector's `results.json`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fakearena.utils.io import atomic_path, atomic_write_text

LEVELS = (("auc", "Frame-level AUC [95% CI]"), ("video_auc", "Video-level AUC"))


def protocol_frame(
    records: Mapping[str, dict[str, Any]], columns: Mapping[str, str]
) -> pd.DataFrame:
    """One row per detector (the keys of `records`, in order).

    `columns` maps each test set's column name to its metric prefix in the records (`test`
    for the training data's own test split, `test/<set>` for a further set). Per set the row
    holds `<set>/auc`, `<set>/auc_ci_low`, `<set>/auc_ci_high` and `<set>/video_auc`, then
    `mean/auc` and `mean/video_auc` over the sets that have the value (NaN where a set was not
    scored).
    """
    rows = []
    for name, record in records.items():
        metrics = record.get("metrics") or {}
        row: dict[str, Any] = {"detector": name, "config": record.get("detector") or ""}
        for column, prefix in columns.items():
            entry = metrics.get(f"{prefix}/auc") or {}
            ci = entry.get("ci95") or [math.nan, math.nan]
            row[f"{column}/auc"] = entry.get("value", math.nan)
            row[f"{column}/auc_ci_low"], row[f"{column}/auc_ci_high"] = ci
            video = metrics.get(f"{prefix}/video_auc") or {}
            row[f"{column}/video_auc"] = video.get("value", math.nan)
        for level, _ in LEVELS:
            finite = [row[f"{c}/{level}"] for c in columns if not math.isnan(row[f"{c}/{level}"])]
            row[f"mean/{level}"] = float(np.mean(finite)) if finite else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _number(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.4f}"


def protocol_markdown(frame: pd.DataFrame, test_sets: Sequence[str], title: str) -> str:
    """Both tables as Markdown under `title`."""
    lines = [f"# {title}", ""]
    for level, heading in LEVELS:
        lines += [f"## {heading}", ""]
        lines.append("| detector | " + " | ".join([*test_sets, "mean"]) + " |")
        lines.append("|---" * (len(test_sets) + 2) + "|")
        for row in frame.to_dict("records"):
            cells = []
            for test_set in test_sets:
                text = _number(row[f"{test_set}/{level}"])
                low = row.get(f"{test_set}/auc_ci_low", math.nan)
                if level == "auc" and not math.isnan(low):
                    text += f" [{low:.3f}, {row[f'{test_set}/auc_ci_high']:.3f}]"
                cells.append(text)
            cells.append(_number(row[f"mean/{level}"]))
            label = row["detector"]
            if row["config"] and row["config"] != label:
                label += f" ({row['config']})"
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def write_protocol(
    frame: pd.DataFrame, test_sets: Sequence[str], out_dir: str | os.PathLike[str], title: str
) -> dict[str, Path]:
    """Write `protocol.csv` and `protocol.md` into `out_dir`; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "protocol.csv") as tmp:
        frame.to_csv(tmp, index=False)
    atomic_write_text(out_dir / "protocol.md", protocol_markdown(frame, test_sets, title))
    return {"csv": out_dir / "protocol.csv", "md": out_dir / "protocol.md"}
