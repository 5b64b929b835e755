"""Reconstruction metrics on [0, 1] images: MSE as in the objective, PSNR, SSIM.

MSE is `1/N sum_i ||x_i - f(x_i)||^2` taken per pixel: the mean squared difference over every
channel value of every image, on [0, 1] images. PSNR is `10 log10(1 / MSE)` over the whole set
(data range 1); SSIM is torchmetrics' Gaussian-window SSIM averaged over images.
"""

from __future__ import annotations

import torch
from torchmetrics import Metric
from torchmetrics.image import StructuralSimilarityIndexMeasure


def _check(recon: torch.Tensor, target: torch.Tensor) -> None:
    if recon.shape != target.shape or recon.ndim != 4:
        raise ValueError(f"expected two (B, C, H, W) tensors of one shape, got "
                         f"{tuple(recon.shape)} and {tuple(target.shape)}")
    lo = min(float(recon.min()), float(target.min()))
    hi = max(float(recon.max()), float(target.max()))
    if lo < -1e-6 or hi > 1 + 1e-6:
        raise ValueError(f"reconstruction metrics take [0, 1] images, got values in "
                         f"[{lo:.3g}, {hi:.3g}]; rescale first (e.g. (x + 1) / 2)")


class ReconstructionMetrics(Metric):
    """Streaming MSE, PSNR and SSIM; DDP-safe (sums and counts reduce by addition)."""

    full_state_update = False
    is_differentiable = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.add_state("squared_error", torch.zeros((), dtype=torch.float64),
                       dist_reduce_fx="sum")
        self.add_state("values", torch.zeros((), dtype=torch.long), dist_reduce_fx="sum")
        self.ssim = StructuralSimilarityIndexMeasure(data_range=1.0)

    def update(self, recon: torch.Tensor, target: torch.Tensor) -> None:
        _check(recon, target)
        recon, target = recon.detach(), target.detach()
        self.squared_error += (recon.double() - target.double()).pow(2).sum()
        self.values += target.numel()
        self.ssim.update(recon.float(), target.float())

    def compute(self) -> dict[str, float]:
        if int(self.values) == 0:
            raise ValueError("no images were given to the reconstruction metrics")
        mse = float(self.squared_error / self.values)
        psnr = float("inf") if mse == 0 else float(-10 * torch.log10(torch.tensor(mse)))
        return {"mse": mse, "psnr": psnr, "ssim": float(self.ssim.compute())}

    def reset(self) -> None:
        super().reset()
        self.ssim.reset()


def reconstruction_metrics(recon: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """MSE, PSNR and SSIM of one batch of [0, 1] images (B, C, H, W)."""
    metrics = ReconstructionMetrics()
    metrics.update(recon, target)
    return metrics.compute()
