"""The tables of `benchmarks/results/faceswap/README.md` ("40 people"), from faceswap_mask40.json,
faceswap_bn_modes.json and faceswap_paired.json.

    python -m benchmarks._faceswap_mask40_table   # prints the rows the README must hold
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "faceswap_mask40.json"
BN_MODES = RESULTS.with_name("faceswap_bn_modes.json")
PAIRED = RESULTS.with_name("faceswap_paired.json")
BN_HEADER = (
    "| point | decoders' batch norm | reconstruction MSE, training faces (val) | "
    "truth PSNR | closer to truth |\n|---|---|---|---|---|"
)
PAIRED_HEADER = (
    "| A | B | truth PSNR B - A [95% CI] | closer to truth B - A [95% CI] |\n|---|---|---|---|"
)
MODE_LABELS = {
    "eval": "running averages (eval mode, as swaps run)",
    "train_one_face": "each face's own statistics (training mode, one face)",
}
HEADER = (
    "| recipe | epochs (steps) | train CPU-min | truth PSNR | gain vs doing nothing | "
    "closer to truth | outside RMSE (changed) | donor ID top-1 |\n"
    "|---|---|---|---|---|---|---|---|"
)
LABELS = {
    "arena": "arena until now (`task=faceswap`, 32 px, ellipse)",
    "masked64": "masked64 (`task=faceswap_masked`)",
    "arena_nonorm": "arena without batch norm",
    "masked64_nonorm": "masked64 without batch norm",
    "arena_dec_instance": "arena, instance norm in the decoders",
    "arena_dec_group": "arena, group norm in the decoders",
    "arena_dec_none": "arena, no norm in the decoders",
    "arena_ppb8": "arena, 8 people x 5 faces a batch",
    "arena_ppb4": "arena, 4 people x 10 faces a batch",
    "arena_ppb8_instance": "arena, 8 people x 5 faces, instance norm in the decoders",
    "arena_shared": "arena, one shared decoder (per-person map and norm)",
    "arena_ppb8_instance_ssim": "**arena now**: 8 people x 5 faces, instance norm, DSSIM",
    "arena_ssim": "arena until now, with DSSIM (`task.ssim_weight=0.5`)",
    "masked64_ppb8_instance": "masked64, 8 people x 5 faces, instance norm in the decoders",
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


def bn_rows(record: dict[str, Any]) -> list[str]:
    """One row per checkpoint and batch-norm mode (faceswap_bn_modes.json)."""
    return [
        f"| {run['run']} | {MODE_LABELS[mode]} | {run[mode]['train_mse']:.5f} "
        f"({run[mode]['val_mse']:.5f}) | {run[mode]['truth_psnr']:.2f} dB | "
        f"{run[mode]['closer_to_truth']:.0%} |"
        for run in record["runs"]
        for mode in record["modes"]
    ]


def paired_rows(record: dict[str, Any]) -> list[str]:
    """One row per pair of points (faceswap_paired.json)."""
    rows = []
    for pair in record["pairs"]:
        psnr, closer = pair["truth_psnr"], pair["closer_to_truth"]
        rows.append(
            f"| {pair['a']} | {pair['b']} | {psnr['b_minus_a']:+.2f} dB "
            f"[{psnr['ci95'][0]:+.2f}, {psnr['ci95'][1]:+.2f}] | "
            f"{closer['b_minus_a'] * 100:+.1f} points "
            f"[{closer['ci95'][0] * 100:+.1f}, {closer['ci95'][1] * 100:+.1f}] |"
        )
    return rows


if __name__ == "__main__":
    print(table(json.loads(RESULTS.read_text())), end="\n\n")
    print("\n".join([BN_HEADER, *bn_rows(json.loads(BN_MODES.read_text()))]), end="\n\n")
    print("\n".join([PAIRED_HEADER, *paired_rows(json.loads(PAIRED.read_text()))]))
    sys.exit(0)
