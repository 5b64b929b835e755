"""The box of a face image a face-swap model works on (DeepFaceLab's face type, fixed).

A face swap changes the inner face only, so the model need not spend its pixels on hair,
background and clothes: `FaceCrop(center, size)` is a box in fractions of the image (the
centre's x and y, the side as a fraction of the image's height and width), cut out and resized
to the model's input, and after the swap resized back and pasted into the image. The box is
the same for every image: faces are assumed roughly centred, as face crops are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from fakearena.errors import ConfigError


@dataclass(frozen=True)
class FaceCrop:
    """A box of an image in fractions of its sides.

    Attributes:
        center: (x, y) of the box centre.
        size: side of the box as a fraction of the image's width (and height).
    """

    center: tuple[float, float] = (0.5, 0.5)
    size: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 < self.size <= 1.0:
            raise ConfigError(f"task.crop.size={self.size} must be a fraction in (0, 1]")
        if len(self.center) != 2 or not all(0.0 <= c <= 1.0 for c in self.center):
            raise ConfigError(f"task.crop.center={self.center} must be (x, y) fractions in [0, 1]")

    @classmethod
    def from_options(cls, options: Mapping[str, Any] | None) -> FaceCrop | None:
        """A crop from the `task.crop` mapping (None: the whole image)."""
        if not options:
            return None
        unknown = sorted(set(options) - {"center", "size"})
        if unknown:
            raise ConfigError(f"task.crop has unknown key(s) {unknown}; keys are center, size")
        center = tuple(float(c) for c in options.get("center", cls.center))
        return cls(center=center, size=float(options.get("size", cls.size)))  # type: ignore[arg-type]

    def box(self, height: int, width: int) -> tuple[int, int, int, int]:
        """(top, left, box height, box width) in pixels, inside the image."""
        box_h, box_w = max(1, round(self.size * height)), max(1, round(self.size * width))
        top = min(max(round(self.center[1] * height - box_h / 2), 0), height - box_h)
        left = min(max(round(self.center[0] * width - box_w / 2), 0), width - box_w)
        return top, left, box_h, box_w

    def crop(self, images: torch.Tensor, side: int) -> torch.Tensor:
        """The boxes of (B,C,H,W) images resized to `side` x `side` (antialiased bilinear)."""
        top, left, box_h, box_w = self.box(*images.shape[-2:])
        patch = images[..., top : top + box_h, left : left + box_w]
        if (box_h, box_w) == (side, side):
            return patch
        return F.interpolate(
            patch, size=(side, side), mode="bilinear", align_corners=False, antialias=True
        ).clamp(0.0, 1.0)

    def paste(self, images: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
        """Copies of (B,C,H,W) `images` with `faces` resized into their box."""
        top, left, box_h, box_w = self.box(*images.shape[-2:])
        if tuple(faces.shape[-2:]) != (box_h, box_w):
            faces = F.interpolate(
                faces, size=(box_h, box_w), mode="bilinear", align_corners=False
            ).clamp(0.0, 1.0)
        out = images.clone()
        out[..., top : top + box_h, left : left + box_w] = faces.to(out.dtype)
        return out
