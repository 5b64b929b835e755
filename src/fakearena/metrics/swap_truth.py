"""How close face swaps come to the true swap, over the pixels a swap has to change.

For a fake with a known truth (the synthetic renderer draws the perfect swap of the same shot,
`SyntheticRenderer.render_swap`), the *swap region* is the set of pixels where the truth
differs from the untouched source image in any channel (exact uint8 inequality). The
threshold is exact on purpose: truth and source share the shot's sensor-noise draw, so every
pixel outside the donor's features is bit-identical, and every pixel inside differs because
the face there is another person's (a beard's faint edge differs by a level or two, and is
still part of the swap).

Over that region, per image (uint8 images scaled to [0, 1]):
- MSE of the fake against the truth, and of the source against the truth (the "did nothing"
  baseline); PSNR = `10 log10(1 / MSE)` of the mean of the per-image MSEs over the set (the
  reconstruction protocol of `fakearena.metrics.reconstruction`), so `truth_gain_db` = fake
  PSNR - source PSNR says how far a swap moved towards the truth (negative: it made the image
  worse than doing nothing);
- SSIM: the Gaussian-window SSIM map (11 taps, sigma 1.5, data range 1, K1 0.01, K2 0.03,
  symmetric borders) of each channel, averaged over the region and the channels;
- closer: whether the fake is nearer the truth than its own source (MSE over the region);
  `closer_to_truth` is the share of such fakes.

Outside the region a swap should change nothing (truth and source are identical there), so
its damage is counted separately: `outside_rmse` is the root of the mean per-image MSE of
the fake against the source over the other pixels, in grey levels (0-255; 0: untouched);
`outside_changed` is the share of those pixels changed by more than 2 grey levels in any
channel. Two fake sets of the same rows have the same regions, so their truth metrics and
their damage compare like for like.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

# Metric names, in display order (keys `<stage>/<name>` in results.json).
TRUTH_METRICS = (
    "truth_psnr",
    "truth_ssim",
    "source_psnr",
    "source_ssim",
    "truth_gain_db",
    "closer_to_truth",
    "outside_rmse",
    "outside_changed",
)
CHANGED_LEVELS = 2  # a pixel outside the region counts as changed beyond this many levels
_SIGMA, _RADIUS, _K1, _K2 = 1.5, 5, 0.01, 0.03


@dataclass(frozen=True)
class TruthScore:
    """One fake against its truth and source, over its swap region."""

    region_pixels: int
    mse_fake_truth: float
    mse_source_truth: float
    mse_fake_source: float
    ssim_fake_truth: float
    ssim_source_truth: float
    mse_outside: float = 0.0
    changed_outside: float = 0.0

    @property
    def closer(self) -> bool:
        """The fake is nearer the truth than its source (strictly, by MSE over the region)."""
        return self.mse_fake_truth < self.mse_fake_source

    def to_dict(self) -> dict[str, float | int | bool]:
        return {**asdict(self), "closer": self.closer}


def _float(image: np.ndarray, name: str) -> np.ndarray:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f"swap truth metrics take H x W x 3 uint8 images; {name} is "
            f"{image.dtype} {tuple(image.shape)}"
        )
    return image.astype(np.float64) / 255.0


def swap_region(truth: np.ndarray, source: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels where the truth differs from the source in any channel."""
    return np.any(truth != source, axis=2)


def _gaussian_taps() -> np.ndarray:
    x = np.arange(-_RADIUS, _RADIUS + 1, dtype=np.float64)
    taps = np.exp(-0.5 * (x / _SIGMA) ** 2)
    return taps / taps.sum()


_TAPS = _gaussian_taps()


def _smooth(x: np.ndarray) -> np.ndarray:
    """Separable Gaussian filter of (H, W, C) images over H and W, symmetric borders."""
    padded = np.pad(x, ((_RADIUS, _RADIUS), (_RADIUS, _RADIUS), (0, 0)), mode="symmetric")
    height, width = x.shape[:2]
    rows = sum(w * padded[k : k + height] for k, w in enumerate(_TAPS))
    return sum(w * rows[:, k : k + width] for k, w in enumerate(_TAPS))


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(H, W, C) SSIM map of two float images in [0, 1] (population covariances)."""
    c1, c2 = _K1**2, _K2**2
    mu_a, mu_b = _smooth(a), _smooth(b)
    var_a = _smooth(a * a) - mu_a * mu_a
    var_b = _smooth(b * b) - mu_b * mu_b
    cov = _smooth(a * b) - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)
    )


def truth_score(fake: np.ndarray, truth: np.ndarray, source: np.ndarray) -> TruthScore | None:
    """Score one fake (uint8 H x W x 3 each); None when truth equals source (no region)."""
    if not fake.shape == truth.shape == source.shape:
        raise ValueError(
            f"fake {fake.shape}, truth {truth.shape} and source {source.shape} must have one "
            "shape; render the truth at the fake's size"
        )
    region = swap_region(truth, source)
    pixels = int(region.sum())
    if pixels == 0:
        return None
    f, t, s = _float(fake, "fake"), _float(truth, "truth"), _float(source, "source")

    def mse(x: np.ndarray, y: np.ndarray) -> float:
        return float(np.square(x - y)[region].mean())

    outside = ~region
    if outside.any():
        mse_outside = float(np.square(f - s)[outside].mean())
        levels = np.abs(fake.astype(np.int16) - source.astype(np.int16)).max(axis=2)
        changed = float((levels[outside] > CHANGED_LEVELS).mean())
    else:
        mse_outside, changed = 0.0, 0.0

    return TruthScore(
        region_pixels=pixels,
        mse_fake_truth=mse(f, t),
        mse_source_truth=mse(s, t),
        mse_fake_source=mse(f, s),
        ssim_fake_truth=float(ssim_map(f, t)[region].mean()),
        ssim_source_truth=float(ssim_map(s, t)[region].mean()),
        mse_outside=mse_outside,
        changed_outside=changed,
    )


def _psnr(mse: float) -> float:
    return float(10.0 * np.log10(1.0 / max(mse, 1e-10)))


def summarise_truth(scores: Iterable[TruthScore]) -> dict[str, float]:
    """The set's `TRUTH_METRICS` (plus `n`, the fakes scored) from per-fake scores.

    Raises:
        ValueError: no scores (no fake with a swap region to compare).
    """
    scores = list(scores)
    if not scores:
        raise ValueError("no fake with a known truth and a non-empty swap region to score")
    fake_mse = float(np.mean([s.mse_fake_truth for s in scores]))
    source_mse = float(np.mean([s.mse_source_truth for s in scores]))
    return {
        "truth_psnr": _psnr(fake_mse),
        "truth_ssim": float(np.mean([s.ssim_fake_truth for s in scores])),
        "source_psnr": _psnr(source_mse),
        "source_ssim": float(np.mean([s.ssim_source_truth for s in scores])),
        "truth_gain_db": _psnr(fake_mse) - _psnr(source_mse),
        "closer_to_truth": float(np.mean([s.closer for s in scores])),
        "outside_rmse": 255.0 * float(np.sqrt(np.mean([s.mse_outside for s in scores]))),
        "outside_changed": float(np.mean([s.changed_outside for s in scores])),
        "n": len(scores),
    }
