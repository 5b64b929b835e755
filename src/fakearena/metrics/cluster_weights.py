"""Stratified cluster-bootstrap replicates as row weights, for any metric of a weighted set.

`fakearena.metrics.bootstrap.clustered_bootstrap_auc` scores the frame AUC of resampled
clusters fast; this module draws the same kind of replicates (the same random calls, in the
same order) as a (replicates, rows) weight matrix, so AP, EER, ACC, the video-level metrics
clustered by person and the paired comparison of two detectors resample the same units.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fakearena.metrics.bootstrap import CHUNK, uniform_counts, weighted_metrics


class ClusterResampler:
    """Stratified cluster-bootstrap replicates as row weights.

    A replicate draws, per class, as many clusters as the class has, uniformly with
    replacement (reals first, then fakes, as `clustered_bootstrap_auc` draws them); a row
    weighs as often as its cluster was drawn.

    Args:
        labels: 0/1 per row.
        clusters: cluster index per row (`fakearena.metrics.units.Units.clusters`); a cluster
            with rows of both classes is one cluster per class.
    """

    def __init__(self, labels: np.ndarray, clusters: Any):
        labels = np.asarray(labels).astype(np.int64).ravel()
        _, inverse = np.unique(np.asarray(clusters).ravel(), return_inverse=True)
        ids, inverse = np.unique(inverse.ravel() * 2 + labels, return_inverse=True)
        inverse = inverse.ravel()
        self.n_rows = labels.size
        self.rows: dict[int, np.ndarray] = {}
        self.local: dict[int, np.ndarray] = {}
        self.n_clusters: dict[int, int] = {}
        for label in (0, 1):
            members = np.flatnonzero(ids % 2 == label)
            position = np.full(ids.size, -1, dtype=np.int64)
            position[members] = np.arange(members.size)
            self.rows[label] = np.flatnonzero(labels == label)
            self.local[label] = position[inverse[self.rows[label]]]
            self.n_clusters[label] = int(members.size)

    def draw(self, rng: np.random.Generator, replicates: int) -> np.ndarray:
        """(replicates, rows) weights of `replicates` stratified cluster resamples."""
        weights = np.zeros((replicates, self.n_rows))
        for label in (0, 1):
            counts = uniform_counts(rng, self.n_clusters[label], replicates)
            weights[:, self.rows[label]] = counts[:, self.local[label]]
        return weights


def cluster_bootstrap_metrics(
    probs: np.ndarray, labels: np.ndarray, clusters: Any, n_bootstrap: int = 1000, seed: int = 0
) -> dict[str, np.ndarray]:
    """AUC, AP, EER and ACC of `n_bootstrap` stratified bootstrap samples of clusters
    (e.g. per-video scores clustered by person), one value per replicate."""
    resampler = ClusterResampler(labels, clusters)
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, n_bootstrap, CHUNK):
        weights = resampler.draw(rng, min(CHUNK, n_bootstrap - start))
        for name, values in weighted_metrics(probs, labels, weights).items():
            parts.setdefault(name, []).append(values)
    return {name: np.concatenate(values) for name, values in parts.items()}
