"""leaderboard.csv: one machine-readable row per configuration, nothing shortened."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fakearena.report.capacity import (
    capacity_columns,
)
from fakearena.report.fold import Folded
from fakearena.report.naming import overrides_text
from fakearena.report.records import Configuration


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
