"""FID and KID: the distance math and DDP-safe torchmetrics `Metric`s on Inception features.

FID keeps streaming float64 sums (sum of features, sum of outer products, count), so its memory
does not grow with N and its states sum across DDP ranks. The covariance uses N - 1. The
Frechet distance uses the eigenvalues of `sigma1 @ sigma2`, computed as the eigenvalues of the
similar symmetric matrix `sqrt(sigma1) @ sigma2 @ sqrt(sigma1)` (two symmetric
eigendecompositions, no `scipy.linalg.sqrtm`). FID is biased at small N: always report N, and
KID (unbiased) beside it. With fewer than 2048 samples the covariance is rank-deficient; the
value is computed and the result says so.

KID keeps every feature (float32, 8 KiB per image) because its unbiased MMD^2 estimate draws
subsets from the whole sample; 10k images per side hold about 160 MiB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from fakearena.metrics.inception import FEATURE_DIM, InceptionFeatures


@dataclass(frozen=True)
class FeatureStats:
    """Mean and covariance (N - 1) of N feature vectors, float64."""

    mean: np.ndarray
    cov: np.ndarray
    n: int

    @classmethod
    def from_sums(cls, total: np.ndarray, outer: np.ndarray, n: int) -> FeatureStats:
        """Statistics from streaming sums: sum x, sum x x^T and the count."""
        if n < 2:
            raise ValueError(f"FID needs at least 2 samples per side to estimate a covariance, "
                             f"got {n}")
        total = np.asarray(total, dtype=np.float64)
        mean = total / n
        cov = (np.asarray(outer, dtype=np.float64) - np.outer(total, mean)) / (n - 1)
        return cls(mean, (cov + cov.T) / 2, int(n))

    @classmethod
    def from_features(cls, features: np.ndarray) -> FeatureStats:
        features = np.asarray(features, dtype=np.float64)
        return cls.from_sums(features.sum(0), features.T @ features, features.shape[0])

    @property
    def rank_deficient(self) -> bool:
        """True when N <= dimension: the covariance cannot be full rank."""
        return self.n <= self.mean.shape[0]


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(mean1: np.ndarray, cov1: np.ndarray, mean2: np.ndarray,
                     cov2: np.ndarray) -> float:
    """Frechet distance between Gaussians: |m1 - m2|^2 + tr(C1) + tr(C2) - 2 tr sqrt(C1 C2).

    `tr sqrt(C1 C2)` is the sum of square roots of the eigenvalues of `C1 @ C2`, which are those
    of the symmetric PSD matrix `sqrt(C1) C2 sqrt(C1)`; tiny negative round-off values are 0.
    """
    mean1, mean2 = np.asarray(mean1, np.float64), np.asarray(mean2, np.float64)
    cov1, cov2 = np.asarray(cov1, np.float64), np.asarray(cov2, np.float64)
    if mean1.shape != mean2.shape or cov1.shape != cov2.shape:
        raise ValueError(f"statistics of different dimensions: {mean1.shape} vs {mean2.shape}")
    root1 = _psd_sqrt(cov1)
    eigenvalues = np.linalg.eigvalsh(root1 @ cov2 @ root1)
    trace_sqrt = np.sqrt(np.clip(eigenvalues, 0, None)).sum()
    diff = mean1 - mean2
    value = diff @ diff + np.trace(cov1) + np.trace(cov2) - 2 * trace_sqrt
    return float(max(value, 0.0))


def fid_from_stats(a: FeatureStats, b: FeatureStats) -> dict[str, object]:
    """FID between two feature statistics, with N and the rank-deficiency flag."""
    return {
        "fid": frechet_distance(a.mean, a.cov, b.mean, b.cov),
        "n_a": a.n,
        "n_b": b.n,
        "rank_deficient": a.rank_deficient or b.rank_deficient,
    }


_GRAM_LIMIT = 5000  # rows of both sides together up to which one float64 Gram matrix is kept


def kid(features_a: np.ndarray, features_b: np.ndarray, *, subsets: int = 100,
        subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """KID: mean and std over subsets of the unbiased MMD^2, kernel (x.y / d + 1)^3.

    Each subset draws `min(subset_size, n_a, n_b)` rows of each side without replacement. Up to
    5000 rows in all, the kernel matrix is computed once and the subsets index into it;
    beyond, each subset computes its own blocks (slower, same numbers).
    """
    a = np.asarray(features_a, np.float64)
    b = np.asarray(features_b, np.float64)
    n_a, n_b = a.shape[0], b.shape[0]
    m = min(subset_size, n_a, n_b)
    if m < 2:
        raise ValueError(f"KID needs at least 2 samples per side, got {n_a} and {n_b}")
    dim = a.shape[1]
    rng = np.random.default_rng(seed)
    kernel = None
    if n_a + n_b <= _GRAM_LIMIT:
        both = np.concatenate([a, b])
        kernel = (both @ both.T / dim + 1) ** 3

    def block(x_rows: np.ndarray, y_rows: np.ndarray, x_b: bool, y_b: bool) -> np.ndarray:
        if kernel is not None:
            return kernel[np.ix_(x_rows + n_a * x_b, y_rows + n_a * y_b)]
        x = (b if x_b else a)[x_rows]
        y = (b if y_b else a)[y_rows]
        return (x @ y.T / dim + 1) ** 3

    values = np.empty(subsets)
    for s in range(subsets):
        i = rng.choice(n_a, m, replace=False)
        j = rng.choice(n_b, m, replace=False)
        kxx, kyy, kxy = block(i, i, False, False), block(j, j, True, True), block(i, j, False, True)
        values[s] = ((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
                     + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                     - 2 * kxy.sum() / (m * m))
    return float(values.mean()), float(values.std())


def _cat(state: list[torch.Tensor] | torch.Tensor) -> np.ndarray | None:
    if isinstance(state, list) and not state:
        return None
    return dim_zero_cat(state).cpu().numpy()


class _InceptionMetric(Metric):
    """Shared part: optional Inception extractor turning images into features in `update`."""

    full_state_update = False
    higher_is_better = False
    is_differentiable = False

    def __init__(self, extractor: InceptionFeatures | None = None, **kwargs):
        super().__init__(**kwargs)
        self.extractor = extractor

    def _features(self, inputs: torch.Tensor) -> torch.Tensor:
        """Features of images (B, 3, H, W), or inputs already (B, 2048) passed through."""
        if inputs.ndim == 2 and inputs.shape[1] == FEATURE_DIM:
            return inputs.detach().double()
        if self.extractor is None:
            raise ValueError("this metric was built without an extractor; pass (B, 2048) "
                             "features or give it extractor=InceptionFeatures()")
        return self.extractor(inputs).double()

    @property
    def protocol(self) -> dict[str, object] | None:
        return None if self.extractor is None else self.extractor.protocol


class FID(_InceptionMetric):
    """Streaming FID: `update(images_or_features, real=True|False)`, `compute() -> dict`."""

    def __init__(self, extractor: InceptionFeatures | None = None, **kwargs):
        super().__init__(extractor, **kwargs)
        for side in ("real", "fake"):
            self.add_state(f"{side}_sum", torch.zeros(FEATURE_DIM, dtype=torch.float64),
                           dist_reduce_fx="sum")
            self.add_state(f"{side}_outer",
                           torch.zeros(FEATURE_DIM, FEATURE_DIM, dtype=torch.float64),
                           dist_reduce_fx="sum")
            self.add_state(f"{side}_n", torch.zeros((), dtype=torch.long), dist_reduce_fx="sum")

    def update(self, inputs: torch.Tensor, real: bool) -> None:
        features = self._features(inputs)
        side = "real" if real else "fake"
        setattr(self, f"{side}_sum", getattr(self, f"{side}_sum") + features.sum(0))
        setattr(self, f"{side}_outer", getattr(self, f"{side}_outer") + features.T @ features)
        setattr(self, f"{side}_n", getattr(self, f"{side}_n") + features.shape[0])

    def stats(self, real: bool) -> FeatureStats:
        side = "real" if real else "fake"
        return FeatureStats.from_sums(getattr(self, f"{side}_sum").cpu().numpy(),
                                      getattr(self, f"{side}_outer").cpu().numpy(),
                                      int(getattr(self, f"{side}_n")))

    def compute(self) -> dict[str, object]:
        return fid_from_stats(self.stats(real=True), self.stats(real=False))


class KID(_InceptionMetric):
    """KID over kept features: `update(images_or_features, real=...)`, `compute() -> dict`."""

    def __init__(self, extractor: InceptionFeatures | None = None, *, subsets: int = 100,
                 subset_size: int = 1000, seed: int = 0, **kwargs):
        super().__init__(extractor, **kwargs)
        self.subsets, self.subset_size, self.seed = subsets, subset_size, seed
        self.add_state("real_features", [], dist_reduce_fx="cat")
        self.add_state("fake_features", [], dist_reduce_fx="cat")

    def update(self, inputs: torch.Tensor, real: bool) -> None:
        features = self._features(inputs).float()
        (self.real_features if real else self.fake_features).append(features)

    def compute(self) -> dict[str, object]:
        real, fake = _cat(self.real_features), _cat(self.fake_features)
        if real is None or fake is None:
            raise ValueError("KID needs features of both sides; call update(real=True) and "
                             "update(real=False) first")
        mean, std = kid(real, fake, subsets=self.subsets, subset_size=self.subset_size,
                        seed=self.seed)
        return {"kid_mean": mean, "kid_std": std, "n_a": len(real), "n_b": len(fake)}
