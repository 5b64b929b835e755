"""Bootstrap replicates of detection metrics: by frame, by cluster (video or person), per video.

Frames of one video are not independent samples: they share a face, a background and a
compression, and a detector scores them alike. Resampling frames as if they were independent
makes the AUC's interval far too narrow (16 frames of 2 videos look like 16 samples). When
video ids exist, `clustered_bootstrap_auc` resamples whole videos instead (the cluster
bootstrap): each replicate draws, per class, as many videos as the class has, with
replacement, and keeps every frame of each drawn video. The clusters may be people instead
(`fakearena.metrics.units` chooses); `fakearena.metrics.cluster_weights` draws the same
replicates as row weights, for any metric of `weighted_metrics`. Every bootstrap here is stratified
(each class resampled to its own size), so every replicate holds both classes.

All functions are seeded and return one value per replicate; percentiles make the interval.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fakearena.metrics.ranking import RankedScores

BLOCKS = 2048  # runs of sorted scores in the frame-level AUC bootstraps (see `_Runs`)
CHUNK = 128  # replicates drawn and scored together (bounds memory at large N)


class _Runs:
    """Scores sorted ascending and cut into at most `blocks` runs that never split tied scores.

    Pairs in different runs are ordered by the runs; pairs inside a run enter at the run's own
    AUC (its mean pair value), which is exact when a run is one tie group, as it always is
    when there are fewer distinct scores than `blocks`. Otherwise the replicate variance
    changes by a relative O(1/blocks^2) (below 1e-6).
    """

    def __init__(self, probs: np.ndarray, labels: np.ndarray, blocks: int):
        self.order = np.argsort(probs, kind="stable")
        scores, ordered = probs[self.order], labels[self.order]
        n = scores.size
        group_start = np.r_[0, np.flatnonzero(np.diff(scores)) + 1]
        if group_start.size <= blocks:
            starts = group_start
        else:  # cut near equal-size positions, moved back to the start of their tie group
            wanted = np.linspace(0, n, blocks, endpoint=False).astype(np.int64)
            starts = np.unique(group_start[np.searchsorted(group_start, wanted, side="right") - 1])
        run = np.zeros(n, dtype=np.int64)
        run[starts[1:]] = 1
        self.run = np.cumsum(run)  # run of each sorted score
        self.n_runs = starts.size
        self.pos = np.bincount(self.run, weights=ordered, minlength=self.n_runs)
        self.neg = np.bincount(self.run, minlength=self.n_runs) - self.pos
        self.within = _within_run_auc(ordered, group_start, starts, self.run, self.pos, self.neg)

    def auc(self, pos_counts: np.ndarray, neg_counts: np.ndarray) -> np.ndarray:
        """AUC of each replicate from its (replicates, runs) counts of fakes and reals."""
        neg_below = np.cumsum(neg_counts, axis=1) - neg_counts
        pairs = (pos_counts * (neg_below + self.within * neg_counts)).sum(axis=1)
        return pairs / (pos_counts.sum(axis=1) * neg_counts.sum(axis=1))


def _within_run_auc(
    labels: np.ndarray,
    group_start: np.ndarray,
    run_start: np.ndarray,
    run: np.ndarray,
    pos: np.ndarray,
    neg: np.ndarray,
) -> np.ndarray:
    """Each run's own AUC (0.5 where it lacks a class) from ascending-sorted labels, in O(N).

    A fake counts the reals below it in its run, plus half the reals tied with it.
    """
    n = labels.size
    negs_before = np.r_[0, np.cumsum(1 - labels)]  # reals among the first i sorted scores
    group = np.cumsum(np.isin(np.arange(n), group_start)) - 1
    group_lo = group_start[group]
    group_hi = np.r_[group_start[1:], n][group]
    fake = labels == 1
    below = negs_before[group_lo] - negs_before[run_start[run]]
    tied = (negs_before[group_hi] - negs_before[group_lo]) / 2
    pairs = np.bincount(run[fake], weights=(below + tied)[fake], minlength=pos.size)
    both = (pos > 0) & (neg > 0)
    return np.divide(pairs, pos * neg, out=np.full(pos.size, 0.5), where=both)


def uniform_counts(rng: np.random.Generator, n: int, replicates: int) -> np.ndarray:
    """(replicates, n) multiplicities of n items drawn n times with replacement, uniformly."""
    draws = rng.integers(0, n, size=(replicates, n)) + n * np.arange(replicates)[:, None]
    counts = np.bincount(draws.ravel(), minlength=replicates * n)
    return counts.reshape(replicates, n).astype(np.float64)


def bootstrap_auc(
    probs: np.ndarray,
    labels: np.ndarray,
    n_bootstrap: int = 1000,
    seed: int = 0,
    blocks: int = BLOCKS,
) -> np.ndarray:
    """AUC of `n_bootstrap` stratified bootstrap samples of independent frames.

    Each replicate draws multinomial counts of reals and fakes per run of sorted scores,
    so it costs O(blocks), not O(N). Use `clustered_bootstrap_auc` when frames come in videos.
    """
    runs = _Runs(probs, labels, blocks)
    n_pos, n_neg = int(runs.pos.sum()), int(runs.neg.sum())
    rng = np.random.default_rng(seed)
    pos_counts = rng.multinomial(n_pos, runs.pos / n_pos, size=n_bootstrap).astype(np.float64)
    neg_counts = rng.multinomial(n_neg, runs.neg / n_neg, size=n_bootstrap).astype(np.float64)
    return runs.auc(pos_counts, neg_counts)


class ClusteredAUC:
    """Frame-level AUC of frames weighted by a weight per video (cluster).

    Holds, per class, the sparse (runs x videos) count of each video's frames in each run of
    sorted scores; a replicate's run counts are then one sparse product with its video
    weights, O(nonzeros) instead of O(N).

    Args:
        probs: fake probability per frame.
        labels: 0/1 per frame.
        clusters: video (or person) id per frame; a cluster with rows of both classes is
            one cluster per class (ordered, within a class, as `np.unique` orders the ids).
        blocks: runs of sorted scores (see `_Runs`).
    """

    def __init__(self, probs: np.ndarray, labels: np.ndarray, clusters: Any, blocks: int = BLOCKS):
        from scipy import sparse

        _, inverse = np.unique(np.asarray(clusters).ravel(), return_inverse=True)
        # a cluster holding both classes (a person shown real and fake) is one per class
        ids, inverse = np.unique(inverse.ravel() * 2 + labels, return_inverse=True)
        inverse = inverse.ravel()
        self.runs = _Runs(probs, labels, blocks)
        video_label = (ids % 2).astype(np.int64)
        self.videos = {1: np.flatnonzero(video_label == 1), 0: np.flatnonzero(video_label == 0)}
        sorted_video = inverse[self.runs.order]
        sorted_label = labels[self.runs.order]
        self.matrices = {}
        for label, members in self.videos.items():
            local = np.full(ids.size, -1, dtype=np.int64)
            local[members] = np.arange(members.size)
            keep = sorted_label == label
            counts = sparse.coo_matrix(
                (np.ones(int(keep.sum())), (self.runs.run[keep], local[sorted_video[keep]])),
                shape=(self.runs.n_runs, members.size),
            )
            self.matrices[label] = counts.tocsc()  # duplicates (same run and video) summed

    @property
    def n_videos(self) -> tuple[int, int]:
        """Videos per class: (real, fake)."""
        return int(self.videos[0].size), int(self.videos[1].size)

    def auc(self, real_weights: np.ndarray, fake_weights: np.ndarray) -> np.ndarray:
        """AUC per row of (replicates, real videos) and (replicates, fake videos) weights.

        Videos are ordered as `np.unique` orders their ids within each class.
        """
        pos = self._counts(self.matrices[1], fake_weights)
        neg = self._counts(self.matrices[0], real_weights)
        return self.runs.auc(pos, neg)

    @staticmethod
    def _counts(matrix: Any, weights: np.ndarray) -> np.ndarray:
        """(replicates, runs) weighted frame counts; a column-major sparse product is fastest."""
        columns = np.ascontiguousarray(np.asarray(weights, np.float64).T)
        return np.asarray(matrix @ columns).T


def clustered_bootstrap_auc(
    probs: np.ndarray,
    labels: np.ndarray,
    clusters: Any,
    n_bootstrap: int = 1000,
    seed: int = 0,
    blocks: int = BLOCKS,
) -> np.ndarray:
    """Frame-level AUC of `n_bootstrap` stratified bootstrap samples of videos.

    Each replicate draws as many real videos as there are, and as many fake ones, with
    replacement, and weighs each video's frames by how often it was drawn.
    """
    clustered = ClusteredAUC(probs, labels, clusters, blocks)
    n_real, n_fake = clustered.n_videos
    rng = np.random.default_rng(seed)
    out = []
    for start in range(0, n_bootstrap, CHUNK):
        size = min(CHUNK, n_bootstrap - start)
        real = uniform_counts(rng, n_real, size)
        fake = uniform_counts(rng, n_fake, size)
        out.append(clustered.auc(real, fake))
    return np.concatenate(out) if out else np.empty(0)


class _WeightedCurve:
    """The ROC curve of one set under many weightings, each class's weights in sorted order.

    Scores are ranked once (descending); a weighting is then two (replicates, n_class)
    matrices, cumulated along each class, so no replicate sorts or gathers the whole set.
    """

    def __init__(self, probs: np.ndarray, labels: np.ndarray):
        self.ranked = RankedScores(probs, labels)
        fake = self.ranked.labels == 1
        self.fake_items = self.ranked.order[fake]  # input index of each fake, in rank order
        self.real_items = self.ranked.order[~fake]
        self.fakes_to = np.cumsum(fake)[self.ranked.ends]  # fakes at or above each tie group
        self.reals_to = self.ranked.ends + 1 - self.fakes_to
        self.fake_called = self.ranked.scores[fake] >= 0.5  # ACC at threshold 0.5
        self.real_correct = self.ranked.scores[~fake] < 0.5

    def metrics(self, real_w: np.ndarray, fake_w: np.ndarray) -> dict[str, np.ndarray]:
        """AUC, AP, EER and ACC per row of (replicates, reals) and (replicates, fakes) weights."""
        tps = _cumulated_at(fake_w, self.fakes_to)
        fps = _cumulated_at(real_w, self.reals_to)
        n_pos, n_neg = tps[:, -1:], fps[:, -1:]
        zero = np.zeros((tps.shape[0], 1))
        tpr = np.hstack([zero, tps / n_pos])
        fpr = np.hstack([zero, fps / n_neg])
        auc = np.sum(np.diff(fpr, axis=1) * (tpr[:, 1:] + tpr[:, :-1]), axis=1) / 2
        called = tps + fps
        precision = np.divide(tps, called, out=np.zeros_like(tps), where=called > 0)
        ap = np.sum(np.diff(tpr, axis=1) * precision, axis=1)
        correct = fake_w @ self.fake_called + real_w @ self.real_correct
        acc = correct / (n_pos[:, 0] + n_neg[:, 0])
        return {"auc": auc, "ap": ap, "eer": equal_error_rates(fpr, tpr), "acc": acc}


def _cumulated_at(weights: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Row-wise sums of the first `counts[g]` weights, for each g (0 where counts[g] is 0)."""
    cumulated = np.cumsum(weights, axis=1)
    out = cumulated[:, np.maximum(counts - 1, 0)]
    out[:, counts == 0] = 0.0
    return out


def weighted_metrics(probs: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> dict:
    """AUC, AP, EER and ACC (at 0.5) of one set under each row of sample weights.

    A row of integer weights gives exactly the metrics of the set with each sample repeated
    that many times (ties as in `fakearena.metrics.detection`); every row must give both
    classes some weight.

    Args:
        probs: fake probability per sample, shape (n,).
        labels: 0/1 per sample, shape (n,).
        weights: (replicates, n) non-negative weights.

    Returns:
        {"auc", "ap", "eer", "acc"}, each an array of one value per replicate.
    """
    curve = _WeightedCurve(np.asarray(probs, np.float64), np.asarray(labels))
    weights = np.asarray(weights, np.float64)
    return curve.metrics(weights[:, curve.real_items], weights[:, curve.fake_items])


def equal_error_rates(fpr: np.ndarray, tpr: np.ndarray) -> np.ndarray:
    """`fakearena.metrics.ranking.equal_error_rate` of each row of (replicates, points) curves."""
    diff = (1 - tpr) - fpr  # FNR - FPR, falls from 1 to -1 along each curve
    k = np.argmax(diff <= 0, axis=1)[:, None]
    before = np.maximum(k - 1, 0)
    d0, d1 = np.take_along_axis(diff, before, 1), np.take_along_axis(diff, k, 1)
    f0, f1 = np.take_along_axis(fpr, before, 1), np.take_along_axis(fpr, k, 1)
    step = np.divide(d0, d0 - d1, out=np.zeros_like(d0), where=k > 0)
    return (f0 + step * (f1 - f0))[:, 0]


def bootstrap_metrics(
    probs: np.ndarray, labels: np.ndarray, n_bootstrap: int = 1000, seed: int = 0
) -> dict[str, np.ndarray]:
    """AUC, AP, EER and ACC of `n_bootstrap` stratified bootstrap samples of independent
    samples (e.g. one mean score per video): O(n) per replicate, for sets of up to ~1e5."""
    curve = _WeightedCurve(np.asarray(probs, np.float64), np.asarray(labels))
    n_real, n_fake = curve.real_items.size, curve.fake_items.size
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, n_bootstrap, CHUNK):
        size = min(CHUNK, n_bootstrap - start)
        real = uniform_counts(rng, n_real, size)
        fake = uniform_counts(rng, n_fake, size)
        for name, values in curve.metrics(real, fake).items():
            parts.setdefault(name, []).append(values)
    return {name: np.concatenate(values) for name, values in parts.items()}


def percentile_ci(replicates: np.ndarray) -> list[float]:
    """The 95% percentile interval [2.5%, 97.5%] of bootstrap replicates."""
    return [float(v) for v in np.percentile(replicates, [2.5, 97.5])]
