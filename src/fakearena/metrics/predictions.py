"""A detector's predictions table and its scores: the one path from probabilities to metrics.

Every detector score in fakearena (the test stage of `fakearena train`, `fakearena evaluate`,
the `test_data=[...]` sets, the robustness sweep, the leaderboard's ROC curves) goes through
here: manifest rows + fake probabilities -> a predictions table (`predictions.csv`) ->
`detection_metrics` -> result-record entries `<prefix>/<metric>`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fakearena.errors import DataError
from fakearena.metrics.detection import DetectionInputError, detection_metrics
from fakearena.metrics.units import describe
from fakearena.results import metric

PREDICTION_COLUMNS = ("path", "video_id", "identity", "source", "label", "prob")
# detection_metrics keys recorded per set, with the count that goes with each.
FRAME_KEYS = ("auc", "ap", "eer", "acc", "tpr_at_fpr_1e-2", "tpr_at_fpr_1e-3")
VIDEO_KEYS = ("video_auc", "video_ap", "video_eer", "video_acc")


def predictions_frame(rows: pd.DataFrame, indices: np.ndarray, probs: np.ndarray) -> pd.DataFrame:
    """The predictions table: manifest rows `indices` (path, video_id, identity, source,
    label) + prob; the identity lets a CI resample people (empty where unknown)."""
    rows = rows if "identity" in rows else rows.assign(identity="")
    frame = rows.iloc[np.asarray(indices)][list(PREDICTION_COLUMNS[:-1])].reset_index(drop=True)
    frame["path"] = frame["path"].astype(str)
    frame["video_id"] = frame["video_id"].astype(str)
    frame["identity"] = frame["identity"].fillna("").astype(str)
    frame["source"] = frame["source"].astype(str)
    frame["label"] = frame["label"].astype(np.int64)
    frame["prob"] = np.asarray(probs, dtype=np.float64)
    return frame


def read_predictions(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a predictions table (`.csv` as written by fakearena, or `.npz` with prob/label).

    Ids are kept as strings. Raises DataError when the file lacks `prob` or `label`.
    """
    path = Path(path)
    if path.suffix == ".npz":
        with np.load(path) as data:
            frame = pd.DataFrame({key: data[key] for key in data.files})
    else:
        frame = pd.read_csv(
            path,
            dtype={"path": str, "video_id": str, "identity": str, "source": str},
            keep_default_na=False,
        )
    missing = {"prob", "label"} - set(frame.columns)
    if missing:
        raise DataError(
            f"predictions file {path} lacks column(s) {sorted(missing)}; it needs `prob` "
            "(fake probability) and `label` (0 real, 1 fake)"
        )
    frame["prob"] = frame["prob"].astype(np.float64)
    frame["label"] = frame["label"].astype(np.int64)
    return frame


def score_predictions(
    frame: pd.DataFrame, n_bootstrap: int = 1000, seed: int = 0, unit: str = "auto"
) -> dict[str, Any]:
    """Every detection metric of a predictions table: frame level, per video when the table
    has `video_id`, per source when it has `source`; CIs resample `unit` (auto: videos when
    they group rows, else people of the `identity` column, else images).

    Raises:
        DataError: a set with one class only, or a video whose rows disagree on the label.
    """
    try:
        return detection_metrics(
            frame["prob"].to_numpy(np.float64),
            frame["label"].to_numpy(),
            video_ids=frame["video_id"].astype(str).to_numpy() if "video_id" in frame else None,
            sources=frame["source"].astype(str).to_numpy() if "source" in frame else None,
            n_bootstrap=n_bootstrap,
            seed=seed,
            identities=frame["identity"].astype(str).to_numpy() if "identity" in frame else None,
            unit=unit,
        )
    except DetectionInputError as exc:
        raise DataError(str(exc)) from exc


UNIT_KEYS = ("ci_unit", "n_units", "n_units_real", "n_units_fake")


def metric_entries(prefix: str, result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`detection_metrics` output as result-record entries `<prefix>/<name>`.

    Frame metrics carry N; the frame AUC and the video metrics also their bootstrap CI with
    the unit it resampled and its counts (`ci_unit, n_units, n_units_real, n_units_fake`),
    the set's `flags` and, when there are any, its `warning` sentences. Video metrics carry
    the number of videos; per-source AUCs (`<prefix>/source=<source>/auc`) the number of
    fakes of that source.
    """
    entries = {}
    videos = {
        key: result[key] for key in ("n_videos", "n_videos_real", "n_videos_fake") if key in result
    }
    units: dict[str, Any] = {key: result[key] for key in UNIT_KEYS if key in result}
    units["flags"] = list(result.get("flags") or [])
    if result.get("warnings"):
        units["warning"] = "; ".join(result["warnings"])
    for key in FRAME_KEYS:
        extra: dict[str, Any] = {"n_pos": result["n_pos"], "n_neg": result["n_neg"]}
        ci = None
        if key == "auc":
            ci = result.get("auc_ci95")
            extra.update(videos)
            extra.update(units)
        entries[f"{prefix}/{key}"] = metric(result[key], n=result["n"], ci95=ci, **extra)
    for key in VIDEO_KEYS:
        if key in result:
            entries[f"{prefix}/{key}"] = metric(
                result[key],
                n=result["n_videos"],
                ci95=result.get(f"{key}_ci95"),
                **videos,
                **units,
            )
    for source, values in (result.get("per_source") or {}).items():
        entries[f"{prefix}/source={source}/auc"] = metric(
            values["auc"], n=values["n_pos"] + values["n_neg"], n_pos=values["n_pos"]
        )
    return entries


def set_warnings(metrics: dict[str, dict[str, Any]]) -> list[str]:
    """The warnings of result-record entries, as `<set>: <warning>` or `<key>: <warning>`.

    A scored set (one with an AUC, `test/celebdf_v2/auc`) is named by its key prefix, plain
    `test` being the run's own test split, and its warning is said once (its AUC entry's);
    any other entry with a warning (a GAN's `test/fid`, a one-class set's `acc`) is named by
    its key.
    """
    scored = {key.removesuffix("/auc") for key in metrics if key.endswith("/auc")}
    warnings = []
    for key, entry in metrics.items():
        if not (isinstance(entry, dict) and entry.get("warning")):
            continue
        if key.endswith("/auc"):
            prefix = key.removesuffix("/auc")
            name = "test split" if prefix == "test" else prefix
        elif key.rsplit("/", 1)[0] in scored:
            continue  # said once, with the set's AUC
        else:
            name = key
        warnings.append(f"{name}: {entry['warning']}")
    return warnings


def entry_text(key: str, entry: dict[str, Any]) -> str:
    """`key=0.9120 [0.8800, 0.9400] (N=40 identities: 20 real, 20 fake; small_n)`."""
    text = f"{key}={float(entry['value']):.4f}"
    ci = entry.get("ci95")
    if ci:
        text += f" [{ci[0]:.4f}, {ci[1]:.4f}]"
    return text + describe(entry)
