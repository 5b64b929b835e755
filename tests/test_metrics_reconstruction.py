"""Reconstruction MSE/PSNR against the objective's formula, SSIM against scikit-image."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from fakearena.metrics.reconstruction import image_metrics, reconstruction_metrics


def test_mse_psnr_follow_the_objective_and_per_image_values_add_up() -> None:
    generator = torch.Generator().manual_seed(0)
    target = torch.rand(6, 3, 24, 24, generator=generator)
    recon = (target + 0.1 * torch.randn(target.shape, generator=generator)).clamp(0, 1)
    per_image = ((recon - target) ** 2).flatten(1).sum(1)  # ||x_i - f(x_i)||^2
    expected = float(per_image.double().mean() / target[0].numel())
    result = reconstruction_metrics(recon, target)
    assert result["mse"] == pytest.approx(expected, rel=1e-6)
    halves = [image_metrics(recon[s], target[s]) for s in (slice(0, 2), slice(2, None))]
    pooled = torch.cat([h["mse"] for h in halves]).mean()
    assert float(pooled) == pytest.approx(expected, rel=1e-6)  # per-image values pool
    assert result["psnr"] == pytest.approx(10 * np.log10(1 / expected), rel=1e-6)
    assert reconstruction_metrics(target, target)["psnr"] == float("inf")


def test_ssim_matches_scikit_image() -> None:
    rng = np.random.default_rng(1)
    target = rng.random((1, 48, 48)).astype(np.float32)
    target = (target + np.roll(target, 1, 1) + np.roll(target, 1, 2)) / 3  # some structure
    recon = np.clip(target + rng.normal(0, 0.05, target.shape), 0, 1).astype(np.float32)
    ours = reconstruction_metrics(torch.from_numpy(recon[None]), torch.from_numpy(target[None]))
    reference = structural_similarity(
        target[0],
        recon[0],
        data_range=1.0,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
    )
    # torchmetrics and skimage differ at the borders
    assert ours["ssim"] == pytest.approx(reference, abs=2e-3)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        reconstruction_metrics(
            torch.from_numpy(recon[None]) * 2 - 1, torch.from_numpy(target[None])
        )
