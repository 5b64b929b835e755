"""Sample quality of generated images: FID, KID and PRDC together, and the real-vs-real floor.

FID is biased at small N and its scale depends on the data, so a bare FID says little. The
**floor** answers "what would a perfect generator score here?": the same scores between the
real reference sample and *other* real rows of the same set, at exactly the sizes of the
comparison (N_real reference rows against N_fake other rows, disjoint). A generator whose FID
is near its floor is as close to the reals as a second sample of reals is; precision and
recall of the floor show their ceiling at that N and k (about 0.8, not 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fakearena.metrics.prdc import DEFAULT_K, prdc

FLOOR_PROTOCOL = (
    "the same scores between the N_real reference reals and N_fake other real rows of the "
    "same set (disjoint, seeded): what a perfect generator would score at these sizes"
)


def quality_warnings(n_real: int, n_fake: int, dim: int) -> list[str]:
    """Sentences for comparisons whose FID cannot be read at face value: a rank-deficient
    covariance (N <= feature dimension) or two sets of unequal size (FID's bias depends on N)."""
    warnings = []
    small = min(n_real, n_fake)
    if small <= dim:
        warnings.append(
            f"rank-deficient covariance: {small} images per side for {dim}-d features "
            f"(N_real={n_real}, N_fake={n_fake}); FID is biased upwards at this N: read it "
            "beside its real-vs-real floor at the same N, and KID"
        )
    if n_real != n_fake:
        warnings.append(
            f"unequal N: {n_real} real against {n_fake} fake images; FID's bias depends on "
            "both sizes, so compare it only with values at the same pair (n=N samples both "
            "sides equally)"
        )
    return warnings


def sample_quality(
    real: np.ndarray,
    fake: np.ndarray,
    *,
    k: int = DEFAULT_K,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """FID, KID (mean, std) and precision/recall/density/coverage of fakes against reals.

    Args:
        real: (N_real, D) reference features; fake: (N_fake, D) features to judge.
        k: nearest neighbours of PRDC.
        kid_subsets, kid_subset_size: KID subsets and rows per subset (capped at the
            smaller side).
        seed: seed of KID's subsets.
    """
    from fakearena.metrics.fid import FeatureStats, fid_from_stats, kid

    fid = fid_from_stats(FeatureStats.from_features(real), FeatureStats.from_features(fake))
    subset = min(int(kid_subset_size), len(real), len(fake))
    kid_mean, kid_std = kid(real, fake, subsets=kid_subsets, subset_size=subset, seed=seed)
    scores = prdc(real, fake, k=k)
    return {
        "fid": float(fid["fid"]),
        "kid": kid_mean,
        "kid_std": kid_std,
        "kid_subset_size": subset,
        "precision": scores["precision"],
        "recall": scores["recall"],
        "density": scores["density"],
        "coverage": scores["coverage"],
        "k": int(k),
        "n_real": len(real),
        "n_fake": len(fake),
        "rank_deficient": bool(fid["rank_deficient"]),
        "warnings": quality_warnings(len(real), len(fake), int(np.shape(real)[1])),
    }


def floor_rows(n_total: int, used: np.ndarray, n: int, seed: int) -> np.ndarray | str:
    """`n` seeded rows of a set of `n_total` outside the reference rows `used`, sorted.

    Returns the reason as a sentence instead when the set has too few other rows.
    """
    rest = np.setdiff1d(np.arange(n_total), np.asarray(used))
    if len(rest) < n:
        return (
            f"the floor needs {n} real rows besides the {len(used)} compared, and the set has "
            f"{n_total} ({len(rest)} others)"
        )
    rng = np.random.default_rng([int(seed), 1])  # a stream apart from the reference sample's
    return np.sort(rng.choice(rest, n, replace=False))
