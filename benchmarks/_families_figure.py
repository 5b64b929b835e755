"""One figure of every fake family beside real faces: rows real | <family> ..., same count and
size of faces, read from an arena run's test sets (`testsets/<family>.csv`).

The faces are the detectors' test rows: the real row is the real test faces (the people every
test set shows), each fake row its family's test fakes. Rows take one face per person in turn
(sorted by person, then path), so a row shows as many people as it can; fakes without a person
(a GAN's or diffusion model's samples) are taken in path order.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from fakearena.data.manifest import read_manifest
from fakearena.errors import DataError
from fakearena.utils.io import atomic_write_png

REAL = "real"
LABEL_WIDTH = 96  # the row names' column, in pixels
BACKGROUND = (255, 255, 255)


def pick_rows(frame: pd.DataFrame, count: int) -> list[int]:
    """`count` row positions of `frame`: one per person in turn (sorted), paths in order."""
    ordered = frame.assign(_identity=frame["identity"].fillna("").astype(str))
    ordered = ordered.sort_values(["_identity", "path"], kind="stable")
    ordered["_turn"] = ordered.groupby("_identity").cumcount()
    ordered = ordered.sort_values(["_turn", "_identity", "path"], kind="stable")
    return [int(i) for i in ordered.index[:count]]


def family_faces(testset_csv: Path, label: int, count: int) -> list[Path]:
    """Files of `count` faces of class `label` (0 real, 1 fake) of one test set."""
    manifest = read_manifest(testset_csv)
    frame = manifest.frame.reset_index(drop=True)  # positions: what `abspath` takes
    rows = frame[frame["label"] == label]
    if len(rows) < count:
        kind = "real" if label == 0 else "fake"
        raise DataError(
            f"{testset_csv} has {len(rows)} {kind} rows, fewer than the {count} faces a row "
            f"of the figure shows; ask for fewer (--faces {len(rows)})"
        )
    return [manifest.abspath(i) for i in pick_rows(rows, count)]


def _tile(path: Path, size: int) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB").resize((size, size), Image.Resampling.BICUBIC)


def families_figure(
    testsets: Path,
    families: Sequence[str],
    out: Path,
    *,
    count: int = 8,
    size: int = 96,
    real_from: str | None = None,
) -> Path:
    """Write the figure: a real row, then one row per family, `count` faces of `size` px each.

    Args:
        testsets: the arena run's `testsets/` folder.
        families: fake families (test set names), in row order.
        out: the PNG to write (atomically).
        count: faces per row.
        size: each face's side in pixels (every face is resized to it).
        real_from: the test set whose real rows fill the real row (default: the first family).
    """
    rows = [(REAL, family_faces(testsets / f"{real_from or families[0]}.csv", 0, count))]
    rows += [(name, family_faces(testsets / f"{name}.csv", 1, count)) for name in families]
    canvas = Image.new("RGB", (LABEL_WIDTH + count * size, len(rows) * size), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for r, (name, files) in enumerate(rows):
        draw.text((6, r * size + size // 2 - 6), name, fill=(0, 0, 0))
        for c, file in enumerate(files):
            canvas.paste(_tile(file, size), (LABEL_WIDTH + c * size, r * size))
    return atomic_write_png(out, np.asarray(canvas))
