"""The report's swap preview: the face swap's training preview, faces enlarged and titled.

A face-swap run saves a grid of small faces (`FaceSwapTask.preview_grid`: one row per face
pair, the columns of `PREVIEW_COLUMNS`, `PREVIEW_PADDING` white pixels between faces), about
200 px wide for 32-px faces and no labels. The report shows it as the README's preview is
shown: every face at least `MIN_FACE_PX` wide (whole-pixel nearest-neighbour enlargement, so
no detail is invented) under a title row naming each column.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from fakearena.tasks.preview_layout import PREVIEW_COLUMNS, PREVIEW_PADDING
from fakearena.utils.io import atomic_path

MIN_FACE_PX = 96
TITLE_PX = 16  # font size of the column titles
GAP_PX = 6  # white space between enlarged faces


def grid_tiles(
    pixels: np.ndarray, columns: int, padding: int = PREVIEW_PADDING
) -> list[list[np.ndarray]] | None:
    """The faces of a `make_grid` image (rows of `columns` square faces with `padding`
    between and around them), or None when the image does not have that shape."""
    height, width = pixels.shape[:2]
    tile = (width - padding) / columns - padding
    if tile < 1 or tile != int(tile):
        return None
    tile = int(tile)
    rows = (height - padding) / (tile + padding)
    if rows < 1 or rows != int(rows):
        return None
    step = tile + padding
    return [
        [
            pixels[padding + r * step : padding + r * step + tile,
                   padding + c * step : padding + c * step + tile]
            for c in range(columns)
        ]
        for r in range(int(rows))
    ]  # fmt: skip


def titled_preview(
    tiles: list[list[np.ndarray]], titles: tuple[str, ...], min_face: int = MIN_FACE_PX
) -> Image.Image:
    """Faces enlarged by a whole factor to at least `min_face` px, a title over each column."""
    tile = tiles[0][0].shape[0]
    scale = max(1, math.ceil(min_face / tile))
    face = tile * scale
    font = ImageFont.load_default(size=TITLE_PX)
    header = TITLE_PX + 2 * GAP_PX
    width = len(titles) * (face + GAP_PX) + GAP_PX
    height = header + len(tiles) * (face + GAP_PX)
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    for c, title in enumerate(titles):
        left = GAP_PX + c * (face + GAP_PX)
        text_width = draw.textlength(title, font=font)
        draw.text((left + (face - text_width) / 2, GAP_PX), title, fill="black", font=font)
    for r, row in enumerate(tiles):
        for c, pixels in enumerate(row):
            image = Image.fromarray(np.ascontiguousarray(pixels)).convert("RGB")
            image = image.resize((face, face), Image.Resampling.NEAREST)
            canvas.paste(image, (GAP_PX + c * (face + GAP_PX), header + r * (face + GAP_PX)))
    return canvas


def swap_preview(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path | None:
    """Write the titled, enlarged version of a face-swap preview PNG to `target`; None (and
    nothing written) when `source` is not a preview grid of `PREVIEW_COLUMNS`."""
    with Image.open(source) as image:
        pixels = np.asarray(image.convert("RGB"))
    tiles = grid_tiles(pixels, len(PREVIEW_COLUMNS))
    if tiles is None:
        return None
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        titled_preview(tiles, PREVIEW_COLUMNS).save(tmp, format="PNG")
    return target
