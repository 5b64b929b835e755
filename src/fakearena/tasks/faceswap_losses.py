"""Reconstruction losses of task=faceswap: MSE or L1, optionally mixed with (1 - SSIM)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fakearena.errors import ConfigError
from fakearena.metrics.reconstruction import ssim_per_image

LOSSES = ("mse", "l1")


def reconstruction_loss(
    recon: torch.Tensor, target: torch.Tensor, kind: str = "mse", ssim_weight: float = 0.0
) -> torch.Tensor:
    """`(1 - w) * base + w * (1 - SSIM)` with base MSE or L1 (per-pixel means)."""
    if kind not in LOSSES:
        raise ConfigError(f"task.loss={kind!r}; use one of {list(LOSSES)}")
    if not 0.0 <= ssim_weight <= 1.0:
        raise ConfigError(f"task.ssim_weight={ssim_weight} must be in [0, 1]")
    base = F.mse_loss(recon, target) if kind == "mse" else F.l1_loss(recon, target)
    if ssim_weight == 0.0:
        return base
    return (1.0 - ssim_weight) * base + ssim_weight * (1.0 - ssim_per_image(recon, target).mean())
