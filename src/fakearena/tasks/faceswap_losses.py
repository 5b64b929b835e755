"""Reconstruction losses of task=faceswap: MSE or L1, optionally mixed with (1 - SSIM).

Both terms can be weighted per pixel (the face mask and detail priority of
`task.loss_weights`); without weights every pixel counts alike.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchmetrics.functional.image import structural_similarity_index_measure

from fakearena.errors import ConfigError
from fakearena.metrics.reconstruction import ssim_per_image

LOSSES = ("mse", "l1")


def reconstruction_loss(
    recon: torch.Tensor,
    target: torch.Tensor,
    kind: str = "mse",
    ssim_weight: float = 0.0,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """`(1 - w) * base + w * (1 - SSIM)` with base MSE or L1.

    `weights` (B,1,H,W), when given, makes both terms weighted means over the pixels;
    None weighs every pixel alike.
    """
    if kind not in LOSSES:
        raise ConfigError(f"task.loss={kind!r}; use one of {list(LOSSES)}")
    if not 0.0 <= ssim_weight <= 1.0:
        raise ConfigError(f"task.ssim_weight={ssim_weight} must be in [0, 1]")
    if weights is None:
        base = F.mse_loss(recon, target) if kind == "mse" else F.l1_loss(recon, target)
    else:
        error = (recon - target).square() if kind == "mse" else (recon - target).abs()
        base = _weighted_mean(error, weights)
    if ssim_weight == 0.0:
        return base
    if weights is None:
        ssim = ssim_per_image(recon, target).mean()
    else:
        _, ssim_map = structural_similarity_index_measure(
            recon.float(), target.float(), data_range=1.0, reduction="none", return_full_image=True
        )
        ssim = _weighted_mean(ssim_map, weights)
    return (1.0 - ssim_weight) * base + ssim_weight * (1.0 - ssim)


def _weighted_mean(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Mean of (B,C,H,W) `values` with (B,1,H,W) pixel weights."""
    return (values * weights).sum() / (weights.sum() * values.shape[1]).clamp_min(1e-12)
