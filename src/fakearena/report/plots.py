"""Leaderboard pictures: the detector x test set AUC heatmap, ROC curves, run images.

Artifact conventions read from a record's `artifacts` (paths relative to the run folder or
absolute):
- `predictions`: a CSV (or .npz) with columns `prob` (fake probability) and `label` (0/1),
  or a dict {test set name: such a file}; a single file belongs to the run's own test split.
- any other string ending in .png/.jpg/.jpeg/.webp (at any depth, e.g. `plots.roc`,
  `sample_grid`, `swap_preview`) is an image shown in the report's gallery.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fakearena.errors import DataError
from fakearena.report.fold import Folded, number
from fakearena.report.records import Configuration, RunRecord

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def auc_heatmap(
    rows: list[str], columns: list[str], values: list[list[Folded | None]], path: Path
) -> Path:
    """Detector (rows) x test set (columns) frame AUC, annotated; missing cells grey "-"."""
    plt = _pyplot()
    grid = np.array([[np.nan if v is None else v.mean for v in row] for row in values], float)
    width = min(4.0 + 1.3 * len(columns), 30.0)
    height = min(1.8 + 0.55 * len(rows), 30.0)
    fig, ax = plt.subplots(figsize=(width, height), dpi=110)
    cmap = plt.get_cmap("RdYlGn").with_extremes(bad="#d9d9d9")
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0.5, vmax=1.0, aspect="auto")
    for i, row in enumerate(values):
        for j, value in enumerate(row):
            text = "-" if value is None else number(value.mean)
            if value is not None and value.count > 1:
                text += f"\n±{number(value.std or 0.0, like=value.mean)}"
            ax.text(j, i, text, ha="center", va="center", fontsize=9, color="black")
    ax.set_xticks(range(len(columns)), labels=columns, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), labels=rows)
    ax.set_xlabel("test set")
    ax.set_ylabel("detector")
    ax.set_title("Frame AUC (mean over seeds)")
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02, label="AUC")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def read_predictions(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Fake probabilities and 0/1 labels from a predictions CSV or .npz."""
    if path.suffix == ".npz":
        with np.load(path) as data:
            frame = pd.DataFrame({k: data[k] for k in ("prob", "label") if k in data})
    else:
        frame = pd.read_csv(path)
    missing = {"prob", "label"} - set(frame.columns)
    if missing:
        raise DataError(
            f"predictions file {path} lacks column(s) {sorted(missing)}; it needs `prob` "
            "(fake probability) and `label` (0 real, 1 fake)"
        )
    return frame["prob"].to_numpy(float), frame["label"].to_numpy(int)


def prediction_files(run: RunRecord, own_test_set: str) -> dict[str, Path]:
    """Test set -> predictions file of a run (files that are not there are left out)."""
    value = (run.record.get("artifacts") or {}).get("predictions")
    if not value:
        return {}
    items = value.items() if isinstance(value, dict) else [(own_test_set, value)]
    found = {}
    for test_set, file in items:
        if isinstance(file, str):
            path = run.artifact_path(file)
            if path.is_file():
                found[str(test_set)] = path
    return found


@dataclass
class Curve:
    """One ROC curve: the configuration it belongs to and its predictions file."""

    label: str
    path: Path


def roc_curves(test_set: str, curves: list[Curve], path: Path) -> Path | None:
    """ROC curves of every configuration on one test set (None when none has two classes)."""
    from sklearn.metrics import roc_auc_score, roc_curve

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.6, 4.2), dpi=110)
    drawn = 0
    for curve in curves:
        probs, labels = read_predictions(curve.path)
        if len(np.unique(labels)) < 2:
            continue
        fpr, tpr, _ = roc_curve(labels, probs)
        auc = roc_auc_score(labels, probs)
        ax.plot(fpr, tpr, label=f"{curve.label} (AUC {auc:.3f})", linewidth=1.6)
        drawn += 1
    if not drawn:
        plt.close(fig)
        return None
    ax.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"ROC on {test_set}")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def artifact_images(run: RunRecord) -> Iterator[tuple[str, Path]]:
    """(name, path) of every existing image a record's artifacts point to."""
    for name, value in _walk(run.record.get("artifacts") or {}):
        if isinstance(value, str) and value.lower().endswith(IMAGE_SUFFIXES):
            path = run.artifact_path(value)
            if path.is_file():
                yield name, path


def _walk(tree: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _walk(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from _walk(value, f"{prefix}[{i}]")
    else:
        yield prefix, tree


def copy_gallery(confs: list[Configuration], out_dir: Path) -> list[tuple[str, Path]]:
    """Copy each configuration's artifact images (first seed) into `out_dir/images`."""
    gallery = []
    for conf in confs:
        for name, source in artifact_images(conf.first):
            slug = safe_name(f"{conf.label}_{name}") + source.suffix.lower()
            target = out_dir / "images" / slug
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            gallery.append((f"{conf.label}: {name}", target))
    return gallery


def safe_name(text: str) -> str:
    """A file-name-safe version of a label."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:120] or "x"
