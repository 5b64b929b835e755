"""68-point face landmarks in manifests: the `landmarks68` column and the shapes drawn from it.

`faces extract` writes, per crop, the 68 points of the iBUG 300-W markup (dlib's shape
predictor, `fakearena.faces.landmarks`) as `landmarks68`: 136 numbers `x0 y0 ... x67 y67` in
the crop's continuous pixel coordinates (top-left corner at (0, 0)); empty when the predictor
found none. Point groups: jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fakearena.errors import DataError

LANDMARKS_COLUMN = "landmarks68"
N_LANDMARKS = 68
JAW = tuple(range(0, 17))
BROWS = tuple(range(17, 27))
NOSE = tuple(range(27, 36))
LEFT_EYE = tuple(range(36, 42))  # the eye on the image's left (the person's right eye)
RIGHT_EYE = tuple(range(42, 48))
MOUTH = tuple(range(48, 68))


def format_landmarks(points: np.ndarray | None, digits: int = 2) -> str:
    """(68, 2) points as `landmarks68` text (x0 y0 x1 y1 ...; '' for None)."""
    if points is None:
        return ""
    return " ".join(f"{float(v):.{digits}f}" for v in np.asarray(points).reshape(-1))


def is_empty(text: Any) -> bool:
    """True for an empty `landmarks68` cell (None, NaN or blank)."""
    return text is None or (isinstance(text, float) and np.isnan(text)) or str(text).strip() == ""


def parse_landmarks(text: Any, where: str = "landmarks68") -> np.ndarray | None:
    """A `landmarks68` cell as float32 (68, 2), None when empty.

    Raises:
        DataError: a value that is not 136 finite numbers (the message starts with `where`).
    """
    if is_empty(text):
        return None
    try:
        values = np.array([float(v) for v in str(text).split()], dtype=np.float32)
    except ValueError as exc:
        raise DataError(
            f"{where}: landmarks68 must be {2 * N_LANDMARKS} numbers separated by spaces "
            f"({exc}); extract the faces again or clear the cell"
        ) from exc
    if values.size != 2 * N_LANDMARKS or not np.isfinite(values).all():
        raise DataError(
            f"{where}: landmarks68 holds {values.size} values; it must be {2 * N_LANDMARKS} "
            "finite numbers x0 y0 ... x67 y67 in crop pixels; extract the faces again or clear "
            "the cell"
        )
    return values.reshape(N_LANDMARKS, 2)


def invalid_landmark_rows(column: pd.Series) -> list[int]:
    """0-based positions of the cells of a `landmarks68` column that do not parse."""
    bad = []
    for position, text in enumerate(column.tolist()):
        try:
            parse_landmarks(text)
        except DataError:
            bad.append(position)
    return bad


def five_points(landmarks: np.ndarray) -> np.ndarray:
    """The 5 alignment points of 68 (eye centres, nose tip, mouth corners: MTCNN's order)."""
    marks = np.asarray(landmarks, dtype=np.float64)
    return np.stack(
        [
            marks[list(LEFT_EYE)].mean(axis=0),
            marks[list(RIGHT_EYE)].mean(axis=0),
            marks[30],
            marks[48],
            marks[54],
        ]
    )


def scale_landmarks(points: np.ndarray, from_size: tuple[int, int], to_size: tuple[int, int]):
    """Points of an image of (height, width) `from_size` in an image resized to `to_size`."""
    sy = to_size[0] / from_size[0]
    sx = to_size[1] / from_size[1]
    return np.asarray(points, dtype=np.float32) * np.array([sx, sy], dtype=np.float32)
