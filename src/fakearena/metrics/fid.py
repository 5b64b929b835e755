"""FID and KID: the distance math and DDP-safe torchmetrics `Metric`s on Inception features.

FID keeps streaming float64 sums (sum of features, sum of outer products, count), so its memory
does not grow with N and its states sum across DDP ranks. The covariance uses N - 1. The
Frechet distance uses the eigenvalues of `sigma1 @ sigma2`, computed as the eigenvalues of the
similar symmetric matrix `F^T @ sigma2 @ F` with `sigma1 = F F^T` (a Cholesky factor, or
the PSD square root when sigma1 is singular) and one symmetric eigenvalue solve; no
`scipy.linalg.sqrtm`. FID is biased at small N: always report N, and
KID (unbiased) beside it. With fewer than 2048 samples the covariance is rank-deficient; the
value is computed and the result says so.

KID keeps every feature (float32, 8 KiB per image) because its unbiased MMD^2 estimate draws
subsets from the whole sample; 10k images per side hold about 160 MiB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
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
            raise ValueError(
                f"FID needs at least 2 samples per side to estimate a covariance, got {n}"
            )
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


def _factor(matrix: np.ndarray) -> np.ndarray:
    """A factor F with F F^T = matrix: Cholesky, or the PSD square root when singular."""
    try:
        return np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:  # rank-deficient (N <= dim): the non-null eigenvectors
        floor = 1e-13 * max(float(np.trace(matrix)), 1e-300)
        values, vectors = scipy.linalg.eigh(
            matrix, subset_by_value=(floor, np.inf), driver="evr", check_finite=False
        )
        return vectors * np.sqrt(values)


def frechet_distance(
    mean1: np.ndarray, cov1: np.ndarray, mean2: np.ndarray, cov2: np.ndarray
) -> float:
    """Frechet distance between Gaussians: |m1 - m2|^2 + tr(C1) + tr(C2) - 2 tr sqrt(C1 C2).

    `tr sqrt(C1 C2)` is the sum of square roots of the eigenvalues of `C1 @ C2`. With any
    factor `C1 = F F^T` (Cholesky, or the PSD square root when C1 is singular) these are the
    eigenvalues of the symmetric PSD matrix `F^T C2 F`; tiny negative round-off values are 0.
    """
    mean1, mean2 = np.asarray(mean1, np.float64), np.asarray(mean2, np.float64)
    cov1, cov2 = np.asarray(cov1, np.float64), np.asarray(cov2, np.float64)
    if mean1.shape != mean2.shape or cov1.shape != cov2.shape:
        raise ValueError(f"statistics of different dimensions: {mean1.shape} vs {mean2.shape}")
    factor = _factor(cov1)
    inner = factor.T @ cov2 @ factor
    eigenvalues = np.linalg.eigvalsh((inner + inner.T) / 2)
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


def canonical_order(features: np.ndarray) -> np.ndarray:
    """Row order that depends only on the rows' values, not on the order they arrived in.

    Sorting by a fixed projection settles it in one sort; only if two rows tie there (equal
    rows, or a coincidence) does it fall back to sorting by every column.
    """
    direction = np.random.default_rng(0).standard_normal(features.shape[1])
    keys = features @ direction
    order = np.argsort(keys, kind="stable")
    if np.any(np.diff(keys[order]) == 0):
        order = np.lexsort(features.T[::-1])
    return order


def kid(
    features_a: np.ndarray,
    features_b: np.ndarray,
    *,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """KID: mean and std over subsets of the unbiased MMD^2, kernel (x.y / d + 1)^3.

    Each subset draws `min(subset_size, n_a, n_b)` rows of each side without replacement. Rows
    are put in a canonical order first, so the value depends on the sets of features and the
    seed only: features gathered from DDP ranks in rank order give the single-process value.
    Up to 5000 rows in all, the kernel matrix is computed once and the subsets index into it;
    beyond, each subset computes its own blocks (slower, same numbers).
    """
    a = np.asarray(features_a, np.float64)
    b = np.asarray(features_b, np.float64)
    a, b = a[canonical_order(a)], b[canonical_order(b)]
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
        values[s] = (
            (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
            + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
            - 2 * kxy.sum() / (m * m)
        )
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
        if inputs.ndim == 2:
            return inputs.detach().double()
        if self.extractor is None:
            raise ValueError(
                "this metric was built without an extractor; pass (B, 2048) "
                "features or give it extractor=InceptionFeatures()"
            )
        return self.extractor(inputs).double()

    @property
    def protocol(self) -> dict[str, object] | None:
        return None if self.extractor is None else self.extractor.protocol


class FID(_InceptionMetric):
    """Streaming FID: `update(images_or_features, real=True|False)`, `compute() -> dict`.

    `feature_dim` is 2048 for Inception pool3; another value only for precomputed features.
    """

    def __init__(
        self,
        extractor: InceptionFeatures | None = None,
        *,
        feature_dim: int = FEATURE_DIM,
        **kwargs,
    ):
        super().__init__(extractor, **kwargs)
        self.feature_dim = feature_dim
        for side in ("real", "fake"):
            self.add_state(
                f"{side}_sum", torch.zeros(feature_dim, dtype=torch.float64), dist_reduce_fx="sum"
            )
            self.add_state(
                f"{side}_outer",
                torch.zeros(feature_dim, feature_dim, dtype=torch.float64),
                dist_reduce_fx="sum",
            )
            self.add_state(f"{side}_n", torch.zeros((), dtype=torch.long), dist_reduce_fx="sum")

    def update(self, inputs: torch.Tensor, real: bool) -> None:
        features = self._features(inputs)
        side = "real" if real else "fake"
        setattr(self, f"{side}_sum", getattr(self, f"{side}_sum") + features.sum(0))
        setattr(self, f"{side}_outer", getattr(self, f"{side}_outer") + features.T @ features)
        setattr(self, f"{side}_n", getattr(self, f"{side}_n") + features.shape[0])

    def stats(self, real: bool) -> FeatureStats:
        side = "real" if real else "fake"
        return FeatureStats.from_sums(
            getattr(self, f"{side}_sum").cpu().numpy(),
            getattr(self, f"{side}_outer").cpu().numpy(),
            int(getattr(self, f"{side}_n")),
        )

    def compute(self) -> dict[str, object]:
        return fid_from_stats(self.stats(real=True), self.stats(real=False))


class KID(_InceptionMetric):
    """KID over kept features: `update(images_or_features, real=...)`, `compute() -> dict`."""

    def __init__(
        self,
        extractor: InceptionFeatures | None = None,
        *,
        subsets: int = 100,
        subset_size: int = 1000,
        seed: int = 0,
        **kwargs,
    ):
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
            raise ValueError(
                "KID needs features of both sides; call update(real=True) and "
                "update(real=False) first"
            )
        mean, std = kid(
            real, fake, subsets=self.subsets, subset_size=self.subset_size, seed=self.seed
        )
        return {"kid_mean": mean, "kid_std": std, "n_a": len(real), "n_b": len(fake)}
