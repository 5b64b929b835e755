"""Blend masks: which pixels of a fake were pasted in, and how strongly.

A blend mask M is float (H, W) in [0, 1]: the weight with which the pasted face replaced the
target's pixel (0 = the target's own pixel, 1 = wholly pasted). Fakes made by blending know
theirs: the synthetic renderer computes it, and a written blended fake keeps it beside the
image as a grayscale PNG (255 = 1) named in the manifest's optional `mask` column (relative to
the manifest root, like `path`). Reals have M = 0 everywhere; other fakes (GAN images, public
datasets) leave the column empty: their mask is unknown.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from fakearena.data.manifest import MASK_COLUMN
from fakearena.errors import DataError

__all__ = ["MASK_COLUMN", "mask_path_for", "mask_png", "read_mask"]

MASK_SUFFIX = ".mask.png"


def mask_path_for(image_path: str) -> str:
    """The companion mask of an image path: `a/b.png` -> `a/b.mask.png`."""
    stem, dot, _ = image_path.rpartition(".")
    return f"{stem if dot else image_path}{MASK_SUFFIX}"


def mask_png(mask: np.ndarray) -> bytes:
    """PNG bytes of a float (H, W) mask in [0, 1] as 8-bit grayscale (255 = 1)."""
    if mask.ndim != 2:
        raise ValueError(f"a blend mask is (H, W), got shape {mask.shape}")
    pixels = np.clip(np.round(np.asarray(mask, np.float64) * 255.0), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def read_mask(path: str | os.PathLike[str]) -> np.ndarray:
    """A mask file as float32 (H, W) in [0, 1] (8- or 16-bit grayscale; colour is averaged).

    Raises:
        DataError: missing, corrupt or unreadable file.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"blend mask file not found: {path}; fix the manifest's mask column or clear it "
            "for this row (an empty mask means unknown)"
        )
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("I;16", "I;16B", "I"):
                array = np.asarray(image, dtype=np.float32) / 65535.0
            else:
                array = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"blend mask {path} cannot be read ({exc}); rewrite or remove it") from exc
    return np.clip(array, 0.0, 1.0)
