"""Inception features of generated and real images, on the protocol of `fakearena.metrics`.

Images enter as float [0, 1] (the uint8-equivalent range; the extractor rounds to 8-bit
levels); grayscale images are repeated to 3 channels, as Inception needs RGB.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from fakearena.errors import DataError


def to_rgb(images: torch.Tensor) -> torch.Tensor:
    """(B, 1 or 3, H, W) -> (B, 3, H, W)."""
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


def inception_features(
    images: torch.Tensor,
    batch_size: int | None = None,
    *,
    device: torch.device | str = "cpu",
    weights: str | None = None,
    weights_sha256: str | None = None,
) -> np.ndarray:
    """(N, 2048) float64 pool3 features of images in [0, 1], computed on `device`.

    `weights`/`weights_sha256`: another Inception file (`metrics.fid.*`); `batch_size` None:
    the extractor's default for the device.
    """
    from fakearena.metrics.inception import cached_extractor

    extractor = cached_extractor(weights, weights_sha256, batch_size, str(torch.device(device)))
    return extractor(to_rgb(images.detach().clamp(0.0, 1.0))).cpu().numpy()


def inception_protocol(
    weights: str | None = None, weights_sha256: str | None = None, **_: Any
) -> dict[str, Any]:
    """What a result records about the feature extractor (weights hash, resize)."""
    from fakearena.metrics.inception import resolve_weights

    return dict(resolve_weights(weights, weights_sha256).protocol())


def check_sizes(n_real: int, n_fake: int, k: int) -> None:
    """A DataError naming the fix when a side is too small for FID/KID and k-NN PRDC."""
    need = max(2, int(k) + 1)
    if n_real < need or n_fake < need:
        raise DataError(
            f"FID/KID/PRDC (k={k}) need at least {need} real and {need} generated images, got "
            f"{n_real} real and {n_fake} generated; the evaluation split needs real rows "
            "(label 0): raise limit_val_batches, check the manifest's val/test rows, or raise "
            "task.fid_n; with data.reference=people (the default) the held-out shots are "
            "data.val_fraction/test_fraction of each training person's rows: raise them, or "
            "judge against the split column with data.reference=split"
        )
