"""benchmarks.gan_grain: Immerkaer's noise estimate and the tiles of a sample grid."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from benchmarks.gan_grain import grid_tiles, main, noise_sigma
from PIL import Image
from scipy.signal import convolve2d

from fakearena.tasks.sample_quality import image_grid


def test_the_estimate_is_the_masks_formula_and_recovers_a_known_noise_std():
    rng = np.random.default_rng(0)
    shading = np.add.outer(np.linspace(0, 80, 64), np.linspace(0, 40, 64))  # smooth: cancelled
    assert noise_sigma(shading) == pytest.approx(0.0, abs=1e-9)
    image = shading + rng.normal(0.0, 4.0, size=(64, 64))
    mask = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]])
    direct = math.sqrt(math.pi / 2) * np.abs(convolve2d(image, mask, mode="valid")).mean() / 6
    assert noise_sigma(image) == pytest.approx(direct, rel=1e-12)
    many = [noise_sigma(shading + rng.normal(0.0, 4.0, size=(64, 64))) for _ in range(50)]
    assert float(np.mean(many)) == pytest.approx(4.0, rel=0.03)


def test_grid_tiles_are_the_images_of_the_tasks_grid(tmp_path: Path):
    images = torch.rand(6, 3, 64, 64)
    grid = image_grid(images, columns=3)
    tiles = grid_tiles(grid.astype(np.float64))
    expected = (images * 255).round().permute(0, 2, 3, 1).numpy()
    np.testing.assert_array_equal(tiles, expected)
    with pytest.raises(ValueError, match="--size/--pad"):
        grid_tiles(grid[:-1])
    path = tmp_path / "grid.png"
    Image.fromarray(grid).save(path)
    record = main([str(path), "--name", "g", "--out", str(tmp_path)])
    written = json.loads((tmp_path / "g.json").read_text())
    assert written["grids"]["grid.png"]["images"] == 6
    assert written["grids"]["grid.png"]["sigma_median"] == pytest.approx(
        float(np.median([noise_sigma(t[..., c]) for t in tiles for c in range(3)]))
    )
    assert record["grids"].keys() == written["grids"].keys()
