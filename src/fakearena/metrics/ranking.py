"""Scores ranked once: the ROC curve, AUC, AP, EER and TPR@FPR from one sort.

Scores are fake probabilities (higher = more likely fake), labels 0 = real, 1 = fake. Tied
scores are handled as sklearn does (AUC counts a tied real/fake pair as one half; AP and the
ROC curve step over tie groups).
"""

from __future__ import annotations

import numpy as np


class RankedScores:
    """Scores sorted descending with cumulative true/false positives at each tie group's end.

    Attributes:
        order: the permutation that sorts the input (stable, descending scores).
        scores, labels: the sorted scores and their labels.
        ends: index (in sorted order) of the last item of each tie group.
        tps, fps: fakes and reals scored at or above each tie group.
    """

    def __init__(self, probs: np.ndarray, labels: np.ndarray):
        self.order = np.argsort(-probs, kind="stable")
        self.scores = probs[self.order]
        self.labels = labels[self.order]
        last = np.flatnonzero(np.diff(self.scores)) if self.scores.size > 1 else np.empty(0, int)
        self.ends = np.r_[last, self.scores.size - 1]
        cum = np.cumsum(self.labels)
        self.tps = cum[self.ends].astype(np.float64)
        self.fps = (self.ends + 1 - self.tps).astype(np.float64)
        self.n_pos, self.n_neg = self.tps[-1], self.fps[-1]

    def roc(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(fpr, tpr, thresholds), starting at (0, 0) with threshold +inf."""
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
