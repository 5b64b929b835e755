"""Bootstrap CIs checked against brute-force resampling written independently with sklearn."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score, roc_auc_score

from fakearena.metrics.bootstrap import (
    BLOCKS,
    ClusteredAUC,
    bootstrap_auc,
    bootstrap_metrics,
    clustered_bootstrap_auc,
    weighted_metrics,
)
from fakearena.metrics.detection import detection_metrics


def videos(n_real: int, n_fake: int, frames: int, seed: int = 0, spread: float = 0.25):
    """Frames whose scores share a per-video offset (frames of one video are alike)."""
    rng = np.random.default_rng(seed)
    n = n_real + n_fake
    video_labels = np.r_[np.zeros(n_real, int), np.ones(n_fake, int)]
    offsets = rng.normal(0.45 + 0.1 * video_labels, spread)
    probs = np.clip(np.repeat(offsets, frames) + rng.normal(0, 0.05, n * frames), 0, 1)
    probs = np.round(probs, 3)  # ties inside and across videos
    ids = np.repeat([f"v{i:03d}" for i in range(n)], frames)
    return probs, np.repeat(video_labels, frames), ids


def mann_whitney_auc(labels: np.ndarray, probs: np.ndarray) -> float:
    """AUC as the Mann-Whitney U statistic from mid-ranks (ties count one half)."""
    ranks = rankdata(probs)
    n_pos = labels.sum()
    return (ranks[labels == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * (labels.size - n_pos))


def brute_eer(probs: np.ndarray, labels: np.ndarray) -> float:
    """EER by sweeping every threshold and interpolating FNR - FPR linearly."""
    thresholds = np.r_[np.inf, np.unique(probs)[::-1]]
    fpr = np.array([np.mean(probs[labels == 0] >= t) for t in thresholds])
    fnr = np.array([np.mean(probs[labels == 1] < t) for t in thresholds])
    diff = fnr - fpr
    k = int(np.argmax(diff <= 0))
    if k == 0:
        return float(fpr[0])
    t = diff[k - 1] / (diff[k - 1] - diff[k])
    return float(fpr[k - 1] + t * (fpr[k] - fpr[k - 1]))


def test_weighted_metrics_equal_the_metrics_of_the_repeated_set():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 60)
    probs = np.round(rng.random(60), 1)  # heavy ties
    weights = rng.integers(0, 3, (25, 60)).astype(float)
    got = weighted_metrics(probs, labels, weights)
    for b, row in enumerate(weights.astype(int)):
        p, y = np.repeat(probs, row), np.repeat(labels, row)
        assert got["auc"][b] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
        assert got["ap"][b] == pytest.approx(average_precision_score(y, p), abs=1e-12)
        assert got["eer"][b] == pytest.approx(brute_eer(p, y), abs=1e-12)
        assert got["acc"][b] == pytest.approx(np.mean((p >= 0.5) == y), abs=1e-12)


def test_clustered_auc_equals_sklearn_on_frames_repeated_by_video_weight():
    probs, labels, ids = videos(7, 9, frames=12, seed=1)
    clustered = ClusteredAUC(probs, labels, ids)
    rng = np.random.default_rng(0)
    real_w = rng.integers(0, 3, (20, 7)).astype(float)
    fake_w = rng.integers(0, 3, (20, 9)).astype(float)
    real_w[:, 0] += 1  # both classes present in every row
    fake_w[:, 0] += 1
    got = clustered.auc(real_w, fake_w)
    names = np.unique(ids)
    # unit weights: every pair counted as it is, even inside runs spanning several tie groups
    for blocks in (BLOCKS, 16):
        unit = ClusteredAUC(probs, labels, ids, blocks=blocks).auc(np.ones((1, 7)), np.ones((1, 9)))
        assert unit[0] == pytest.approx(roc_auc_score(labels, probs), abs=1e-12)
    for b in range(20):
        per_video = dict(zip(names, np.r_[real_w[b], fake_w[b]].astype(int)))
        repeat = np.array([per_video[v] for v in ids])
        expected = roc_auc_score(np.repeat(labels, repeat), np.repeat(probs, repeat))
        assert got[b] == pytest.approx(expected, abs=1e-12)


def test_clustered_bootstrap_matches_brute_force_resampling_of_videos():
    probs, labels, ids = videos(20, 20, frames=16, seed=2)
    fast = clustered_bootstrap_auc(probs, labels, ids, n_bootstrap=4000, seed=0)
    rng = np.random.default_rng(11)
    frames_of = {v: np.flatnonzero(ids == v) for v in np.unique(ids)}
    real = [v for v in frames_of if labels[frames_of[v][0]] == 0]
    fake = [v for v in frames_of if labels[frames_of[v][0]] == 1]
    brute = []
    for _ in range(3000):
        drawn = [*rng.choice(real, len(real)), *rng.choice(fake, len(fake))]
        rows = np.concatenate([frames_of[v] for v in drawn])
        brute.append(mann_whitney_auc(labels[rows], probs[rows]))
    brute = np.array(brute)
    assert fast.mean() == pytest.approx(brute.mean(), abs=4e-3)
    assert fast.std() == pytest.approx(brute.std(), rel=0.08)
    np.testing.assert_allclose(
        np.percentile(fast, [2.5, 97.5]), np.percentile(brute, [2.5, 97.5]), atol=0.02
    )
    # runs that span several tie groups (blocks < distinct scores) keep the distribution
    blocked = clustered_bootstrap_auc(probs, labels, ids, n_bootstrap=4000, seed=0, blocks=64)
    assert blocked.std() == pytest.approx(brute.std(), rel=0.08)
    # the reason for it all: frames of a video are alike, so resampling frames is far too sure
    frames = bootstrap_auc(probs, labels, n_bootstrap=2000, seed=0)
    assert fast.std() > 2.5 * frames.std()


def test_video_metric_bootstrap_matches_brute_force_resampling():
    rng = np.random.default_rng(4)
    labels = np.r_[np.zeros(25, int), np.ones(35, int)]
    probs = np.round(np.clip(rng.normal(0.4 + 0.2 * labels, 0.2), 0, 1), 2)
    fast = bootstrap_metrics(probs, labels, n_bootstrap=3000, seed=0)
    real, fake = np.flatnonzero(labels == 0), np.flatnonzero(labels == 1)
    brute: dict[str, list[float]] = {"auc": [], "ap": [], "eer": [], "acc": []}
    for _ in range(600):  # sklearn's AP and the threshold sweep are slow; 600 suffice
        rows = np.r_[rng.choice(real, real.size), rng.choice(fake, fake.size)]
        p, y = probs[rows], labels[rows]
        brute["auc"].append(mann_whitney_auc(y, p))
        brute["ap"].append(average_precision_score(y, p))
        brute["eer"].append(brute_eer(p, y))
        brute["acc"].append(np.mean((p >= 0.5) == y))
    for name, values in brute.items():
        error = 4 * np.std(values) / np.sqrt(len(values))  # 4 standard errors of the mean
        assert fast[name].mean() == pytest.approx(np.mean(values), abs=error), name
        assert fast[name].std() == pytest.approx(np.std(values), rel=0.12), name


def test_detection_metrics_resample_videos_and_warn_on_small_sets():
    probs, labels, ids = videos(1, 1, frames=8, seed=5)
    two = detection_metrics(probs, labels, video_ids=ids, n_bootstrap=500)
    assert two["auc_ci95"] is None and two["video_auc_ci95"] is None
    assert two["ci_unit"] == "video" and two["flags"] == ["small_n", "no_ci"]
    assert (two["n_videos"], two["n_videos_real"], two["n_videos_fake"]) == (2, 1, 1)
    assert (two["n_units"], two["n_units_real"], two["n_units_fake"]) == (2, 1, 1)
    assert len(two["warnings"]) == 1
    assert two["warnings"][0].startswith("only 2 videos (1 real, 1 fake), fewer than 30 videos")
    assert "no confidence interval" in two["warnings"][0]
    # the same frames scored as independent samples get the narrow interval of old
    as_frames = detection_metrics(probs, labels, n_bootstrap=500)
    assert as_frames["ci_unit"] == "image" and as_frames["auc_ci95"] is not None
    assert as_frames["warnings"][0].startswith("only 16 images (8 real, 8 fake)")

    probs, labels, ids = videos(20, 20, frames=4, seed=6)
    full = detection_metrics(probs, labels, video_ids=ids, n_bootstrap=500, seed=1)
    assert full["ci_unit"] == "video" and full["warnings"] == [] and full["flags"] == []
    assert full["auc_ci95"] == pytest.approx(
        np.percentile(clustered_bootstrap_auc(probs, labels, ids, 500, seed=1), [2.5, 97.5])
    )
    for key in ("auc", "ap", "eer", "acc"):
        low, high = full[f"video_{key}_ci95"]
        assert low <= full[f"video_{key}"] <= high
    few = detection_metrics(*videos(12, 9, frames=2)[:2], video_ids=videos(12, 9, 2)[2])
    assert few["warnings"] and "(12 real, 9 fake)" in few["warnings"][0]
    assert few["auc_ci95"] is not None  # small, but there is something to resample
