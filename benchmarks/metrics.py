"""Metrics benchmark: Inception features (ours vs the TorchScript called plainly), Frechet
distance at 2048-d vs scipy sqrtm, detection_metrics on 1e6 predictions x 1000 bootstraps.

    python benchmarks/metrics.py            # full run (a few minutes on 2 cores)
    python benchmarks/metrics.py --quick    # seconds-long smoke version
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import scipy.linalg
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import best_time, matmul_gflops, print_table, write_results
from fakearena.metrics.detection import detection_metrics
from fakearena.metrics.fid import FeatureStats, frechet_distance
from fakearena.metrics.inception import InceptionFeatures, load_torchscript, preprocess

GFLOP_PER_IMAGE = 11.5


def bench_inception(batch: int, repeats: int) -> list[dict]:
    extractor = InceptionFeatures(batch_size=batch)
    script = load_torchscript(extractor.spec)
    images = torch.randint(0, 256, (batch, 3, 299, 299), dtype=torch.uint8)
    plain_input = preprocess(images)  # NCHW float, no channels_last, no inference mode
    plain = best_time(lambda: script(plain_input), repeats)
    ours = best_time(lambda: extractor(images), repeats)
    rows = []
    for name, seconds in (("torchscript plain", plain), ("fakearena extractor", ours)):
        rate = batch / seconds
        rows.append(
            {
                "case": f"inception {name}",
                "batch": batch,
                "seconds": seconds,
                "images_per_s": rate,
                "gflops": rate * GFLOP_PER_IMAGE,
                "speedup": plain / seconds,
            }
        )
    return rows


def bench_frechet(dim: int, n: int) -> list[dict]:
    rng = np.random.default_rng(0)
    a = FeatureStats.from_features(rng.normal(size=(n, dim)))
    b = FeatureStats.from_features(rng.normal(size=(n, dim)) * 1.1 + 0.1)
    ours = best_time(lambda: frechet_distance(a.mean, a.cov, b.mean, b.cov), 1, 0)

    def scipy_formula() -> float:
        root = scipy.linalg.sqrtm(a.cov @ b.cov).real
        diff = a.mean - b.mean
        return diff @ diff + np.trace(a.cov) + np.trace(b.cov) - 2 * np.trace(root)

    reference = best_time(scipy_formula, 1, 0)
    value, expected = frechet_distance(a.mean, a.cov, b.mean, b.cov), scipy_formula()
    return [
        {
            "case": f"frechet eig {dim}-d",
            "seconds": ours,
            "speedup": reference / ours,
            "value": value,
            "rel_diff": abs(value - expected) / expected,
        },
        {"case": f"frechet scipy sqrtm {dim}-d", "seconds": reference, "value": expected},
    ]


def bench_detection(n: int, n_bootstrap: int) -> list[dict]:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, n)
    probs = rng.random(n) * 0.7 + 0.3 * labels
    seconds = best_time(lambda: detection_metrics(probs, labels, n_bootstrap=n_bootstrap), 1, 0)
    return [{"case": f"detection_metrics {n:.0e} x {n_bootstrap} boot", "seconds": seconds}]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, seconds long")
    args = parser.parse_args(argv)
    quick = args.quick
    peak = matmul_gflops(1024 if quick else 2048)
    rows = [{"case": "fp32 matmul (torch)", "gflops": peak}]
    rows += bench_inception(batch=2 if quick else 8, repeats=1 if quick else 2)
    rows += bench_frechet(256 if quick else 2048, 512 if quick else 4096)
    rows += bench_detection(10_000 if quick else 1_000_000, 50 if quick else 1000)
    for row in rows:
        if "gflops" in row and row["case"] != "fp32 matmul (torch)":
            row["of_matmul_peak"] = row["gflops"] / peak
    print_table(
        rows,
        [
            "case",
            "batch",
            "seconds",
            "images_per_s",
            "gflops",
            "of_matmul_peak",
            "speedup",
            "rel_diff",
        ],
    )
    path = write_results(
        "metrics_quick" if quick else "metrics",
        {"quick": quick, "gflop_per_image": GFLOP_PER_IMAGE, "rows": rows},
    )
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
