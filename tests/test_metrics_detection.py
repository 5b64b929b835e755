"""Detection metrics cross-checked against sklearn, brute-force sweeps and pandas groupby."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from fakearena.metrics.bootstrap import bootstrap_auc
from fakearena.metrics.detection import (
    DetectionInputError,
    detection_metrics,
    roc_curve_points,
)
from fakearena.report.plots import plot_roc


def tied_data(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    probs = np.round(np.clip(rng.normal(0.4 + 0.2 * labels, 0.2), 0, 1), 2)  # many ties
    return probs, labels


def mann_whitney_auc(labels: np.ndarray, probs: np.ndarray) -> float:
    ranks = rankdata(probs)
    n_pos = labels.sum()
    return (ranks[labels == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * (labels.size - n_pos))


def brute_rates(probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """FPR and FNR for "fake when score >= t" at every distinct score, by direct counting."""
    thresholds = np.r_[np.inf, np.unique(probs)[::-1]]
    fpr = np.array([np.mean(probs[labels == 0] >= t) for t in thresholds])
    fnr = np.array([np.mean(probs[labels == 1] < t) for t in thresholds])
    return fpr, fnr


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_ap_equal_sklearn_with_ties(seed: int) -> None:
    probs, labels = tied_data(seed=seed)
    result = detection_metrics(probs, labels, n_bootstrap=0)
    assert result["auc"] == pytest.approx(roc_auc_score(labels, probs), abs=1e-12)
    assert result["ap"] == pytest.approx(average_precision_score(labels, probs), abs=1e-12)
    assert result["acc"] == pytest.approx(np.mean((probs >= 0.5) == labels), abs=1e-15)
    assert (result["n"], result["n_pos"], result["n_neg"]) == (
        len(labels),
        labels.sum(),
        (labels == 0).sum(),
    )


def test_eer_and_tpr_at_fpr_equal_brute_force_sweep() -> None:
    probs, labels = tied_data(seed=3)
    fpr, fnr = brute_rates(probs, labels)
    k = np.flatnonzero(fnr - fpr <= 0)[0]  # first threshold where FNR <= FPR
    d0, d1 = fnr[k - 1] - fpr[k - 1], fnr[k] - fpr[k]
    t = d0 / (d0 - d1)
    expected_eer = fpr[k - 1] + t * (fpr[k] - fpr[k - 1])
    assert expected_eer == pytest.approx(fnr[k - 1] + t * (fnr[k] - fnr[k - 1]), abs=1e-12)
    result = detection_metrics(probs, labels, n_bootstrap=0)
    assert result["eer"] == pytest.approx(expected_eer, abs=1e-12)
    for target, key in ((1e-2, "tpr_at_fpr_1e-2"), (1e-3, "tpr_at_fpr_1e-3")):
        assert result[key] == pytest.approx((1 - fnr)[fpr <= target].max(), abs=1e-12)


def test_roc_points_equal_sklearn() -> None:
    probs, labels = tied_data(seed=4)
    ours = roc_curve_points(probs, labels)
    fpr, tpr, thresholds = roc_curve(labels, probs, drop_intermediate=False)
    np.testing.assert_allclose(ours["fpr"], fpr, atol=1e-15)
    np.testing.assert_allclose(ours["tpr"], tpr, atol=1e-15)
    np.testing.assert_array_equal(ours["thresholds"][1:], thresholds[1:])


def test_video_level_and_per_source_equal_pandas_recomputation() -> None:
    rng = np.random.default_rng(5)
    n_videos = 120
    video_label = rng.integers(0, 2, n_videos)
    frames = rng.integers(1, 9, n_videos)
    video = np.repeat([f"src/v{i:03d}" for i in range(n_videos)], frames)
    labels = np.repeat(video_label, frames)
    probs = np.clip(rng.normal(0.4 + 0.2 * labels, 0.25), 0, 1)
    sources = np.where(
        labels == 0, "real", np.repeat(rng.choice(["gan/a", "swap/b"], n_videos), frames)
    )
    result = detection_metrics(probs, labels, video_ids=video, sources=sources, n_bootstrap=0)
    frame = pd.DataFrame({"video": video, "p": probs, "y": labels})
    per_video = frame.groupby("video").agg(p=("p", "mean"), y=("y", "first"))
    assert result["n_videos"] == len(per_video) == n_videos
    assert result["video_auc"] == pytest.approx(roc_auc_score(per_video.y, per_video.p), abs=1e-12)
    assert result["video_ap"] == pytest.approx(
        average_precision_score(per_video.y, per_video.p), abs=1e-12
    )
    assert result["video_acc"] == pytest.approx(np.mean((per_video.p >= 0.5) == per_video.y))
    for source in ("gan/a", "swap/b"):
        keep = (labels == 0) | (sources == source)
        assert result["per_source"][source]["auc"] == pytest.approx(
            roc_auc_score(labels[keep], probs[keep]), abs=1e-12
        )
        assert result["per_source"][source]["n_pos"] == int((sources == source).sum())


def test_bootstrap_matches_naive_resampling_and_is_seeded() -> None:
    probs, labels = tied_data(n=300, seed=6)
    fast = bootstrap_auc(probs, labels, n_bootstrap=3000, seed=0)
    rng = np.random.default_rng(1)
    pos, neg = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    naive = np.array(
        [
            mann_whitney_auc(labels[i], probs[i])
            for i in (
                np.r_[rng.choice(pos, pos.size), rng.choice(neg, neg.size)] for _ in range(1500)
            )
        ]
    )
    assert fast.mean() == pytest.approx(naive.mean(), abs=2e-3)
    assert fast.std() == pytest.approx(naive.std(), rel=0.08)
    # Blocked (distinct scores > blocks) keeps the same distribution.
    blocked = bootstrap_auc(probs, labels, n_bootstrap=3000, seed=0, blocks=32)
    assert blocked.std() == pytest.approx(naive.std(), rel=0.08)
    again = detection_metrics(probs, labels, seed=0)["auc_ci95"]
    assert again == detection_metrics(probs, labels, seed=0)["auc_ci95"]
    assert again != detection_metrics(probs, labels, seed=1)["auc_ci95"]
    assert again[0] < roc_auc_score(labels, probs) < again[1]


def test_single_class_and_mixed_video_are_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"all real.*need both real and fake"):
        detection_metrics([0.1, 0.2, 0.3, 0.4], [0, 0, 0, 0])
    with pytest.raises(DetectionInputError, match="'vid/7'"):
        detection_metrics(
            [0.1, 0.9, 0.3, 0.8], [0, 1, 0, 1], video_ids=["vid/1", "vid/7", "vid/7", "vid/2"]
        )
    with pytest.raises(ValueError, match="NaN"):
        detection_metrics([0.1, np.nan], [0, 1])


def test_plot_roc_writes_png(tmp_path) -> None:
    probs, labels = tied_data(n=200, seed=7)
    path = plot_roc({"model": (probs, labels)}, tmp_path / "roc.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
