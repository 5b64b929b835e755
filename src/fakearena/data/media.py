"""Media files: which files are images or videos, and decoding images with errors that name
the file and the fix (videos are decoded by `fakearena.faces.video`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from fakearena.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
VIDEO_SUFFIXES = (
    ".mp4",
    ".avi",
    ".mov",
    ".mkv",
    ".webm",
    ".m4v",
    ".mpg",
    ".mpeg",
    ".wmv",
    ".flv",
)


def is_image_file(path: str | os.PathLike[str]) -> bool:
    """True when the file name has a common image extension."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def is_video_file(path: str | os.PathLike[str]) -> bool:
    """True when the file name has a common video extension."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def load_image(path: str | os.PathLike[str], channels: int = 3) -> np.ndarray:
    """Decode an image file to uint8 (H, W, channels) RGB (or grayscale for channels=1).

    Raises:
        DataError: missing, truncated, corrupt or non-image file.
    """
    if channels not in (1, 3):
        raise DataError(f"channels must be 1 or 3, got {channels}")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"image file not found: {path}; fix the manifest row or the card's root")
    try:
        with Image.open(path) as image:
            image.load()  # decode now: truncated files fail here, not later
            converted = image.convert("L" if channels == 1 else "RGB")
    except UnidentifiedImageError as exc:
        raise DataError(
            f"{path} is not an image PIL can read (corrupt or another file type); "
            "remove the row or replace the file"
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path} is truncated or corrupt ({exc}); re-extract or remove it") from exc
    array = np.array(converted, dtype=np.uint8)  # a writable copy for torch.from_numpy
    return array[:, :, None] if channels == 1 else array
