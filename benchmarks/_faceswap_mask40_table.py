"""The table of `benchmarks/results/faceswap/README.md` ("40 people"), from faceswap_mask40.json.

    python -m benchmarks._faceswap_mask40_table   # prints the rows the README must hold
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "faceswap_mask40.json"
HEADER = (
    "| recipe | epochs (steps) | train CPU-min | truth PSNR | gain vs doing nothing | "
    "closer to truth | outside RMSE (changed) | donor ID top-1 |\n"
    "|---|---|---|---|---|---|---|---|"
)
LABELS = {
    "arena": "arena (`task=faceswap`, 32 px, ellipse)",
    "masked64": "masked64 (`task=faceswap_masked`)",
    "arena_nonorm": "arena without batch norm",
    "masked64_nonorm": "masked64 without batch norm",
}


def _cells(p: dict[str, Any]) -> str:
    identity = f"{p['id_top1']:.3f}" if "id_top1" in p else "-"
    return (
        f"{p['truth_psnr']:.2f} dB | {p['truth_gain_db']:+.2f} dB | "
        f"{p['closer_to_truth']:.0%} | {p['outside_rmse']:.1f} ({p['outside_changed']:.0%}) | "
        f"{identity} |"
    )


def table_rows(record: dict[str, Any]) -> list[str]:
    """The README's rows: every point (recipe, then epochs), then the blends of the same rows."""
    rows = [
        f"| {LABELS.get(p['recipe'], p['recipe'])} | {p['epochs']} ({p['steps']}) | "
        f"{p['train_cpu_minutes']:.2f} | {_cells(p)}"
        for p in record["points"]
    ]
    rows.append(f"| blended fakes of the same rows | - | - | {_cells(record['blend_same_rows'])}")
    return rows


def table(record: dict[str, Any]) -> str:
    return "\n".join([HEADER, *table_rows(record)])


if __name__ == "__main__":
    print(table(json.loads(RESULTS.read_text())))
    sys.exit(0)
