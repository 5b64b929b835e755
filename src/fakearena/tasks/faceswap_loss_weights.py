"""Where the face-swap loss looks: a face-shaped weight map and a priority on detail.

DeepFaceLab trains its autoencoders with the loss masked to the face and with extra weight
on the eyes and mouth, so the capacity goes to what a swap changes. Without landmarks or
segmentation masks here, `LossWeights` approximates both: weight 1 inside an ellipse over
the face (fractions of the model's input, which is usually a face crop, see
`fakearena.data.transforms.face_crop`), `outside` beyond it, and each pixel's weight multiplied by
`1 + detail * c`, where `c` in [0, 1] is the target's local contrast (the absolute difference
from its 5x5 mean, max over channels, saturating at 0.1): the eyes, brows, lips and edges of
the features get up to `1 + detail` times the weight of flat skin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from fakearena.errors import ConfigError
from fakearena.generation.blend import EllipseMask

_CONTRAST_WINDOW = 5
_CONTRAST_SATURATION = 0.1


@dataclass(frozen=True)
class LossWeights:
    """Per-pixel weights of the reconstruction loss.

    Attributes:
        center: (x, y) of the face ellipse, fractions of the model's input.
        axes: (x, y) semi-axes of the ellipse.
        feather: soft edge of the ellipse, as a fraction of its radius.
        outside: weight beyond the ellipse (1: no mask).
        detail: extra weight of high-contrast pixels (0: none).
    """

    center: tuple[float, float] = (0.5, 0.5)
    axes: tuple[float, float] = (0.5, 0.5)
    feather: float = 0.3
    outside: float = 1.0
    detail: float = 0.0
    _masks: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.outside <= 1.0:
            raise ConfigError(f"task.loss_weights.outside={self.outside} must be in [0, 1]")
        if self.detail < 0:
            raise ConfigError(f"task.loss_weights.detail={self.detail} must be >= 0")
        EllipseMask(center=self.center, axes=self.axes, feather=self.feather)  # checks geometry

    @classmethod
    def from_options(cls, options: Mapping[str, Any] | None) -> LossWeights:
        """Weights from the `task.loss_weights` mapping (None: uniform)."""
        options = dict(options or {})
        known = {"center", "axes", "feather", "outside", "detail"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(
                f"task.loss_weights has unknown key(s) {unknown}; keys are {sorted(known)}"
            )
        for key in ("center", "axes"):
            if key in options:
                options[key] = tuple(float(v) for v in options[key])
        return cls(**options)

    @property
    def uniform(self) -> bool:
        return self.outside == 1.0 and self.detail == 0.0

    def _mask(self, height: int, width: int, device: torch.device) -> torch.Tensor:
        key = (height, width, str(device))
        if key not in self._masks:
            ellipse = EllipseMask(center=self.center, axes=self.axes, feather=self.feather)
            mask = torch.from_numpy(ellipse.render(height, width)).to(device)
            self._masks[key] = self.outside + (1.0 - self.outside) * mask
        return self._masks[key]

    def __call__(
        self, target: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor | None:
        """(B,1,H,W) weights for a (B,C,H,W) target batch, or None when uniform.

        `mask` (B,1,H,W) in [0, 1], when given, replaces the ellipse: each row's own face
        mask (the learned-mask recipe's target), weight `outside + (1 - outside) * mask`.
        """
        if self.uniform:
            return None
        batch, channels, height, width = target.shape
        if mask is None:
            weights = self._mask(height, width, target.device).expand(batch, 1, height, width)
        else:
            weights = self.outside + (1.0 - self.outside) * mask.detach().to(target.dtype)
        if self.detail > 0:
            flat = target.detach().reshape(batch * channels, 1, height, width)
            pad = _CONTRAST_WINDOW // 2
            mean = F.avg_pool2d(
                F.pad(flat, (pad,) * 4, mode="replicate"), _CONTRAST_WINDOW, stride=1
            )
            contrast = (flat - mean).abs().view(batch, channels, height, width).amax(1, True)
            weights = weights * (1.0 + self.detail * (contrast / _CONTRAST_SATURATION).clamp(0, 1))
        return weights
