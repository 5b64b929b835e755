"""Render speed of the built-in synthetic faces, one process, against baselines in the same run.

    python benchmarks/synthetic.py [--quick] [--sizes 64 128 256] [--out PATH]

For each image size: reals (`render_face`), blended fakes (`render_blended_fake`), the rows of a
default synthetic manifest (half real, half fake: what a training epoch renders), and a PNG
round trip (encode + decode: what reading a written dataset costs per image). The baseline is a
plain numpy fill of the same size (a gradient plus Gaussian noise, the cheapest "image" numpy
makes), so the table shows how far above the floor of numpy's per-call cost the renderer is.
Each figure is the best of `--repeats` timed loops (the machine may be shared); CPU seconds are
reported beside wall seconds. Writes JSON to benchmarks/results/synthetic.json
(the suite, `python -m benchmarks`, runs sizes 64 and 256).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import ensure_importable, write_results

ensure_importable()

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from fakearena import __version__  # noqa: E402
from fakearena.data.synthetic import SyntheticRenderer, synthetic_manifest  # noqa: E402


def _best_rate(work: Callable[[int], object], n: int, repeats: int) -> dict[str, float]:
    """Images per second over `n` calls, best of `repeats` (wall and CPU time)."""
    work(0)  # warm caches (identities, the pixel grid)
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(n):
            work(i)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return {"images_per_s": n / best_wall, "images_per_cpu_s": n / best_cpu, "n": n}


def _numpy_fill(size: int) -> Callable[[int], np.ndarray]:
    rng = np.random.default_rng(0)
    ramp = np.linspace(0.0, 1.0, size, dtype=np.float32)

    def fill(i: int) -> np.ndarray:
        img = np.empty((size, size, 3), np.float32)
        img[...] = ramp[:, None, None] * np.float32(0.5 + 0.001 * (i % 100))
        img += rng.standard_normal(img.shape, dtype=np.float32) * np.float32(0.02)
        return (np.clip(img, 0.0, 1.0) * 255).astype(np.uint8)

    return fill


def _png_round_trip(renderer: SyntheticRenderer) -> Callable[[int], np.ndarray]:
    image = Image.fromarray(renderer.render_face(0, 0))

    def round_trip(i: int) -> np.ndarray:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        buffer.seek(0)
        return np.asarray(Image.open(buffer).convert("RGB"))

    return round_trip


def measure(size: int, n: int, repeats: int) -> dict[str, dict[str, float]]:
    """All rates for one image size."""
    renderer = SyntheticRenderer(size, seed=0)
    rows = synthetic_manifest(n_identities=8, per_identity=max(2, n // 8), size=size)
    records = rows.frame.to_dict("records")
    return {
        "real": _best_rate(lambda i: renderer.render_face(i % 8, i), n, repeats),
        "fake": _best_rate(
            lambda i: renderer.render_blended_fake(i % 8, i, (i + 3) % 8), n, repeats
        ),
        "manifest_rows": _best_rate(
            lambda i: renderer.render_row(records[i % len(records)]), n, repeats
        ),
        "png_round_trip": _best_rate(_png_round_trip(renderer), n, repeats),
        "baseline_numpy_fill": _best_rate(_numpy_fill(size), n, repeats),
    }


def measure_all(sizes: list[int], quick: bool, repeats: int) -> dict[str, dict]:
    """Rates per size; about the same pixel budget per size (400 images at 64, 25 at 256)."""
    results = {}
    for size in sizes:
        n = max(8, int(400 * (64 / size) ** 2) // (8 if quick else 1))
        results[str(size)] = measure(size, n, repeats)
    return results


def checks(results: dict[str, dict]) -> list[dict]:
    """Summary rows: manifest rows rendered per second vs the numpy-fill floor."""
    return [
        {
            "benchmark": f"synthetic rendering {size}px (manifest rows)",
            "ours": rates["manifest_rows"]["images_per_s"],
            "unit": "img/s",
            "baseline": rates["baseline_numpy_fill"]["images_per_s"],
            "baseline_name": "numpy fill",
            "ratio": rates["manifest_rows"]["images_per_s"]
            / rates["baseline_numpy_fill"]["images_per_s"],
            "limit": f"png round trip {rates['png_round_trip']['images_per_s']:.0f} img/s",
            "target": "-",
            "pass": None,
        }
        for size, rates in results.items()
    ]


def run(quick: bool) -> dict:
    """The suite's entry point: sizes 64 and 256."""
    repeats = 1 if quick else 2
    results = measure_all([64, 256], quick, repeats)
    return {"repeats": repeats, "results": results, "checks": checks(results)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few images, one repeat (smoke)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--out-dir", default=None, help="folder for synthetic.json")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    results = measure_all(args.sizes, args.quick, repeats)
    columns = ["real", "fake", "manifest_rows", "png_round_trip", "baseline_numpy_fill"]
    print(f"images/s on one process (best of {repeats}; CPU-time rate in brackets)")
    print(f"{'size':>5}  " + "  ".join(f"{c:>21}" for c in columns))
    for size, rates in results.items():
        cells = [
            f"{rates[c]['images_per_s']:9.0f} [{rates[c]['images_per_cpu_s']:7.0f}]"
            for c in columns
        ]
        print(f"{size:>5}  " + "  ".join(f"{cell:>21}" for cell in cells))
    payload = {
        "fakearena_version": __version__,
        "repeats": repeats,
        "results": results,
        "checks": checks(results),
    }
    print(f"wrote {write_results('synthetic', payload, args.out_dir, args.quick)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
