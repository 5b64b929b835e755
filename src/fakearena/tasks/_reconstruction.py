"""Reconstruction losses and per-image metrics of the face-swap task.

MSE is the objective `1/N sum_i ||x_i - f(x_i)||^2` as a per-pixel mean on [0,1] images;
PSNR is `10 log10(1 / MSE)` of that mean; SSIM is torchmetrics' Gaussian-window SSIM (11x11,
sigma 1.5, data range 1) per image, averaged: the protocol of
`fakearena.metrics.reconstruction`. Here the per-image values are kept by row index, so a
DDP evaluation counts every face exactly once and can be summarised per identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torchmetrics.functional.image import structural_similarity_index_measure

from fakearena.errors import ConfigError

LOSSES = ("mse", "l1")
METRICS = ("mse", "psnr", "ssim")


def ssim_per_image(recon: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B,) SSIM of each reconstruction against its target, images in [0,1]."""
    return structural_similarity_index_measure(
        recon.float(), target.float(), data_range=1.0, reduction="none"
    ).view(-1)


def reconstruction_loss(
    recon: torch.Tensor,
    target: torch.Tensor,
    kind: str = "mse",
    ssim_weight: float = 0.0,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """`(1 - w) * base + w * (1 - SSIM)` with base MSE or L1 (per-pixel means).

    `weights` (B,1,H,W), when given, makes both terms weighted means over the pixels
    (`fakearena.tasks.faceswap_loss`); None weighs every pixel alike.
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


def image_metrics(recon: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-image (B,) MSE, PSNR (dB) and SSIM of reconstructions in [0,1]."""
    mse = (recon.float() - target.float()).pow(2).flatten(1).mean(1)
    psnr = 10.0 * torch.log10(1.0 / mse.clamp_min(1e-10))
    return {"mse": mse, "psnr": psnr, "ssim": ssim_per_image(recon, target)}


@dataclass
class MetricBuffer:
    """Per-row metrics of an epoch, gathered across DDP ranks exactly once (keyed by row)."""

    parts: list[np.ndarray] = field(default_factory=list)

    def add(self, indices: torch.Tensor, codes: torch.Tensor, metrics: dict[str, torch.Tensor]):
        columns = [indices, codes] + [metrics[name] for name in METRICS]
        rows = torch.stack([c.detach().double().cpu() for c in columns], 1)
        self.parts.append(rows.numpy())

    def reset(self) -> None:
        self.parts.clear()

    def gather(self) -> np.ndarray:
        """(N, 2 + len(METRICS)) rows [index, identity code, mse, psnr, ssim], unique index."""
        local = np.concatenate(self.parts) if self.parts else np.empty((0, 2 + len(METRICS)))
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            parts: list = [None] * dist.get_world_size()
            dist.all_gather_object(parts, local)
            local = np.concatenate(parts)
        _, first = np.unique(local[:, 0], return_index=True)
        return local[first]


def _summary(rows: np.ndarray) -> dict[str, float]:
    mse = float(rows[:, 2].mean())
    return {"mse": mse, "psnr": 10.0 * np.log10(1.0 / max(mse, 1e-10)), "ssim": rows[:, 4].mean()}


def summarise(rows: np.ndarray, names: list[str], stage: str) -> dict[str, tuple[float, int]]:
    """`{stage/metric: (value, n)}` overall and `{stage/metric/<identity>: ...}` per identity."""
    out: dict[str, tuple[float, int]] = {}
    groups = [("", rows)] + [(f"/{name}", rows[rows[:, 1] == c]) for c, name in enumerate(names)]
    for suffix, group in groups:
        if len(group):
            for metric, value in _summary(group).items():
                out[f"{stage}/{metric}{suffix}"] = (float(value), len(group))
    return out
