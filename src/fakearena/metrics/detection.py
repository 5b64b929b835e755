"""Detection metrics: AUC, AP, EER, ACC, TPR@FPR, video level, per source, bootstrap CI.

Scores are fake probabilities (higher = more likely fake), labels 0 = real, 1 = fake. Every
metric is computed from one sort of the scores; tied scores are handled as sklearn does
(AUC counts a tied real/fake pair as one half; AP and the ROC curve step over tie groups).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fakearena.errors import DataError

FPR_TARGETS = (1e-2, 1e-3)
_BOOTSTRAP_BLOCKS = 2048


class DetectionInputError(DataError, ValueError):
    """Predictions that cannot be scored (one class only, a video with mixed labels, ...)."""


def require_both_classes(labels: Any, what: str, where: str) -> None:
    """The one check that a set holds real and fake samples (AUC, AP and EER need both).

    Args:
        labels: 0/1 labels of the set.
        what: the samples, for the message (e.g. "the val split of data synthetic").
        where: what to fix (e.g. "the manifest's val rows").

    Raises:
        DetectionInputError: no label, or one label only.
    """
    labels = np.asarray(labels).ravel()
    present = np.unique(labels)
    if present.size >= 2:
        return
    if present.size == 0:
        raise DetectionInputError(f"{what} hold no samples; add real and fake rows to {where}")
    only = "fake (1)" if int(present[0]) == 1 else "real (0)"
    raise DetectionInputError(
        f"{what} are all {only}: AUC, AP and EER need both real and fake samples; add the "
        f"missing class to {where}"
    )


def auc_score(probs: Any, labels: Any) -> float:
    """ROC AUC (ties count one half, as sklearn's `roc_auc_score`)."""
    return _Sorted(*_check(probs, labels)).auc()


def _check(probs: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    probs = np.asarray(probs, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel()
    if probs.shape != labels.shape:
        raise DetectionInputError(
            f"probs and labels differ in length: {probs.size} vs {labels.size}"
        )
    if not np.all(np.isfinite(probs)):
        raise DetectionInputError(
            f"{int((~np.isfinite(probs)).sum())} score(s) are NaN or "
            "infinite; fix the model outputs before scoring"
        )
    if not np.isin(labels, (0, 1)).all():
        raise DetectionInputError("labels must be 0 (real) or 1 (fake)")
    labels = labels.astype(np.int64)
    require_both_classes(labels, f"the {labels.size} scored samples", "the evaluation set")
    return probs, labels


class _Sorted:
    """Scores sorted descending with cumulative true/false positives at each tie group's end."""

    def __init__(self, probs: np.ndarray, labels: np.ndarray):
        order = np.argsort(-probs, kind="stable")
        self.scores = probs[order]
        self.labels = labels[order]
        last = np.flatnonzero(np.diff(self.scores)) if self.scores.size > 1 else np.empty(0, int)
        self.ends = np.r_[last, self.scores.size - 1]  # index of the last item of each group
        cum = np.cumsum(self.labels)
        self.tps = cum[self.ends].astype(np.float64)
        self.fps = (self.ends + 1 - self.tps).astype(np.float64)
        self.n_pos, self.n_neg = self.tps[-1], self.fps[-1]

    def roc(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        fpr = np.r_[0.0, self.fps / self.n_neg]
        tpr = np.r_[0.0, self.tps / self.n_pos]
        thresholds = np.r_[np.inf, self.scores[self.ends]]
        return fpr, tpr, thresholds

    def auc(self) -> float:
        fpr, tpr, _ = self.roc()
        return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))

    def ap(self) -> float:
        precision = self.tps / (self.tps + self.fps)
        recall = self.tps / self.n_pos
        return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def roc_curve_points(probs: Any, labels: Any) -> dict[str, np.ndarray]:
    """ROC curve: `fpr`, `tpr` and `thresholds` (score >= threshold is called fake).

    One point per distinct score plus the (0, 0) start, as `sklearn.metrics.roc_curve` with
    `drop_intermediate=False`.
    """
    fpr, tpr, thresholds = _Sorted(*_check(probs, labels)).roc()
    return {"fpr": fpr, "tpr": tpr, "thresholds": thresholds}


def equal_error_rate(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """EER: where FPR = FNR on the ROC curve, linearly interpolated between its two points."""
    diff = (1 - tpr) - fpr  # FNR - FPR, falls from 1 to -1 along the curve
    k = int(np.argmax(diff <= 0))
    if k == 0:
        return float(fpr[0])
    t = diff[k - 1] / (diff[k - 1] - diff[k])
    return float(fpr[k - 1] + t * (fpr[k] - fpr[k - 1]))


def tpr_at_fpr(fpr: np.ndarray, tpr: np.ndarray, target: float) -> float:
    """Highest TPR over thresholds whose FPR is at most `target` (no interpolation)."""
    return float(tpr[fpr <= target + 1e-15].max())


def bootstrap_auc(
    probs: np.ndarray,
    labels: np.ndarray,
    n_bootstrap: int = 1000,
    seed: int = 0,
    blocks: int = _BOOTSTRAP_BLOCKS,
) -> np.ndarray:
    """AUC of `n_bootstrap` stratified bootstrap samples (each class resampled to its size).

    The scores are sorted once and cut into at most `blocks` runs that never split tied
    scores; each replicate draws multinomial counts of reals and fakes per run. Pairs in
    different runs are then counted exactly; pairs inside a run enter at their conditional
    expectation given the counts (exact when a run is one tie group, as it always is when
    there are fewer distinct scores than `blocks`). This changes the replicate variance by a
    relative O(1/blocks^2) (below 1e-6) and costs O(blocks) per replicate instead of O(N).
    """
    probs, labels = _check(probs, labels)
    order = np.argsort(probs, kind="stable")
    scores, ordered = probs[order], labels[order]
    n = scores.size
    group_start = np.r_[0, np.flatnonzero(np.diff(scores)) + 1]
    if group_start.size <= blocks:
        starts = group_start
    else:  # cut near equal-size positions, moved back to the start of their tie group
        wanted = np.linspace(0, n, blocks, endpoint=False).astype(np.int64)
        starts = np.unique(group_start[np.searchsorted(group_start, wanted, side="right") - 1])
    run = np.zeros(n, dtype=np.int64)
    run[starts[1:]] = 1
    run = np.cumsum(run)
    n_runs = starts.size
    pos_in_run = np.bincount(run, weights=ordered, minlength=n_runs)
    neg_in_run = np.bincount(run, minlength=n_runs) - pos_in_run
    # Mean within-run pair value: the run's own AUC (ties count one half).
    within = np.full(n_runs, 0.5)
    mixed = np.flatnonzero((pos_in_run > 0) & (neg_in_run > 0) & (np.diff(np.r_[starts, n]) > 1))
    for r in mixed:  # only runs that span several tie groups; few and small
        lo, hi = starts[r], (starts[r + 1] if r + 1 < n_runs else n)
        within[r] = _Sorted(probs=scores[lo:hi], labels=ordered[lo:hi]).auc()
    n_pos, n_neg = int(pos_in_run.sum()), int(neg_in_run.sum())
    rng = np.random.default_rng(seed)
    pos_counts = rng.multinomial(n_pos, pos_in_run / n_pos, size=n_bootstrap).astype(np.float64)
    neg_counts = rng.multinomial(n_neg, neg_in_run / n_neg, size=n_bootstrap).astype(np.float64)
    neg_below = np.cumsum(neg_counts, axis=1) - neg_counts
    pairs = (pos_counts * (neg_below + within * neg_counts)).sum(axis=1)
    return pairs / (float(n_pos) * float(n_neg))


def _frame_metrics(probs: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    ranked = _Sorted(probs, labels)
    fpr, tpr, _ = ranked.roc()
    return {
        "auc": ranked.auc(),
        "ap": ranked.ap(),
        "eer": equal_error_rate(fpr, tpr),
        "acc": float(np.mean((probs >= 0.5) == labels)),
        **{
            f"tpr_at_fpr_{t:.0e}".replace("e-0", "e-"): tpr_at_fpr(fpr, tpr, t) for t in FPR_TARGETS
        },
    }


def video_scores(
    probs: np.ndarray, labels: np.ndarray, video_ids: Sequence[Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-video (ids, mean frame probability, label); a video with mixed labels is an error."""
    video_ids = np.asarray(video_ids).ravel()
    if video_ids.size != probs.size:
        raise DetectionInputError(
            f"video_ids has {video_ids.size} entries for {probs.size} "
            "scores; give one video id per score"
        )
    ids, inverse = np.unique(video_ids, return_inverse=True)
    counts = np.bincount(inverse)
    fake_frames = np.bincount(inverse, weights=labels)
    mixed = np.flatnonzero((fake_frames > 0) & (fake_frames < counts))
    if mixed.size:
        shown = ", ".join(repr(str(v)) for v in ids[mixed[:5]])
        raise DetectionInputError(
            f"video(s) {shown} have frames labelled both real and fake; a video has one label: "
            "fix the manifest rows or give the fake frames their own video_id"
        )
    means = np.bincount(inverse, weights=probs) / counts
    return ids, means, (fake_frames > 0).astype(np.int64)


def detection_metrics(
    probs: Any,
    labels: Any,
    video_ids: Sequence[Any] | None = None,
    sources: Sequence[Any] | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Frame-level detection metrics, plus video-level and per-source ones when asked.

    Returns `auc, ap, eer, acc, tpr_at_fpr_1e-2, tpr_at_fpr_1e-3, n, n_pos, n_neg, auc_ci95`
    ([lo, hi], percentile bootstrap, stratified, seeded; None when n_bootstrap is 0). EER is
    where FPR = FNR, linearly interpolated between the two ROC points around the crossing.
    ACC is at threshold 0.5 (score >= 0.5 is fake). TPR@FPR is the highest TPR at FPR <= the
    target. With `video_ids`: `video_auc, video_ap, video_eer, video_acc, n_videos` from the
    mean frame probability of each video. With `sources`: `per_source`, the AUC of all reals
    against the fakes of each source alone (with their counts).

    Raises:
        DetectionInputError (a ValueError): one class only, a video with mixed labels,
            mismatched lengths, non-finite scores.
    """
    probs, labels = _check(probs, labels)
    result: dict[str, Any] = _frame_metrics(probs, labels)
    result.update(
        n=int(labels.size), n_pos=int(labels.sum()), n_neg=int(labels.size - labels.sum())
    )
    if n_bootstrap:
        replicates = bootstrap_auc(probs, labels, n_bootstrap, seed)
        result["auc_ci95"] = [float(v) for v in np.percentile(replicates, [2.5, 97.5])]
    else:
        result["auc_ci95"] = None
    if video_ids is not None:
        _, video_probs, video_labels = video_scores(probs, labels, video_ids)
        video = _frame_metrics(*_check(video_probs, video_labels))
        result.update({f"video_{k}": video[k] for k in ("auc", "ap", "eer", "acc")})
        result["n_videos"] = int(video_labels.size)
    if sources is not None:
        result["per_source"] = per_source_auc(probs, labels, sources)
    return result


def per_source_auc(
    probs: np.ndarray, labels: np.ndarray, sources: Sequence[Any]
) -> dict[str, dict[str, float | int]]:
    """AUC of all reals against the fakes of each source alone."""
    sources = np.asarray(sources).ravel().astype(str)
    if sources.size != probs.size:
        raise DetectionInputError(
            f"sources has {sources.size} entries for {probs.size} scores; give one source per score"
        )
    real = labels == 0
    out = {}
    for source in np.unique(sources[~real]):
        keep = real | (sources == source)
        out[str(source)] = {
            "auc": _Sorted(probs[keep], labels[keep]).auc(),
            "n_pos": int((sources[~real] == source).sum()),
            "n_neg": int(real.sum()),
        }
    return out
