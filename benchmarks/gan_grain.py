"""Per-pixel grain of sample grids: Immerkaer's noise estimate of each image, per grid.

The renders carry Gaussian sensor noise (1 to 6 grey levels, independent per pixel and
colour); GAN samples look smoother. This puts a number on it: for each image of a grid (the
tiles of `fakearena.tasks.sample_quality.image_grid`: 64-px images, 2-px white gaps) and each
colour channel, sigma = sqrt(pi/2) / (6 (W-2) (H-2)) * sum |I * N| with the mask
N = [[1, -2, 1], [-2, 4, -2], [1, -2, 1]] (Immerkaer 1996, "Fast noise variance estimation"),
in grey levels; a grid's value is the median over its images and channels. The mask cancels
smooth shading, not edges or a checkerboard, which raise it too: read it beside the grids.

    python -m benchmarks.gan_grain --name grain_noise \
        benchmarks/results/gan_quality/samples/real_train_people.png \
        benchmarks/results/gan_quality/samples/steps_dcgan64_t_rerun_1500steps.png

Writes OUT/<name>.json (OUT defaults to benchmarks/results/gan_quality) and prints the table.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks._common import print_table, write_json

OUT = Path(__file__).resolve().parent / "results" / "gan_quality"
MASK = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)


def noise_sigma(image: np.ndarray) -> float:
    """Immerkaer's estimate of the Gaussian noise std of one (H, W) image, in its units."""
    height, width = image.shape
    response = sum(
        MASK[dy, dx] * image[dy : height - 2 + dy, dx : width - 2 + dx]
        for dy in range(3)
        for dx in range(3)
    )
    return math.sqrt(math.pi / 2) * float(np.abs(response).sum()) / (6 * (height - 2) * (width - 2))


def grid_tiles(grid: np.ndarray, size: int = 64, pad: int = 2) -> np.ndarray:
    """The (N, size, size, 3) images of a grid with `pad`-px gaps (full rows and columns)."""
    rows, columns = ((n - pad) // (size + pad) for n in grid.shape[:2])
    if rows * (size + pad) + pad != grid.shape[0] or columns * (size + pad) + pad != grid.shape[1]:
        raise ValueError(
            f"a grid of {grid.shape[1]}x{grid.shape[0]} px is not a grid of {size}-px images "
            f"with {pad}-px gaps; pass --size/--pad of the grid"
        )
    return np.stack(
        [
            grid[pad + r * (size + pad) :, pad + c * (size + pad) :][:size, :size]
            for r in range(rows)
            for c in range(columns)
        ]
    )


def grid_grain(path: Path, size: int = 64, pad: int = 2) -> dict:
    """Median and quartiles of the per-image, per-channel noise estimates of one grid PNG."""
    grid = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)
    tiles = grid_tiles(grid, size, pad)
    sigmas = [noise_sigma(tile[..., c]) for tile in tiles for c in range(3)]
    q1, median, q3 = np.percentile(sigmas, [25, 50, 75])
    return {"images": len(tiles), "sigma_median": median, "sigma_q1": q1, "sigma_q3": q3}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("grids", type=Path, nargs="+", help="grid PNGs")
    parser.add_argument("--name", default="grain")
    parser.add_argument("--size", type=int, default=64, help="image side in the grids")
    parser.add_argument("--pad", type=int, default=2, help="gap between images")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    for path in args.grids:
        if not path.is_file():
            parser.error(f"{path}: no such grid PNG")
    record = {
        "estimator": "Immerkaer 1996 noise sigma per image and colour channel, grey levels "
        "(0-255); median and quartiles over a grid's images and channels",
        "grids": {path.name: grid_grain(path, args.size, args.pad) for path in args.grids},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / f"{args.name}.json", record, indent=1)
    rows = [
        {"grid": name, **{k: f"{v:.2f}" for k, v in g.items() if k != "images"}}
        for name, g in record["grids"].items()
    ]
    print_table(rows, ("grid", "sigma_median", "sigma_q1", "sigma_q3"))
    return record


if __name__ == "__main__":
    main()
