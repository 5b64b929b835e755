"""Detection metrics: AUC, AP, EER, ACC, TPR@FPR, video level, per source, bootstrap CIs.

Scores are fake probabilities (higher = more likely fake), labels 0 = real, 1 = fake. Every
metric is computed from one sort of the scores (`fakearena.metrics.ranking`); tied scores are
handled as sklearn does. Confidence intervals resample videos whenever video ids are given
(`fakearena.metrics.bootstrap`), and a set too small to say much carries a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fakearena.errors import DataError
from fakearena.metrics.bootstrap import (
    bootstrap_auc,
    bootstrap_metrics,
    clustered_bootstrap_auc,
    percentile_ci,
)
from fakearena.metrics.ranking import RankedScores, equal_error_rate, tpr_at_fpr

FPR_TARGETS = (1e-2, 1e-3)
# A test set below these sizes gets a warning: its AUC and CI say little.
MIN_VIDEOS, MIN_VIDEOS_PER_CLASS = 30, 10
VIDEO_METRICS = ("auc", "ap", "eer", "acc")


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
    return RankedScores(*_check(probs, labels)).auc()


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


def roc_curve_points(probs: Any, labels: Any) -> dict[str, np.ndarray]:
    """ROC curve: `fpr`, `tpr` and `thresholds` (score >= threshold is called fake).

    One point per distinct score plus the (0, 0) start, as `sklearn.metrics.roc_curve` with
    `drop_intermediate=False`.
    """
    fpr, tpr, thresholds = RankedScores(*_check(probs, labels)).roc()
    return {"fpr": fpr, "tpr": tpr, "thresholds": thresholds}


def _frame_metrics(probs: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    ranked = RankedScores(probs, labels)
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
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-video (ids, mean frame probability, label) and each score's index into `ids`.

    A video with mixed labels is an error.
    """
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
    return ids, means, (fake_frames > 0).astype(np.int64), inverse


def small_set_warning(n: int, n_real: int, n_fake: int, unit: str = "videos") -> str | None:
    """A sentence when a test set is too small for its metrics to say much, else None.

    Small means fewer than `MIN_VIDEOS` units (videos, or samples without video ids) or
    fewer than `MIN_VIDEOS_PER_CLASS` of either class.
    """
    if n >= MIN_VIDEOS and min(n_real, n_fake) >= MIN_VIDEOS_PER_CLASS:
        return None
    text = (
        f"only {n} {unit} ({n_real} real, {n_fake} fake), fewer than {MIN_VIDEOS} {unit} or "
        f"{MIN_VIDEOS_PER_CLASS} of a class: these metrics and their intervals say little"
    )
    if min(n_real, n_fake) < 2:
        text += "; no confidence interval (it resamples " + unit + " and needs 2 of each class)"
    return text + "; test on more " + unit


def detection_metrics(
    probs: Any,
    labels: Any,
    video_ids: Sequence[Any] | None = None,
    sources: Sequence[Any] | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Frame-level detection metrics, plus video-level and per-source ones when asked.

    Returns `auc, ap, eer, acc, tpr_at_fpr_1e-2, tpr_at_fpr_1e-3, n, n_pos, n_neg, auc_ci95,
    ci_unit, warnings`. EER is where FPR = FNR, linearly interpolated between the two ROC
    points around the crossing. ACC is at threshold 0.5 (score >= 0.5 is fake). TPR@FPR is
    the highest TPR at FPR <= the target.

    `auc_ci95` is a 95% percentile bootstrap interval [lo, hi] (stratified, seeded): with
    `video_ids` it resamples whole videos (`ci_unit` "video"; frames of a video are not
    independent), else frames (`ci_unit` "frame"). It is None when `n_bootstrap` is 0 or a
    class has fewer than 2 videos to resample.

    With `video_ids` also: `video_auc, video_ap, video_eer, video_acc` from the mean frame
    probability of each video, each with its `<name>_ci95` (videos resampled), and
    `n_videos, n_videos_real, n_videos_fake`. With `sources`: `per_source`, the AUC of all
    reals against the fakes of each source alone (with their counts).

    `warnings` lists sentences about the set (too few videos, see `small_set_warning`).

    Raises:
        DetectionInputError (a ValueError): one class only, a video with mixed labels,
            mismatched lengths, non-finite scores.
    """
    probs, labels = _check(probs, labels)
    result: dict[str, Any] = _frame_metrics(probs, labels)
    n_pos = int(labels.sum())
    result.update(n=int(labels.size), n_pos=n_pos, n_neg=int(labels.size - n_pos))
    result["auc_ci95"], result["ci_unit"], result["warnings"] = None, None, []
    if video_ids is None:
        warning = small_set_warning(result["n"], result["n_neg"], n_pos, unit="samples")
        if n_bootstrap:
            result["auc_ci95"] = percentile_ci(bootstrap_auc(probs, labels, n_bootstrap, seed))
            result["ci_unit"] = "frame"
    else:
        _, video_probs, video_labels, video_index = video_scores(probs, labels, video_ids)
        video = _frame_metrics(*_check(video_probs, video_labels))
        result.update({f"video_{k}": video[k] for k in VIDEO_METRICS})
        n_fake = int(video_labels.sum())
        n_real = int(video_labels.size) - n_fake
        result.update(n_videos=int(video_labels.size), n_videos_real=n_real, n_videos_fake=n_fake)
        warning = small_set_warning(result["n_videos"], n_real, n_fake)
        resample = bool(n_bootstrap) and min(n_real, n_fake) >= 2
        if resample:
            frames = clustered_bootstrap_auc(probs, labels, video_index, n_bootstrap, seed)
            result["auc_ci95"], result["ci_unit"] = percentile_ci(frames), "video"
            videos = bootstrap_metrics(video_probs, video_labels, n_bootstrap, seed)
        for key in VIDEO_METRICS:
            result[f"video_{key}_ci95"] = percentile_ci(videos[key]) if resample else None
    if warning:
        result["warnings"].append(warning)
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
            "auc": RankedScores(probs[keep], labels[keep]).auc(),
            "n_pos": int((sources[~real] == source).sum()),
            "n_neg": int(real.sum()),
        }
    return out
