"""Is detector A better than detector B on a test set? A paired bootstrap over units.

Both detectors scored the same rows. A replicate resamples the repeating units of those rows
(`fakearena.metrics.units`: videos, else people, else images; stratified by class) and
scores both detectors on the same resampled rows, so what the two share (hard people, easy
videos) cancels in their difference.

Seeds: each detector may have several training seeds. The difference reported is that of the
mean AUC over seeds, the number the leaderboard shows for each. Seed k of A is paired with
seed k of B (same seed, so the same data order and initialisation stream), and each replicate
also resamples the seed pairs with replacement, so the interval holds the spread between
training runs as well as the test set's sampling error. Averaging each row's probabilities
over seeds instead would test an ensemble of the seeds, a detector nobody trained, and would
hide the seed spread. With one seed per detector this is the plain paired bootstrap.

The difference is significant when its 95% percentile interval excludes 0; otherwise the two
are a tie ("no significant difference"). With fewer than 2 units of a class there is nothing
to resample: the pair is "untested" (resampling seeds alone would claim far too much).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fakearena.metrics.bootstrap import CHUNK, percentile_ci, weighted_metrics
from fakearena.metrics.cluster_weights import ClusterResampler
from fakearena.metrics.detection import auc_score
from fakearena.metrics.units import NO_CI, SMALL_N, choose_units, is_small

TIE, UNTESTED = "tie", "untested"


@dataclass(frozen=True)
class PairedComparison:
    """AUC(A) - AUC(B) on the same rows: mean over seed pairs, its CI and what it means."""

    delta: float
    ci95: tuple[float, float] | None  # None: too few units to resample
    p_value: float | None
    seeds: int
    unit: str
    n_units: int
    flags: tuple[str, ...] = ()  # `small_n`, `no_ci` as in `fakearena.metrics.units`

    @property
    def significant(self) -> bool:
        return self.ci95 is not None and (self.ci95[0] > 0 or self.ci95[1] < 0)

    @property
    def verdict(self) -> str:
        """The better detector, significantly ("A" or "B"), "tie", or "untested" (a class
        with fewer than 2 units: nothing to resample, so nothing can be claimed)."""
        if self.ci95 is None:
            return UNTESTED
        if not self.significant:
            return TIE
        return "A" if self.delta > 0 else "B"


def paired_bootstrap_auc(
    probs_a: Any,
    probs_b: Any,
    labels: Any,
    video_ids: Any = None,
    identities: Any = None,
    *,
    unit: str = "auto",
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> tuple[PairedComparison, np.ndarray]:
    """Paired bootstrap of AUC(A) - AUC(B) over the units of the same rows, across seeds.

    Args:
        probs_a: (seeds, rows) or (rows,) fake probabilities of detector A.
        probs_b: the same shape, detector B; row i and seed k pair with A's.
        labels: 0/1 per row.
        video_ids, identities: per row, to choose the unit (`choose_units`).
        unit: auto, video, identity or image.
        n_bootstrap: replicates.
        seed: random seed. Per chunk of `CHUNK` replicates the draws are: real units, fake
            units (`ClusterResampler.draw`), then the seed pairs (`integers(0, K, (size, K))`).

    Returns:
        The comparison and the replicate differences (none when untested).
    """
    a = np.atleast_2d(np.asarray(probs_a, dtype=np.float64))
    b = np.atleast_2d(np.asarray(probs_b, dtype=np.float64))
    labels = np.asarray(labels).astype(np.int64).ravel()
    if a.shape != b.shape or a.shape[1] != labels.size:
        raise ValueError(
            f"paired scores need equal shapes (seeds, rows): A {a.shape}, B {b.shape}, "
            f"{labels.size} labels"
        )
    units = choose_units(labels, video_ids, identities, unit)
    seeds = a.shape[0]
    observed = np.mean([auc_score(a[k], labels) - auc_score(b[k], labels) for k in range(seeds)])
    flags = (SMALL_N,) if is_small(units) else ()
    if min(units.n_real, units.n_fake) < 2 or not n_bootstrap:
        untested = PairedComparison(
            float(observed), None, None, seeds, units.name, units.n, (*flags, NO_CI)
        )
        return untested, np.empty(0)
    resampler = ClusterResampler(labels, units.clusters)
    rng = np.random.default_rng(seed)
    parts = []
    for start in range(0, n_bootstrap, CHUNK):
        size = min(CHUNK, n_bootstrap - start)
        weights = resampler.draw(rng, size)
        pairs = rng.integers(0, seeds, (size, seeds))
        diff = np.stack(
            [
                weighted_metrics(a[k], labels, weights)["auc"]
                - weighted_metrics(b[k], labels, weights)["auc"]
                for k in range(seeds)
            ]
        )  # (seeds, size)
        parts.append(np.take_along_axis(diff, pairs.T, axis=0).mean(axis=0))
    replicates = np.concatenate(parts)
    low, high = percentile_ci(replicates)
    tail = min(np.mean(replicates <= 0), np.mean(replicates >= 0))
    comparison = PairedComparison(
        delta=float(observed),
        ci95=(low, high),
        p_value=float(min(1.0, 2 * tail)),
        seeds=seeds,
        unit=units.name,
        n_units=units.n,
        flags=flags,
    )
    return comparison, replicates
