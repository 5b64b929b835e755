"""Reconstruction metrics on [0, 1] images: MSE as in the objective, PSNR, SSIM.

MSE is `1/N sum_i ||x_i - f(x_i)||^2` taken per pixel: the mean squared difference over every
channel value of every image, on [0, 1] images. PSNR of a set is `10 log10(1 / MSE)` of the
set's mean MSE (data range 1); SSIM is torchmetrics' Gaussian-window SSIM (11x11, sigma 1.5,
data range 1) per image, averaged. Per-image values (`image_metrics`) let a task key them by
row, so a DDP evaluation counts every face once and can be summarised per identity.
"""

from __future__ import annotations

import numpy as np
import torch
from torchmetrics.functional.image import structural_similarity_index_measure

METRICS = ("mse", "psnr", "ssim")


def _check(recon: torch.Tensor, target: torch.Tensor) -> None:
    if recon.shape != target.shape or recon.ndim != 4:
        raise ValueError(
            f"expected two (B, C, H, W) tensors of one shape, got "
            f"{tuple(recon.shape)} and {tuple(target.shape)}"
        )
    lo = min(float(recon.min()), float(target.min()))
    hi = max(float(recon.max()), float(target.max()))
    if lo < -1e-6 or hi > 1 + 1e-6:
        raise ValueError(
            f"reconstruction metrics take [0, 1] images, got values in "
            f"[{lo:.3g}, {hi:.3g}]; rescale first (e.g. (x + 1) / 2)"
        )


def ssim_per_image(recon: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B,) SSIM of each reconstruction against its target, images in [0,1]."""
    return structural_similarity_index_measure(
        recon.float(), target.float(), data_range=1.0, reduction="none"
    ).view(-1)


def psnr_from_mse(mse: float) -> float:
    """PSNR in dB of a mean squared error on [0, 1] images (inf for a perfect match)."""
    return float("inf") if mse <= 0 else float(10.0 * np.log10(1.0 / mse))


def image_metrics(recon: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-image (B,) MSE, PSNR (dB) and SSIM of reconstructions in [0,1]."""
    mse = (recon.double() - target.double()).pow(2).flatten(1).mean(1)
    psnr = 10.0 * torch.log10(1.0 / mse.clamp_min(1e-10))
    return {"mse": mse, "psnr": psnr, "ssim": ssim_per_image(recon, target).double()}


def summarise(mse: np.ndarray, ssim: np.ndarray) -> dict[str, float]:
    """Set-level metrics from per-image values: mean MSE, PSNR of that mean, mean SSIM."""
    mean_mse = float(np.mean(mse))
    return {"mse": mean_mse, "psnr": psnr_from_mse(mean_mse), "ssim": float(np.mean(ssim))}


def reconstruction_metrics(recon: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """MSE, PSNR and SSIM of a set of [0, 1] images (B, C, H, W)."""
    _check(recon, target)
    per_image = image_metrics(recon.detach(), target.detach())
    return summarise(per_image["mse"].numpy(), per_image["ssim"].numpy())
