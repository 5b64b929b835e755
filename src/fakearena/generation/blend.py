"""Blending a swapped face back into its source image.

A swapped face is pasted through a soft (feathered) elliptical mask, so the fake is a whole
image whose border and background are the source's own pixels, not a square patch. Before
pasting, its colours can be brought to the source's (`colour`):
- `mean_std`: per-channel mean and standard deviation matched inside the mask (Reinhard-style
  transfer; it also cancels real differences inside the mask, e.g. a darker beard);
- `skin`: a per-channel gain that makes the median of a small skin patch at the face centre
  (between the eyes and the mouth) equal to the source's, as the synthetic blend matches skin
  tones; features keep their contrast;
- `rct`: Reinhard colour transfer in L*a*b* inside the mask (DeepFaceLab's RCT);
- `lct`: linear colour transfer of the RGB mean and covariance inside the mask (DeepFaceLab's
  LCT); both in `fakearena.generation.colour_transfer`;
- `none`: the face's own colours.
The mask is the feathered ellipse (`mask: ellipse`) or, for a network that predicts one, the
swapped face's predicted mask (`predicted`) or its product with the mask the network predicts
for the target's own face (`predicted_both`, DeepFaceLab's learned-prd*learned-dst).
Images are uint8 (H,W,3) or float (H,W,3) in [0,1]; masks float (H,W) in [0,1].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from fakearena.errors import ConfigError
from fakearena.generation.colour_transfer import linear_transfer, reinhard_transfer


@dataclass(frozen=True)
class EllipseMask:
    """Geometry of the face mask, in fractions of the image width/height.

    Attributes:
        center: (x, y) of the ellipse centre.
        axes: (x, y) semi-axes.
        feather: width of the soft edge as a fraction of the radius (0 = hard edge).
    """

    center: tuple[float, float] = (0.5, 0.52)
    axes: tuple[float, float] = (0.36, 0.44)
    feather: float = 0.25

    def __post_init__(self) -> None:
        if not 0.0 <= self.feather < 1.0:
            raise ConfigError(f"blend feather={self.feather} must be in [0, 1)")
        if min(self.axes) <= 0:
            raise ConfigError(f"blend axes={self.axes} must be positive fractions of the image")

    def render(self, height: int, width: int) -> np.ndarray:
        """(height, width) float32 mask: 1 inside, smooth ramp to 0 at the ellipse edge."""
        ys = (np.arange(height) + 0.5) / height
        xs = (np.arange(width) + 0.5) / width
        dx = (xs[None, :] - self.center[0]) / self.axes[0]
        dy = (ys[:, None] - self.center[1]) / self.axes[1]
        radius = np.sqrt(dx**2 + dy**2)
        if self.feather == 0.0:
            return (radius <= 1.0).astype(np.float32)
        t = np.clip((1.0 - radius) / self.feather, 0.0, 1.0)
        return (t * t * (3.0 - 2.0 * t)).astype(np.float32)  # smoothstep


def _as_float(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image.astype(np.float64) / 255.0
    return image.astype(np.float64)


def masked_stats(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of `image` weighted by `mask`."""
    weights = mask.astype(np.float64)[..., None]
    total = weights.sum()
    if total <= 0:
        raise ValueError("the blend mask is empty; enlarge the ellipse axes")
    mean = (image * weights).sum((0, 1)) / total
    var = (((image - mean) ** 2) * weights).sum((0, 1)) / total
    return mean, np.sqrt(var)


def match_colours(face: np.ndarray, source: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`face` (float [0,1]) with its masked per-channel mean/std set to those of `source`."""
    face, source = _as_float(face), _as_float(source)
    face_mean, face_std = masked_stats(face, mask)
    source_mean, source_std = masked_stats(source, mask)
    scale = source_std / np.maximum(face_std, 1e-6)
    return (face - face_mean) * scale + source_mean


COLOURS = ("none", "mean_std", "skin", "rct", "lct")
MASK_MODES = ("ellipse", "predicted", "predicted_both")
# The skin patch of `colour="skin"`: the face centre of a centred face crop (image fractions).
SKIN_PATCH = EllipseMask(center=(0.5, 0.54), axes=(0.06, 0.05), feather=0.0)
_GAIN_RANGE = (0.5, 2.0)


def skin_patch(height: int, width: int) -> np.ndarray:
    """(H, W) bool: the skin patch of `colour="skin"` (at least the pixel at its centre)."""
    patch = SKIN_PATCH.render(height, width) > 0.5
    row = min(int(SKIN_PATCH.center[1] * height), height - 1)
    col = min(int(SKIN_PATCH.center[0] * width), width - 1)
    patch[row, col] = True
    return patch


def skin_gain(face: np.ndarray, source: np.ndarray, patch: np.ndarray) -> np.ndarray:
    """`face` (float [0,1]) times the per-channel gain that matches its median colour on the
    boolean `patch` to the source's (gain clipped to [0.5, 2])."""
    face, source = _as_float(face), _as_float(source)
    gain = np.median(source[patch], axis=0) / np.maximum(np.median(face[patch], axis=0), 1e-3)
    return face * np.clip(gain, *_GAIN_RANGE)


def blend_back(
    source: np.ndarray,
    face: np.ndarray,
    mask: np.ndarray,
    colour: str | bool = "mean_std",
) -> np.ndarray:
    """The source image with `face` pasted through `mask`, as uint8 (H,W,3).

    Where the mask is 0 the result is the source exactly; where it is 1 it is the face, its
    colours brought to the source's by `colour` (one of `COLOURS`; True/False are the old
    spelling of "mean_std"/"none").
    """
    if source.shape != face.shape or source.shape[:2] != mask.shape:
        raise ValueError(
            f"blend_back needs equal sizes, got source {source.shape}, face {face.shape}, "
            f"mask {mask.shape}"
        )
    colour = _colour(colour)
    if not np.any(mask > 0):  # nothing to paste (a predicted mask can be empty)
        return np.clip(np.round(_as_float(source) * 255.0), 0, 255).astype(np.uint8)
    base = _as_float(source)
    if colour == "mean_std":
        pasted = match_colours(face, source, mask)
    elif colour == "skin":
        pasted = skin_gain(face, source, skin_patch(*source.shape[:2]))
    elif colour == "rct":
        pasted = reinhard_transfer(_as_float(face), base, mask)
    elif colour == "lct":
        pasted = linear_transfer(_as_float(face), base, mask)
    else:
        pasted = _as_float(face)
    alpha = mask.astype(np.float64)[..., None]
    out = alpha * np.clip(pasted, 0.0, 1.0) + (1.0 - alpha) * base
    blended = np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)
    if source.dtype == np.uint8:
        blended[mask == 0] = source[mask == 0]  # bit-exact outside the mask
    return blended


def _colour(value: str | bool) -> str:
    if isinstance(value, bool):
        return "mean_std" if value else "none"
    if value not in COLOURS:
        raise ConfigError(f"blend colour={value!r}; use one of {list(COLOURS)}")
    return value


BLEND_KEYS = ("center", "axes", "feather", "colour", "mask")


def mask_mode(options: Mapping[str, Any] | None) -> str:
    """Which mask a `blend` mapping pastes through (`MASK_MODES`; default the ellipse)."""
    mode = dict(options or {}).get("mask", "ellipse")
    if mode not in MASK_MODES:
        raise ConfigError(f"blend mask={mode!r}; use one of {list(MASK_MODES)}")
    return str(mode)


def blend_options(options: Mapping[str, Any] | None) -> tuple[EllipseMask, str]:
    """The ellipse geometry and colour transfer of a `blend` mapping (a face-swap run's
    `task.blend`, or `fakearena generate ... blend.<key>=...`; its `mask` key is read by
    `mask_mode`); `colour_match: true|false` is accepted for `colour: mean_std|none`."""
    mask_mode(options)
    options = dict(options or {})
    options.pop("mask", None)
    if "colour_match" in options:
        legacy = options.pop("colour_match")
        options.setdefault("colour", _colour(bool(legacy)))
    colour = _colour(options.pop("colour", "mean_std"))
    unknown = sorted(set(options) - set(BLEND_KEYS))
    if unknown:
        raise ConfigError(f"blend has unknown key(s) {unknown}; keys are {list(BLEND_KEYS)}")
    for key in ("center", "axes"):
        if key in options:
            options[key] = tuple(float(v) for v in options[key])
    return EllipseMask(**options), colour
