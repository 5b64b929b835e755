"""Plots of a detector evaluation: the ROC curve and the robustness curve (AUC per severity)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from fakearena.utils.io import atomic_path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_roc_png(
    path: str | os.PathLike[str], fpr: np.ndarray, tpr: np.ndarray, auc: float, title: str
) -> Path:
    """ROC curve with the chance diagonal, AUC in the legend; written atomically."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.2, 4.2), dpi=120)
    ax.plot(fpr, tpr, lw=1.8, label=f"AUC = {auc:.4f}")
    ax.plot([0, 1], [0, 1], ls="--", lw=0.8, color="grey", label="chance")
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="false positive rate (reals called fake)")
    ax.set_ylabel("true positive rate (fakes caught)")
    return _finish(fig, ax, path, title, legend_loc="lower right")


def save_robustness_png(path: str | os.PathLike[str], table: pd.DataFrame, title: str) -> Path:
    """AUC (and video AUC when present) against severity, level values as tick labels."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.0, 3.6), dpi=120)
    ax.plot(table["severity"], table["auc"], marker="o", label="frame AUC")
    if "video_auc" in table and table["video_auc"].notna().any():
        ax.plot(table["severity"], table["video_auc"], marker="s", ls="--", label="video AUC")
    labels = ["clean" if s == 0 else f"{v:g}" for s, v in zip(table["severity"], table["level"])]
    ax.set_xticks(table["severity"], labels)
    ax.set_xlabel(f"{table['perturb'].iat[0]} {table['level_name'].iat[0]}")
    ax.set_ylabel("AUC")
    ax.set_ylim(min(0.4, float(table["auc"].min()) - 0.05), 1.01)
    ax.axhline(0.5, ls=":", color="grey", lw=0.8)
    return _finish(fig, ax, path, title)


def _finish(fig, ax, path, title: str, legend_loc: str = "best") -> Path:
    """Title, legend and grid, then the PNG written atomically and the figure closed."""
    ax.set_title(title, fontsize=9)
    ax.legend(loc=legend_loc, fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    _pyplot().close(fig)
    return Path(path)
