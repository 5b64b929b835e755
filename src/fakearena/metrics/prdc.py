"""Precision, recall, density and coverage of generated samples in a feature space.

- Improved precision and recall (Kynkaanniemi et al. 2019): each set's manifold is the union
  of balls around its samples, each ball reaching the sample's k-th nearest neighbour in its
  own set. Precision is the share of fakes inside the real manifold (are the fakes realistic?),
  recall the share of reals inside the fake manifold (do the fakes cover the real variety?).
- Density and coverage (Naeem et al. 2020): density counts, per fake, how many real balls hold
  it, divided by k and averaged (about 1 when fakes are distributed like reals; unbounded
  above, robust to real outliers); coverage is the share of reals whose own ball holds at
  least one fake (robust to fake outliers).

Distances are exact Euclidean distances in float64 (no approximate neighbour search), the
comparisons strict (`<`), as in the authors' `prdc` package; a sample's own distance 0 is
counted among its neighbours there too, so the radius is the (k+1)-th smallest distance to its
set, itself included. The work is done in row blocks, so memory is O(block x N), not O(N^2):
a few thousand samples per side need tens of MiB.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DEFAULT_K = 3
_BLOCK = 512  # rows per block of a distance matrix (512 x 5000 float64: 20 MiB)


def _squared_norms(x: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", x, x)


def _distances(
    x: np.ndarray, y: np.ndarray, x_norms: np.ndarray, y_norms: np.ndarray
) -> np.ndarray:
    """Euclidean distances between the rows of x and of y (|x|^2 + |y|^2 - 2 x.y, clipped)."""
    squared = x_norms[:, None] + y_norms[None, :] - 2.0 * (x @ y.T)
    return np.sqrt(np.maximum(squared, 0.0, out=squared), out=squared)


def nearest_neighbour_radii(features: np.ndarray, k: int, block: int = _BLOCK) -> np.ndarray:
    """Distance of each row to its k-th nearest other row of the same set, (N,) float64."""
    x = np.asarray(features, dtype=np.float64)
    n = x.shape[0]
    if not 1 <= k < n:
        raise ValueError(f"k={k} nearest neighbours need more than k samples per set, got {n}")
    norms = _squared_norms(x)
    radii = np.empty(n)
    for start in range(0, n, block):
        stop = min(start + block, n)
        d = _distances(x[start:stop], x, norms[start:stop], norms)
        d[np.arange(stop - start), np.arange(start, stop)] = 0.0  # exactly 0 to itself
        # position k of the sorted row: the own 0 is position 0
        radii[start:stop] = np.partition(d, k, axis=1)[:, k]
    return radii


def prdc(
    real_features: np.ndarray,
    fake_features: np.ndarray,
    k: int = DEFAULT_K,
    block: int = _BLOCK,
) -> dict[str, Any]:
    """Precision, recall, density and coverage of fakes against reals, with N and k.

    Args:
        real_features: (N_real, D) features of real samples.
        fake_features: (N_fake, D) features of generated samples (N_fake may differ).
        k: nearest neighbours that set each ball's radius (3 in the papers' protocol).
        block: rows per distance block (memory, not results).

    Returns:
        `precision`, `recall`, `coverage` in [0, 1], `density` >= 0, and `n_real`, `n_fake`,
        `k`.
    """
    real = np.asarray(real_features, dtype=np.float64)
    fake = np.asarray(fake_features, dtype=np.float64)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"PRDC needs two (N, D) feature arrays of one D, got {real.shape} and {fake.shape}"
        )
    k = int(k)
    real_radii = nearest_neighbour_radii(real, k, block)
    fake_radii = nearest_neighbour_radii(fake, k, block)
    real_norms, fake_norms = _squared_norms(real), _squared_norms(fake)
    in_real_balls = np.zeros(fake.shape[0], dtype=np.int64)  # per fake: real balls holding it
    real_recalled = np.zeros(real.shape[0], dtype=bool)  # per real: inside some fake ball
    nearest_fake = np.full(real.shape[0], np.inf)  # per real: distance to the closest fake
    for start in range(0, fake.shape[0], block):
        stop = min(start + block, fake.shape[0])
        d = _distances(real, fake[start:stop], real_norms, fake_norms[start:stop])  # real x fake
        in_real_balls[start:stop] = (d < real_radii[:, None]).sum(axis=0)
        real_recalled |= (d < fake_radii[None, start:stop]).any(axis=1)
        np.minimum(nearest_fake, d.min(axis=1), out=nearest_fake)
    return {
        "precision": float((in_real_balls > 0).mean()),
        "recall": float(real_recalled.mean()),
        "density": float(in_real_balls.mean() / k),
        "coverage": float((nearest_fake < real_radii).mean()),
        "n_real": int(real.shape[0]),
        "n_fake": int(fake.shape[0]),
        "k": k,
    }
