"""Pictures: ROC and robustness curves, run images (the AUC heatmap: `report.heatmap`).

`plot_roc` is the one ROC plotter (evaluate's roc.png and the leaderboard's roc_<set>.png).

Artifact conventions read from a record's `artifacts` (paths relative to the run folder or
absolute):
- `predictions`: a CSV (or .npz) with columns `prob` (fake probability) and `label` (0/1),
  or a dict {test set name: such a file}; a single file belongs to the run's own test split.
- any other string ending in .png/.jpg/.jpeg/.webp (at any depth, e.g. `plots.roc`,
  `sample_grid`, `swap_preview`) is an image shown in the report's gallery.
"""

from __future__ import annotations

import os
import re
import shutil
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fakearena.metrics.detection import auc_score, roc_curve_points
from fakearena.metrics.predictions import read_predictions
from fakearena.metrics.units import COLLAPSE_RANGE, collapsed
from fakearena.report import previews
from fakearena.report.records import Configuration, RunRecord
from fakearena.report.units import (
    COLLAPSED,
    FLAG_MARK,
    SMALL_N,
    Units,
    entry_flags,
    entry_units,
    entry_warnings,
    flag_text,
    grouped_warnings,
)
from fakearena.utils.io import atomic_path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


@dataclass(frozen=True)
class RocNote:
    """What a ROC curve stands on: its N in units, its flags and warnings."""

    units: Units | None = None
    flags: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _finish(fig, ax, path: str | os.PathLike[str], title: str, legend_loc: str = "best") -> Path:
    """Title, legend and grid, then the PNG written atomically and the figure closed."""
    ax.set_title(title, fontsize=9)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc=legend_loc, fontsize=8)
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def save_figure(fig, path: str | os.PathLike[str]) -> Path:
    if fig.get_layout_engine() is None:  # figures made with a layout engine keep theirs
        fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    pyplot().close(fig)
    return Path(path)


def plot_roc(
    curves: Mapping[str, tuple[Any, Any]],
    path: str | os.PathLike[str],
    title: str = "ROC",
    notes: Mapping[str, RocNote] | None = None,
) -> Path:
    """The one ROC plotter: `{name: (probs, labels)}` curves, each with its AUC in the legend,
    FPR (reals called fake) on x, TPR (fakes caught) on y, and the chance diagonal.

    Each legend entry also says its N (`notes[name].units`, else the number of samples) and
    flags: small N, and collapsed scores (probabilities within `COLLAPSE_RANGE` of each
    other: their ROC is noise); the warnings of `notes` are printed under the axes.
    """
    plt = pyplot()
    notes = notes or {}
    warnings: list[tuple[str, str]] = []
    fig, ax = plt.subplots(figsize=(4.6, 4.2), dpi=110)
    for name, (probs, labels) in curves.items():
        points = roc_curve_points(probs, labels)
        auc = auc_score(probs, labels)
        note = notes.get(name, RocNote())
        units = note.units or Units(int(np.size(labels)), "samples")
        flags = list(note.flags)
        if collapsed(np.asarray(probs)) and COLLAPSED not in flags:
            flags.append(COLLAPSED)
        mark = flag_text(dict.fromkeys(flags))
        label = f"{name} (AUC {auc:.3f}, {units.short()}{', ' + mark if mark else ''})"
        ax.plot(points["fpr"], points["tpr"], lw=1.6, label=label)
        warnings += [(name, w) for w in note.warnings]
        if COLLAPSED in flags and COLLAPSED not in note.flags:
            span = float(np.ptp(np.asarray(probs, dtype=np.float64)))
            warnings.append((name, f"scores collapsed (range {span:.2g} < {COLLAPSE_RANGE})"))
    ax.plot([0, 1], [0, 1], ls="--", lw=0.8, color="grey")
    ax.set(xlim=(0, 1), ylim=(0, 1.01))
    ax.set_xlabel("false positive rate (reals called fake)")
    ax.set_ylabel("true positive rate (fakes caught)")
    _footer(fig, [f"{FLAG_MARK} {line}" for line in grouped_warnings(warnings)])
    return _finish(fig, ax, path, title, legend_loc="lower right")


def _footer(fig, lines: list[str], width: int = 72, fontsize: float = 6.5) -> None:
    """Wrapped lines of text under the axes; the figure grows to hold them."""
    if not lines:
        return
    text = "\n".join(textwrap.fill(line, width) for line in lines)
    rows = text.count("\n") + 1
    extra = rows * fontsize * 1.35 / 72 + 0.1  # inches: points per line at 72 pt per inch
    width_in, height_in = fig.get_size_inches()
    fig.set_size_inches(width_in, height_in + extra)
    fig.text(0.02, 0.01, text, fontsize=fontsize, va="bottom", ha="left")
    fig.set_layout_engine("tight", rect=(0, extra / (height_in + extra), 1, 1))


def plot_robustness(table: pd.DataFrame, path: str | os.PathLike[str], title: str) -> Path:
    """AUC (and video AUC when present) against perturbation severity, levels as ticks."""
    plt = pyplot()
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
    """One ROC curve: the configuration it belongs to, its predictions file and what its
    metric entry says about it (N, flags, warnings)."""

    label: str
    path: Path
    note: RocNote = field(default_factory=RocNote)


def roc_note(entry: Mapping[str, Any] | None) -> RocNote:
    """A curve's note from its AUC entry in a result record."""
    return RocNote(entry_units(entry), entry_flags(entry), tuple(entry_warnings(entry)))


def prediction_units(frame: pd.DataFrame) -> Units:
    """N of a predictions table: its videos per class when it has video ids, else rows."""
    labels = frame["label"].astype(int)
    if "video_id" in frame:
        videos = frame.groupby(frame["video_id"].astype(str))["label"].max()
        fake = int((videos == 1).sum())
        return Units(len(videos), "videos", len(videos) - fake, fake)
    fake = int(labels.sum())
    return Units(len(labels), "samples", len(labels) - fake, fake)


def roc_curves(test_set: str, curves: list[Curve], path: Path) -> Path | None:
    """ROC curves of every configuration on one test set (None when none has two classes)."""
    drawn, notes = {}, {}
    for curve in curves:
        frame = read_predictions(curve.path)
        if frame["label"].nunique() == 2:
            drawn[curve.label] = (frame["prob"].to_numpy(), frame["label"].to_numpy())
            note = curve.note
            if note.units is None:
                units = prediction_units(frame)
                flags = (*note.flags, *((SMALL_N,) if units.small else ()))
                note = RocNote(units, tuple(dict.fromkeys(flags)), note.warnings)
            notes[curve.label] = note
    if not drawn:
        return None
    return plot_roc(drawn, path, f"ROC on {test_set}", notes)


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
    """Copy each configuration's artifact images (first seed) into `out_dir/images`; a face
    swap's preview grid is written enlarged, with column titles (`report.previews`)."""
    gallery = []
    for conf in confs:
        for name, source in artifact_images(conf.first):
            slug = safe_name(f"{conf.label}_{name}") + source.suffix.lower()
            target = out_dir / "images" / slug
            target.parent.mkdir(parents=True, exist_ok=True)
            # a face swap's preview grid is shown enlarged with column titles
            if name != "swap_preview" or previews.swap_preview(source, target) is None:
                shutil.copyfile(source, target)
            gallery.append((f"{conf.label}: {name}", target))
    return gallery


def safe_name(text: str) -> str:
    """A file-name-safe version of a label."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:120] or "x"
