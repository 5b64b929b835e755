"""ROC curve pictures (PNG, matplotlib Agg): one curve per named set of predictions."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fakearena.metrics.detection import roc_curve_points
from fakearena.utils.io import atomic_path


def plot_roc(curves: Mapping[str, tuple[Any, Any]], path: str | os.PathLike[str],
             title: str = "ROC") -> Path:
    """Write a ROC plot of `{name: (probs, labels)}` to `path` (PNG), atomically.

    The legend gives each curve's AUC; axes are FPR (x) and TPR (y) with the chance diagonal.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    from fakearena.metrics.detection import _check, _Sorted

    figure = Figure(figsize=(5, 5), dpi=100)
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], color="0.7", lw=1, ls="--")
    for name, (probs, labels) in curves.items():
        points = roc_curve_points(probs, labels)
        auc = _Sorted(*_check(probs, labels)).auc()
        axes.plot(points["fpr"], points["tpr"], lw=1.5, label=f"{name} (AUC {auc:.3f})")
    axes.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="false positive rate",
             ylabel="true positive rate", title=title)
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    return path
