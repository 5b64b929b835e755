"""FID features: images/s of our Inception extractor vs the same TorchScript called plainly.

    python benchmarks/fid_features.py [--quick]

Ours: `InceptionFeatures()(uint8 images)`, the whole protocol (levels, bilinear resize check,
scaling, the folded channels_last rebuild under inference mode, float64 features). Baseline:
the hash-checked TorchScript file `default_1.pt` called on the preprocessed NCHW batch as its
README does (`model(x)`, autograd on). Calls alternate, best of `repeats`. The achieved rate
is 11.5 GFLOP per 299x299 image (the network's multiply-adds x 2) against this machine's fp32
matmul rate measured in the same run, the practical ceiling for convolutions.
Targets: >= 2x the plain call and >= 75% of the matmul rate.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import ensure_importable, matmul_gflops, paired_best, standalone

ensure_importable()

import torch  # noqa: E402

from fakearena.metrics.inception import InceptionFeatures, load_torchscript, preprocess  # noqa: E402

NAME = "fid_features"
GFLOP_PER_IMAGE = 11.5
TARGET_SPEEDUP = 2.0
TARGET_OF_MATMUL = 0.75


def run(quick: bool) -> dict[str, Any]:
    batch, repeats = (1, 1) if quick else (4, 2)
    extractor = InceptionFeatures(batch_size=batch)
    script = load_torchscript(extractor.spec)
    images = torch.randint(0, 256, (batch, 3, 299, 299), dtype=torch.uint8, generator=None)
    plain_input = preprocess(images)
    matmul_before = matmul_gflops(1024 if quick else 2048)
    best = paired_best(
        {"ours": lambda: extractor(images), "plain": lambda: script(plain_input)},
        repeats=repeats,
        warmup=1,
    )
    matmul_after = matmul_gflops(1024 if quick else 2048)
    matmul = max(matmul_before, matmul_after)
    ours, plain = batch / best["ours"], batch / best["plain"]
    gflops = ours * GFLOP_PER_IMAGE
    with torch.inference_mode():
        difference = float((extractor(images) - script(plain_input).double()).abs().max())
    return {
        "config": {
            "batch": batch,
            "repeats": repeats,
            "folded_rebuild": extractor.folded,
            "torch_threads": torch.get_num_threads(),
            "gflop_per_image": GFLOP_PER_IMAGE,
        },
        "seconds": best,
        "images_per_s": {"ours": ours, "plain": plain},
        "gflops": {"ours": gflops, "plain": plain * GFLOP_PER_IMAGE},
        "matmul_gflops": {"before": matmul_before, "after": matmul_after},
        "max_abs_feature_difference": difference,
        "checks": [
            {
                "benchmark": f"FID features speed (batch {batch})",
                "ours": ours,
                "unit": "img/s",
                "baseline": plain,
                "baseline_name": "TorchScript plain",
                "ratio": ours / plain,
                # How close the baseline already is to the machine's rate: the room a speedup has.
                "limit": f"plain at {plain * GFLOP_PER_IMAGE / matmul:.0%} of matmul",
                "target": f">= {TARGET_SPEEDUP:g}x",
                "pass": ours / plain >= TARGET_SPEEDUP,
            },
            {
                "benchmark": "FID features GFLOP/s vs fp32 matmul",
                "ours": gflops,
                "unit": "GFLOP/s",
                "baseline": matmul,
                "baseline_name": "matmul",
                "ratio": gflops / matmul,
                "limit": f"matmul {matmul:.0f} GFLOP/s",
                "target": f">= {TARGET_OF_MATMUL:.0%}",
                "pass": gflops / matmul >= TARGET_OF_MATMUL,
            },
        ],
    }


def main(argv: list[str] | None = None) -> int:
    return standalone(NAME, run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
