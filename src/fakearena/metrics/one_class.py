"""Scores of a test set with one class only (e.g. a partial copy holding fakes alone).

AUC, AP and EER need both classes; what such a set can say is how many of its rows the
detector calls correctly at 0.5 (score >= 0.5 is fake, as ACC in `detection`): the recall of
the fakes on an all-fake set, the specificity on an all-real one, per frame and per video
(mean frame probability per `video_id`, as the video-level metrics).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fakearena.metrics.detection import DetectionInputError, video_scores


def one_class_metrics(probs: Any, labels: Any, video_ids: Any = None) -> dict[str, Any]:
    """`{"class": "fake"|"real", "n", "acc", "mean_prob"}` plus `n_videos`, `video_acc` with
    video ids.

    Raises:
        DetectionInputError: the labels hold both classes (score it with `detection_metrics`)
            or nothing.
    """
    probs = np.asarray(probs, dtype=np.float64).ravel()
    labels = np.asarray(labels).astype(np.int64).ravel()
    present = sorted(set(labels.tolist()))
    if len(present) != 1:
        raise DetectionInputError(
            f"a one-class score needs labels of one class; these hold {present or 'none'}"
        )
    label = present[0]
    result: dict[str, Any] = {
        "class": "fake" if label == 1 else "real",
        "n": int(probs.size),
        "acc": float(np.mean((probs >= 0.5) == label)),
        "mean_prob": float(np.mean(probs)),
    }
    if video_ids is not None:
        ids, means, video_labels, _ = video_scores(probs, labels, video_ids)
        result["n_videos"] = int(ids.size)
        result["video_acc"] = float(np.mean((means >= 0.5) == video_labels))
    return result
