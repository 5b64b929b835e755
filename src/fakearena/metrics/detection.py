"""Detection metrics: AUC, AP, EER, ACC, TPR@FPR, video level, per source, bootstrap CIs.

Scores are fake probabilities (higher = more likely fake), labels 0 = real, 1 = fake. Every
metric is computed from one sort of the scores (`fakearena.metrics.ranking`); tied scores are
handled as sklearn does. Confidence intervals resample the repeating unit (video, person or
image: `fakearena.metrics.units`), and a set too small to say much, or whose scores collapsed,
carries flags and warnings.
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
from fakearena.metrics.cluster_weights import cluster_bootstrap_metrics
from fakearena.metrics.ranking import RankedScores, equal_error_rate, tpr_at_fpr
from fakearena.metrics.units import Units, assess, choose_units

FPR_TARGETS = (1e-2, 1e-3)
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


def detection_metrics(
    probs: Any,
    labels: Any,
    video_ids: Sequence[Any] | None = None,
    sources: Sequence[Any] | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
    identities: Sequence[Any] | None = None,
    unit: str = "auto",
) -> dict[str, Any]:
    """Frame-level detection metrics, plus video-level and per-source ones when asked.

    Returns `auc, ap, eer, acc, tpr_at_fpr_1e-2, tpr_at_fpr_1e-3, n, n_pos, n_neg, auc_ci95,
    ci_unit, n_units, n_units_real, n_units_fake, flags, warnings`. EER is where FPR = FNR,
    linearly interpolated between the two ROC points around the crossing. ACC is at threshold
    0.5 (score >= 0.5 is fake). TPR@FPR is the highest TPR at FPR <= the target.

    `auc_ci95` is a 95% percentile bootstrap interval [lo, hi] (stratified, seeded) that
    resamples the repeating unit (`fakearena.metrics.units.choose_units`: `unit` "auto"
    takes videos when videos group frames, else people from `identities`, else images);
    `ci_unit` names it and `n_units*` count it per class. The CI is None when `n_bootstrap`
    is 0 or a class has fewer than 2 units.

    With `video_ids` also: `video_auc, video_ap, video_eer, video_acc` from the mean frame
    probability of each video, each with its `<name>_ci95` (the same units resampled), and
    `n_videos, n_videos_real, n_videos_fake`. With `sources`: `per_source`, the AUC of all
    reals against the fakes of each source alone (with their counts).

    `flags` are short marks (`small_n`, `collapsed`, `no_ci`) and `warnings` the sentences
    that explain them (`fakearena.metrics.units.assess`).

    Raises:
        DetectionInputError (a ValueError): one class only, a video with mixed labels,
            mismatched lengths, non-finite scores.
        ConfigError: an unknown `unit`, or one the rows have no ids for.
    """
    probs, labels = _check(probs, labels)
    result: dict[str, Any] = _frame_metrics(probs, labels)
    n_pos = int(labels.sum())
    result.update(n=int(labels.size), n_pos=n_pos, n_neg=int(labels.size - n_pos))
    try:
        units = choose_units(labels, video_ids, identities, unit)
    except ValueError as exc:  # ids of the wrong length
        raise DetectionInputError(str(exc)) from exc
    resample = bool(n_bootstrap) and min(units.n_real, units.n_fake) >= 2
    result["auc_ci95"] = None
    if resample and units.name == "image":
        result["auc_ci95"] = percentile_ci(bootstrap_auc(probs, labels, n_bootstrap, seed))
    elif resample:
        replicates = clustered_bootstrap_auc(probs, labels, units.clusters, n_bootstrap, seed)
        result["auc_ci95"] = percentile_ci(replicates)
    result.update(units.counts())
    result["flags"], result["warnings"] = assess(probs, units, result["auc_ci95"] is not None)
    if video_ids is not None:
        result.update(_video_metrics(probs, labels, video_ids, units, n_bootstrap, seed))
    if sources is not None:
        result["per_source"] = per_source_auc(probs, labels, sources)
    return result


def _video_metrics(
    probs: np.ndarray,
    labels: np.ndarray,
    video_ids: Sequence[Any],
    units: Units,
    n_bootstrap: int,
    seed: int,
) -> dict[str, Any]:
    """Metrics of the mean score per video, with CIs that resample the same units."""
    _, video_probs, video_labels, video_index = video_scores(probs, labels, video_ids)
    video = _frame_metrics(*_check(video_probs, video_labels))
    out: dict[str, Any] = {f"video_{k}": video[k] for k in VIDEO_METRICS}
    n_fake = int(video_labels.sum())
    out.update(
        n_videos=int(video_labels.size),
        n_videos_real=int(video_labels.size) - n_fake,
        n_videos_fake=n_fake,
    )
    replicates = None
    if n_bootstrap and min(units.n_real, units.n_fake) >= 2:
        if units.name == "identity":  # the person of each video (its first row's)
            _, first_row = np.unique(video_index, return_index=True)
            clusters = units.clusters[first_row]
            replicates = cluster_bootstrap_metrics(
                video_probs, video_labels, clusters, n_bootstrap, seed
            )
        else:  # videos, or images that are their own videos
            replicates = bootstrap_metrics(video_probs, video_labels, n_bootstrap, seed)
    for key in VIDEO_METRICS:
        out[f"video_{key}_ci95"] = None if replicates is None else percentile_ci(replicates[key])
    return out


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
