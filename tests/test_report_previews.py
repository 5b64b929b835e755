"""The report's swap preview: the training preview's 32-px faces shown at >= 96 px under
column titles, pixels enlarged whole (nothing invented), as the README's preview image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.utils import make_grid

from fakearena.report.leaderboard import write_leaderboard
from fakearena.report.previews import MIN_FACE_PX, grid_tiles, swap_preview
from fakearena.results import metric
from fakearena.tasks.preview_layout import PREVIEW_COLUMNS, PREVIEW_PADDING
from test_leaderboard import make_record


def preview_grid(path: Path, pairs: int = 3, size: int = 32) -> np.ndarray:
    """A preview PNG as `FaceSwapTask.preview_grid` writes it; returns the faces (N,H,W,3)."""
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (pairs * len(PREVIEW_COLUMNS), size, size, 3), dtype=np.uint8)
    tiles = torch.from_numpy(faces).permute(0, 3, 1, 2).float() / 255
    grid = make_grid(tiles, nrow=len(PREVIEW_COLUMNS), padding=PREVIEW_PADDING, pad_value=1.0)
    pixels = grid.mul(255).round().byte().permute(1, 2, 0).numpy()
    Image.fromarray(pixels).save(path)
    assert pixels.shape[1] == 6 * 34 + 2  # the ~200-px strip of 32-px faces
    return faces


def test_faces_are_enlarged_whole_under_column_titles(tmp_path: Path):
    faces = preview_grid(tmp_path / "swap_epoch001.png")
    out = swap_preview(tmp_path / "swap_epoch001.png", tmp_path / "titled.png")
    image = np.asarray(Image.open(out).convert("RGB"))
    tiles = grid_tiles(np.asarray(Image.open(tmp_path / "swap_epoch001.png")), 6)
    assert len(tiles) == 3 and np.array_equal(tiles[1][2], faces[1 * 6 + 2])
    scale = 3  # 32 px -> 96 px, the smallest whole factor reaching MIN_FACE_PX
    enlarged = np.kron(faces[6 + 2], np.ones((scale, scale, 1), np.uint8))
    candidates = np.argwhere((image == enlarged[0, 0]).all(axis=2))
    found = [
        (y, x)
        for y, x in candidates
        if np.array_equal(image[y : y + 96, x : x + 96], enlarged)
    ]
    assert len(found) == 1  # the face is there whole, at 96 px, once
    assert image.shape[1] >= len(PREVIEW_COLUMNS) * MIN_FACE_PX
    header = image[: found[0][0] - 96 - 6]  # the title band above the first row of faces
    dark_columns = np.flatnonzero((header < 128).all(axis=2).any(axis=0))
    column_width = image.shape[1] / len(PREVIEW_COLUMNS)
    titled = {int(x // column_width) for x in dark_columns}
    assert titled == set(range(len(PREVIEW_COLUMNS)))  # a title over every column


def test_the_report_shows_the_titled_preview_and_copies_other_images(tmp_path: Path):
    run = tmp_path / "runs" / "swap"
    (run / "previews").mkdir(parents=True)
    preview_grid(run / "previews" / "swap_epoch001.png")
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(run / "grid.png")
    make_record(
        run,
        seed=0,
        detector=None,
        generator="faceswap",
        metrics={"val/mse": metric(0.01, n=12)},
        artifacts={"swap_preview": "previews/swap_epoch001.png", "sample_grid": "grid.png"},
    )
    write_leaderboard([tmp_path / "runs"], tmp_path / "out")
    shown = Image.open(tmp_path / "out" / "images" / "faceswap_swap_preview.png")
    assert shown.width >= 6 * MIN_FACE_PX and shown.height >= 3 * MIN_FACE_PX
    assert Image.open(tmp_path / "out" / "images" / "faceswap_sample_grid.png").size == (10, 10)


def test_an_image_that_is_not_a_preview_grid_is_left_alone(tmp_path: Path):
    Image.fromarray(np.zeros((50, 77, 3), np.uint8)).save(tmp_path / "odd.png")
    assert swap_preview(tmp_path / "odd.png", tmp_path / "x.png") is None
    assert not (tmp_path / "x.png").exists()
