"""Reconstruction losses and metrics of task=faceswap, cross-checked against numpy/skimage."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from fakearena.errors import ConfigError
from fakearena.metrics.reconstruction import image_metrics
from fakearena.tasks.faceswap import metric_buffer, summarise_identities
from fakearena.tasks.faceswap_losses import reconstruction_loss


def _pair(seed: int = 0, batch: int = 3, size: int = 24) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(batch, 3, size, size, generator=g)
    recon = (target + 0.1 * torch.randn(batch, 3, size, size, generator=g)).clamp(0, 1)
    return recon, target


def test_metrics_match_independent_computations_and_the_suite_module():
    from fakearena.metrics.reconstruction import reconstruction_metrics

    recon, target = _pair()
    metrics = image_metrics(recon, target)
    r, t = recon.double().numpy(), target.double().numpy()
    mse = ((r - t) ** 2).reshape(len(r), -1).mean(1)
    np.testing.assert_allclose(metrics["mse"].numpy(), mse, rtol=1e-5)
    np.testing.assert_allclose(metrics["psnr"].numpy(), 10 * np.log10(1 / mse), rtol=1e-5)
    ssim = [
        structural_similarity(
            t[i].transpose(1, 2, 0),
            r[i].transpose(1, 2, 0),
            data_range=1.0,
            channel_axis=2,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
        for i in range(len(r))
    ]
    # torchmetrics pads nothing and skimage crops its border: same Gaussian SSIM, close values
    np.testing.assert_allclose(metrics["ssim"].numpy(), ssim, atol=0.02)
    suite = reconstruction_metrics(recon, target)
    assert suite["mse"] == pytest.approx(mse.mean(), rel=1e-5)
    assert suite["ssim"] == pytest.approx(float(metrics["ssim"].mean()), rel=1e-4)


def test_losses_follow_the_configured_mix():
    recon, target = _pair(1)
    mse = float((recon - target).pow(2).mean())
    l1 = float((recon - target).abs().mean())
    ssim = float(image_metrics(recon, target)["ssim"].mean())
    assert float(reconstruction_loss(recon, target)) == pytest.approx(mse, rel=1e-6)
    assert float(reconstruction_loss(recon, target, "l1")) == pytest.approx(l1, rel=1e-6)
    mixed = float(reconstruction_loss(recon, target, "mse", ssim_weight=0.25))
    assert mixed == pytest.approx(0.75 * mse + 0.25 * (1 - ssim), rel=1e-5)
    with pytest.raises(ConfigError, match=r"task\.loss"):
        reconstruction_loss(recon, target, "huber")
    with pytest.raises(ConfigError, match="ssim_weight"):
        reconstruction_loss(recon, target, "mse", 2.0)


def test_buffer_counts_each_row_once_and_summarises_per_identity():
    recon, target = _pair(2, batch=4)
    metrics = image_metrics(recon, target)
    buffer = metric_buffer()
    indices, codes = torch.tensor([10, 11, 12, 13]), torch.tensor([0, 1, 0, 1])
    buffer.add(indices, identity=codes, **metrics)
    buffer.add(indices[:2], identity=codes[:2], **{k: v[:2] for k, v in metrics.items()})  # DDP
    assert buffer.gather()[0].tolist() == [10, 11, 12, 13]  # padded repeats dropped
    summary = summarise_identities(buffer, ["a", "b"], "val")
    mse = metrics["mse"].double().numpy()
    assert summary["val/mse"] == (pytest.approx(mse.mean()), 4)
    assert summary["val/mse/a"] == (pytest.approx(mse[[0, 2]].mean()), 2)
    assert summary["val/mse/b"] == (pytest.approx(mse[[1, 3]].mean()), 2)
    assert summary["val/psnr/a"][0] == pytest.approx(10 * np.log10(1 / mse[[0, 2]].mean()))
    ssim = metrics["ssim"].double().numpy()
    assert summary["val/ssim"][0] == pytest.approx(ssim.mean())
