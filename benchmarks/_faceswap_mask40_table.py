"""The tables of `benchmarks/results/faceswap/README.md` ("40 people"), from faceswap_mask40.json,
faceswap_bn_modes.json and faceswap_paired.json.

    python -m benchmarks._faceswap_mask40_table   # prints the rows the README must hold
"""

from __future__ import annotations

import json
import math
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
PAIRED_ID_HEADER = (
    "| A | B | truth PSNR B - A [95% CI] | closer to truth B - A [95% CI] | "
    "donor ID top-1 B - A [95% CI] |\n|---|---|---|---|---|"
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
    "arena": "arena until round two (`task=faceswap`, 32 px, ellipse)",
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
    "arena_ppb8_instance_ssim": "round two: 8 people x 5 faces, instance norm, DSSIM",
    "arena_ssim": "arena until round two, with DSSIM (`task.ssim_weight=0.5`)",
    "masked64_ppb8_instance": "masked64, 8 people x 5 faces, instance norm in the decoders",
    "arena_ppb8_instance_ssim_adv0.03": "round two + latent identity adversary 0.03",
    "arena_ppb8_instance_ssim_adv0.1": "round two + latent identity adversary 0.1",
    "arena_ppb8_instance_ssim_adv0.3": "round two + latent identity adversary 0.3",
    "arena_ppb8_instance_ssim_adv1": "round two + latent identity adversary 1",
    "arena_ppb8_instance_ssim_tseed1": "round two, augmentations of task.seed=1",
    "arena_ppb8_instance_ssim_adv0.1_tseed1": "round two + adversary 0.1, task.seed=1",
    "arena_ppb8_instance_ssim_adv0.03_tseed1": "round two + adversary 0.03, task.seed=1",
    "arena_ppb8_instance_ssim_adv0.1_swapid0.01_tseed1": ("**arena now**, task.seed=1"),
    "arena_ppb8_instance_ssim_swapid0.01": "round two + swap ID loss 0.01",
    "arena_ppb8_instance_ssim_swapid0.1": "round two + swap ID loss 0.1",
    "arena_ppb8_instance_ssim_swapid1": "round two + swap ID loss 1",
    "arena_ppb8_instance_ssim_adv0.1_swapid0.01": (
        "**arena now**: round two + adversary 0.1 + swap ID loss 0.01"
    ),
    "arena_ppb8_instance_ssim_adv0.1_w32": "round two + adversary 0.1, 32 channels wide",
    "arena_ppb8_instance_ssim_adv0.1_shared": (
        "round two + adversary 0.1, one shared decoder (per-person map and norm)"
    ),
    "masked64_ppb8_instance_ssim_adv0.1": (
        "masked64, 8 people x 5 faces, instance norm, DSSIM, adversary 0.1"
    ),
    **{
        f"arena_ppb8_instance_ssim_adv0.1_swapid{w}_blur1": (
            f"round two + adversary 0.1 + swap ID loss {w}, classifier behind a 1-px blur"
        )
        for w in ("0.01", "0.1", "1")
    },
    "arena_ppb8_instance_ssim_adv0.1_swapid0.01_blur1_tseed1": (
        "the same (swap ID loss 0.01, 1-px blur), task.seed=1"
    ),
    "arena_ppb8_instance_ssim_adv0.1_swapid0.01_fake_tseed1": (
        "the same (swap ID loss 0.01, swaps a class of their own), task.seed=1"
    ),
    **{
        f"arena_ppb8_instance_ssim_adv0.1_swapid{w}_fake": (
            f"round two + adversary 0.1 + swap ID loss {w}, swaps a class of their own"
        )
        for w in ("0.01", "0.1")
    },
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


IDENTITY_HEADER = (
    "| recipe | epochs | train CPU-min | truth PSNR | closer to truth | donor ID top-1 "
    "(independent) | run's classifier names the swap's donor | names real faces | adversary "
    "names the latent's person |\n|---|---|---|---|---|---|---|---|---|"
)
# the points of the identity-terms section: the arena's recipe and what was added to it
IDENTITY_PREFIX = "arena_ppb8_instance_ssim"


def _share(p: dict[str, Any], key: str) -> str:
    return f"{p[key]:.3f}" if key in p else "-"


def identity_rows(record: dict[str, Any]) -> list[str]:
    """One row per point of the arena's recipe with or without the identity terms: the
    independent donor ID beside what the run's own classifiers say on held-out faces."""
    return [
        f"| {p['recipe']} | {p['epochs']} | {p['train_cpu_minutes']:.2f} | "
        f"{p['truth_psnr']:.2f} dB | {p['closer_to_truth']:.1%} | {p['id_top1']:.3f} | "
        f"{_share(p, 'run_swap_id_top1')} | {_share(p, 'run_id_classifier_top1')} | "
        f"{_share(p, 'run_latent_id_top1')} |"
        for p in record["points"]
        if p["recipe"].startswith(IDENTITY_PREFIX)
    ]


# the recipes whose 80- and 320-epoch points the README reads a budget from
BUDGET_RECIPES = ("arena_ppb8_instance_ssim_adv0.1", "arena_ppb8_instance_ssim_adv0.1_swapid0.01")
# the targets of issue 25 a budget is read for ("blend": the blends' truth PSNR of the same rows)
BUDGET_TARGETS = (("closer_to_truth", 0.8), ("id_top1", 0.8), ("truth_psnr", "blend"))


def _per_log_minute(a: dict[str, Any], b: dict[str, Any], key: str) -> float:
    """The slope of metric `key` from point `a` to point `b` against log train CPU-minutes."""
    return (b[key] - a[key]) / math.log(b["train_cpu_minutes"] / a["train_cpu_minutes"])


def log_linear_budget(a: dict[str, Any], b: dict[str, Any], key: str, target: float) -> float:
    """The train CPU-minutes at which the line through points `a` and `b` (metric `key` against
    log CPU-minutes) reaches `target`: an extrapolation, not a measurement (inf when the metric
    does not rise from a to b)."""
    if b[key] <= a[key]:
        return float("inf")
    return b["train_cpu_minutes"] * math.exp((target - b[key]) / _per_log_minute(a, b, key))


def on_the_line(a: dict[str, Any], b: dict[str, Any], key: str, minutes: float) -> float:
    """The value of metric `key` the line through points `a` and `b` (against log train
    CPU-minutes) gives at `minutes`."""
    return b[key] + _per_log_minute(a, b, key) * math.log(minutes / b["train_cpu_minutes"])


# (recipe, the two epochs of the line, the longer point that checks it)
TREND_CHECKS = (("arena_ppb8_instance_ssim_adv0.1", (80, 320), 1280),)


def trend_check_sentence(
    record: dict[str, Any], recipe: str, fit: tuple[int, int], measured_at: int
) -> str:
    """What the line through `recipe`'s points at the `fit` epochs predicted for its point at
    `measured_at` epochs (at that point's CPU-minutes), beside what was measured there."""
    points = {(p["recipe"], p["epochs"]): p for p in record["points"]}
    a, b = points[(recipe, fit[0])], points[(recipe, fit[1])]
    c = points[(recipe, measured_at)]
    parts = [
        f"{key} {on_the_line(a, b, key, c['train_cpu_minutes']):.3f} predicted, "
        f"{c[key]:.3f} measured"
        for key, _ in BUDGET_TARGETS
    ]
    return (
        f"{recipe}, line through {fit[0]} and {fit[1]} epochs, at {measured_at} epochs "
        f"({c['train_cpu_minutes']:.1f} CPU-min): " + "; ".join(parts)
    )


def budget_sentence(record: dict[str, Any], recipe: str, epochs: tuple[int, int]) -> str:
    """The README's budget reading of `recipe` from its points at `epochs` (CPU-min rounded)."""
    points = {(p["recipe"], p["epochs"]): p for p in record["points"]}
    a, b = points[(recipe, epochs[0])], points[(recipe, epochs[1])]
    parts = []
    for key, target in BUDGET_TARGETS:
        value = record["blend_same_rows"][key] if target == "blend" else target
        minutes = log_linear_budget(a, b, key, value)
        if math.isinf(minutes):
            parts.append(
                f"{key} {value:g} never (it does not rise from {a[key]:.4g} to {b[key]:.4g})"
            )
        elif minutes >= 1e7:
            parts.append(f"{key} {value:g} at about {minutes:.1e} CPU-min")
        else:
            parts.append(f"{key} {value:g} at about {minutes:,.0f} CPU-min")
    return f"{recipe}, {epochs[0]} -> {epochs[1]} epochs: " + "; ".join(parts)


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
        if "id_top1" in pair:  # measured with --id: a fifth column (PAIRED_ID_HEADER)
            ident = pair["id_top1"]
            rows[-1] += (
                f" {ident['b_minus_a']:+.3f} [{ident['ci95'][0]:+.3f}, {ident['ci95'][1]:+.3f}] |"
            )
    return rows


if __name__ == "__main__":
    print(table(json.loads(RESULTS.read_text())), end="\n\n")
    print("\n".join([IDENTITY_HEADER, *identity_rows(json.loads(RESULTS.read_text()))]), end="\n\n")
    for recipe in BUDGET_RECIPES:
        print(budget_sentence(json.loads(RESULTS.read_text()), recipe, (80, 320)))
    record = json.loads(RESULTS.read_text())
    measured = {(p["recipe"], p["epochs"]) for p in record["points"]}
    for recipe, fit, measured_at in TREND_CHECKS:
        if (recipe, measured_at) not in measured:
            continue
        print(trend_check_sentence(record, recipe, fit, measured_at))
        print(budget_sentence(record, recipe, (fit[1], measured_at)))
    print("\n".join([BN_HEADER, *bn_rows(json.loads(BN_MODES.read_text()))]), end="\n\n")
    paired = paired_rows(json.loads(PAIRED.read_text()))
    print("\n".join([PAIRED_HEADER, *(r for r in paired if r.count("|") == 5)]), end="\n\n")
    print("\n".join([PAIRED_ID_HEADER, *(r for r in paired if r.count("|") == 6)]))
    sys.exit(0)
