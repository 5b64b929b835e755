"""Metrics at scale: how the cost of detection metrics and FID accumulation grows with N.

    python benchmarks/metrics.py [--quick]

- `detection_metrics` (all frame metrics + a 1000-replicate stratified bootstrap CI of the AUC)
  on 1e4, 1e5, 1e6 random predictions; the cost exponent is the slope of log time on log N
  (1 = linear; the bootstrap is O(blocks) per replicate, so N enters only through the sort).
  Then the largest N again as frames of 32-frame videos: the clustered bootstrap (videos
  resampled, O(nonzero video x run cells) per replicate) plus the video metrics' CIs.
- FID accumulation: the streaming `FID` metric fed random 2048-d features (standing in for
  Inception pool3; the network's cost is the fid_features benchmark) in chunks of 100, for N =
  1k and 5k per side: time and peak extra memory of the accumulation (the final `compute()`,
  independent of N, is timed once). Memory must stay flat in N (float64 sums only); the
  baseline keeps every feature for statistics at the end, as a naive implementation does, and
  grows linearly. Memory is the peak RSS above the start (Linux:
  the high-water mark reset through /proc/self/clear_refs).
- The Frechet distance at 2048-d (one eigendecomposition; independent of N), vs
  `scipy.linalg.sqrtm` at 512-d (the formula this protocol replaces; sqrtm at 2048-d takes
  minutes here).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import best_time, ensure_importable, standalone

ensure_importable()

import numpy as np  # noqa: E402
import scipy.linalg  # noqa: E402
import torch  # noqa: E402

from fakearena.metrics.detection import detection_metrics  # noqa: E402
from fakearena.metrics.fid import FID, FeatureStats, frechet_distance  # noqa: E402

NAME = "metrics"
DIM = 2048
CHUNK = 100


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_extra_mib(function) -> tuple[float | None, Any]:
    """Peak resident memory above the current level while `function` runs, MiB (Linux only)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark to now
    except OSError:
        return None, function()
    before = _status_kib("VmRSS")
    result = function()
    peak = _status_kib("VmHWM")
    if before is None or peak is None:
        return None, result
    return max(peak - before, 0) / 1024, result


def fit_exponent(sizes: list[int], seconds: list[float]) -> float:
    """Slope of log(seconds) on log(N): cost ~ N^slope."""
    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])


def bench_detection(sizes: list[int], n_bootstrap: int) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    seconds = []
    for n in sizes:
        labels = rng.integers(0, 2, n)
        probs = np.clip(rng.normal(0.4 + 0.2 * labels, 0.2), 0, 1)
        repeats = 3 if n <= 100_000 else 1
        seconds.append(
            best_time(
                lambda p=probs, y=labels: detection_metrics(p, y, n_bootstrap=n_bootstrap),
                repeats,
            )
        )
    n, frames = sizes[-1], 32
    video_labels = rng.integers(0, 2, n // frames)
    offsets = rng.normal(0.4 + 0.2 * video_labels, 0.2)
    labels = np.repeat(video_labels, frames)
    probs = np.clip(np.repeat(offsets, frames) + rng.normal(0, 0.05, labels.size), 0, 1)
    ids = np.repeat([f"set/video_{i:06d}" for i in range(video_labels.size)], frames)
    clustered = best_time(
        lambda: detection_metrics(probs, labels, video_ids=ids, n_bootstrap=n_bootstrap), 1, 0
    )
    return {
        "sizes": sizes,
        "n_bootstrap": n_bootstrap,
        "seconds": seconds,
        "clustered": {
            "n": int(labels.size),
            "videos": int(video_labels.size),
            "seconds": clustered,
        },
    }


def _chunks(n: int, seed: int):
    generator = torch.Generator().manual_seed(seed)
    for start in range(0, n, CHUNK):
        yield torch.randn(min(CHUNK, n - start), DIM, generator=generator, dtype=torch.float64)


def _streaming(n: int, seed: int) -> FID:
    """Ours: the streaming FID metric fed both sides (sums only)."""
    metric = FID(feature_dim=DIM)
    for real in (True, False):
        for chunk in _chunks(n, seed + real):
            metric.update(chunk, real)
    return metric


def _keep_all(n: int, seed: int) -> list[torch.Tensor]:
    """Baseline: keep every feature of both sides (statistics computed at the end)."""
    return [torch.cat(list(_chunks(n, seed + real))) for real in (True, False)]


def bench_fid(sizes: list[int]) -> dict[str, Any]:
    """Accumulation time and peak extra memory per N (the final distance is timed once)."""
    out: dict[str, Any] = {"sizes": sizes, "dim": DIM, "chunk": CHUNK}
    _streaming(2 * CHUNK, 1)  # warm-up: first-call allocations and imports
    for name, function in (("streaming", _streaming), ("keep_all", _keep_all)):
        seconds, memory = [], []
        for n in sizes:
            start = time.perf_counter()
            mib, state = peak_extra_mib(lambda n=n, f=function: f(n, 0))
            seconds.append(time.perf_counter() - start)
            memory.append(mib)
            del state
        out[name] = {"seconds": seconds, "peak_extra_mib": memory}
    metric = _streaming(sizes[-1], 0)
    start = time.perf_counter()
    out["compute"] = {"n": sizes[-1], "fid": metric.compute()["fid"]}
    out["compute"]["seconds"] = time.perf_counter() - start
    return out


def bench_frechet(quick: bool) -> dict[str, Any]:
    rng = np.random.default_rng(0)

    def stats(dim: int, n: int, scale: float) -> FeatureStats:
        return FeatureStats.from_features(rng.normal(size=(n, dim)) * scale + (scale - 1))

    dim = 256 if quick else DIM
    a, b = stats(dim, 2 * dim, 1.0), stats(dim, 2 * dim, 1.1)
    ours = best_time(lambda: frechet_distance(a.mean, a.cov, b.mean, b.cov), 1, 0)
    small = 128 if quick else 512
    c, d = stats(small, 2 * small, 1.0), stats(small, 2 * small, 1.1)

    def sqrtm_formula() -> float:
        root = scipy.linalg.sqrtm(c.cov @ d.cov).real
        diff = c.mean - d.mean
        return float(diff @ diff + np.trace(c.cov) + np.trace(d.cov) - 2 * np.trace(root))

    ours_small = best_time(lambda: frechet_distance(c.mean, c.cov, d.mean, d.cov), 2, 1)
    sqrtm_small = best_time(sqrtm_formula, 2, 1)
    expected = sqrtm_formula()
    got = frechet_distance(c.mean, c.cov, d.mean, d.cov)
    return {
        "dim": dim,
        "seconds": ours,
        "small_dim": small,
        "small_seconds": ours_small,
        "small_sqrtm_seconds": sqrtm_small,
        "small_rel_diff": abs(got - expected) / expected,
    }


def run(quick: bool) -> dict[str, Any]:
    det_sizes = [1_000, 10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
    detection = bench_detection(det_sizes, 100 if quick else 1000)
    fid_sizes = [200, 600] if quick else [1_000, 5_000]
    fid = bench_fid(fid_sizes)
    frechet = bench_frechet(quick)
    det_exp = fit_exponent(det_sizes, detection["seconds"])
    fid_exp = fit_exponent(fid_sizes, fid["streaming"]["seconds"])
    stream_mem, keep_mem = fid["streaming"]["peak_extra_mib"], fid["keep_all"]["peak_extra_mib"]
    flat = None
    if stream_mem[0] is not None:
        # Flat: the larger N needs at most 10% (or 4 MiB, allocator noise) more than the smaller.
        flat = stream_mem[-1] <= max(stream_mem[0] * 1.1, stream_mem[0] + 4)
    big = det_sizes[-1]
    sqrtm_speedup = frechet["small_sqrtm_seconds"] / frechet["small_seconds"]
    checks = [
        {
            "benchmark": f"detection_metrics {big:.0e} x {detection['n_bootstrap']} bootstrap",
            "ours": detection["seconds"][-1],
            "unit": "s",
            "baseline": None,
            "baseline_name": "",
            "ratio": None,
            "limit": "",
            "target": "-",
            "pass": None,
        },
        {
            "benchmark": (
                f"detection_metrics {big:.0e} frames in {detection['clustered']['videos']} "
                f"videos x {detection['n_bootstrap']} (videos resampled, video CIs)"
            ),
            "ours": detection["clustered"]["seconds"],
            "unit": "s",
            "baseline": detection["seconds"][-1],
            "baseline_name": "frames resampled",
            "ratio": detection["clustered"]["seconds"] / detection["seconds"][-1],
            "limit": "",
            "target": "-",
            "pass": None,
        },
        {
            "benchmark": f"detection_metrics cost exponent (N={det_sizes[0]:.0e}..{big:.0e})",
            "ours": det_exp,
            "unit": "",
            "baseline": None,
            "baseline_name": "",
            "ratio": None,
            "limit": "1 (linear)",
            "target": "<= 1.2",
            "pass": det_exp <= 1.2,
        },
        {
            "benchmark": f"FID accumulation cost exponent (N={fid_sizes[0]}..{fid_sizes[-1]})",
            "ours": fid_exp,
            "unit": "",
            "baseline": None,
            "baseline_name": "",
            "ratio": None,
            "limit": "1 (linear)",
            "target": "<= 1.2",
            "pass": fid_exp <= 1.2,
        },
        {
            "benchmark": f"FID peak extra memory at N={fid_sizes[-1]} vs N={fid_sizes[0]}",
            "ours": stream_mem[-1],
            "unit": "MiB",
            "baseline": stream_mem[0],
            "baseline_name": f"N={fid_sizes[0]}",
            "ratio": None if not stream_mem[0] else stream_mem[-1] / stream_mem[0],
            "limit": f"keep-all: {keep_mem[0]:.0f} -> {keep_mem[-1]:.0f} MiB"
            if keep_mem[0] is not None
            else "",
            "target": "flat in N",
            "pass": flat,
        },
        {
            "benchmark": f"Frechet distance {frechet['dim']}-d",
            "ours": frechet["seconds"],
            "unit": "s",
            "baseline": None,
            "baseline_name": "",
            "ratio": None,
            "limit": f"{frechet['small_dim']}-d: {sqrtm_speedup:.1f}x faster than sqrtm",
            "target": "-",
            "pass": None,
        },
    ]
    return {
        "detection": {**detection, "exponent": det_exp},
        "fid_accumulation": {**fid, "exponent": fid_exp},
        "frechet": frechet,
        "checks": checks,
    }


def main(argv: list[str] | None = None) -> int:
    return standalone(NAME, run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
