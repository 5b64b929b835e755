"""The further test sets of `fakearena train task=detect` (`test_data=[...]`).

Every set is checked before training (exists, readable, has the `test_split` rows, holds
both classes or is declared one-class with `test_one_class=[<set>]`), so a bad set costs a
second, not a training run. After training each set is scored on its own: one that fails
then is recorded in results.json (`test_data_failures`) and never loses the others' scores.
A declared one-class set is scored by `fakearena.metrics.one_class` (the share of its rows
called correctly at 0.5: recall on an all-fake set; no AUC).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig
from torch import nn

from fakearena.errors import DataError, FakearenaError
from fakearena.metrics.detection import DetectionInputError
from fakearena.metrics.one_class import one_class_metrics
from fakearena.metrics.predictions import metric_entries, predictions_frame, score_predictions
from fakearena.results import metric
from fakearena.runs.evaluate import evaluation_dataset, test_set_module
from fakearena.runs.scoring import (
    METRICS_FILE,
    PREDICTIONS_FILE,
    predict_probs,
    write_evaluation,
)
from fakearena.tasks.checkpoints import restore_task
from fakearena.utils.io import atomic_path, atomic_write_json
from fakearena.utils.parallel import num_workers_value, resolve_device


def declared_one_class(cfg: DictConfig) -> set[str]:
    """Names (or entries) of the test sets declared one-class (`test_one_class`)."""
    return {str(name) for name in cfg.get("test_one_class") or []}


def _is_declared(entry: str, name: str, declared: set[str]) -> bool:
    return entry in declared or name in declared


def check_test_data(cfg: DictConfig) -> None:
    """Fail before training, naming every bad `test_data` set and its fix."""
    split = str(cfg.get("test_split", "test"))
    declared = declared_one_class(cfg)
    entries = [str(entry) for entry in cfg.get("test_data") or []]
    unknown = declared - set(entries) - {_set_name(entry) for entry in entries}
    problems = (
        [f"test_one_class names {sorted(unknown)}, which are not test_data sets ({entries})"]
        if unknown
        else []
    )
    for entry in entries:
        try:
            module = test_set_module(entry, seed=int(cfg.seed), image_size=int(cfg.data.image_size))
            frame = evaluation_dataset(module, split, option="test_split").manifest.frame
        except FakearenaError as error:
            problems.append(f"test set {entry}: {error}")
            continue
        classes = sorted(set(frame["label"].astype(int)))
        if len(classes) == 1 and not _is_declared(entry, module.name, declared):
            only = "fake (1)" if classes == [1] else "real (0)"
            problems.append(
                f"test set {module.name}: its {len(frame)} {split} rows are all {only}, and AUC "
                f"needs real and fake rows; add the missing class, drop it from test_data, or "
                f"declare it one-class with test_one_class=[{module.name}] (scored by the share "
                "of rows called correctly at 0.5, no AUC)"
            )
    if problems:
        raise DataError("bad test_data, nothing trained yet: " + "; ".join(problems))


def _set_name(entry: str) -> str:
    path = Path(entry)
    return path.stem if path.suffix == ".csv" else entry


def _unique_name(name: str, taken: set[str]) -> str:
    candidate, k = name, 2
    while candidate in taken:
        candidate, k = f"{name}_{k}", k + 1
    taken.add(candidate)
    return candidate


def evaluate_test_data(
    cfg: DictConfig, checkpoint: str | None, task: nn.Module, run_dir: Path
) -> tuple[
    dict[str, dict[str, Any]], list[dict[str, Any]], dict[str, dict[str, str]], dict[str, str]
]:
    """Score the best model on each `cfg.test_data` set (its `test_split` rows).

    Writes `<run_dir>/test_data/<set>/{predictions.csv,metrics.json,roc.png}`; returns the
    `test/<set>/<metric>` entries, the sets' manifest references, the files per set and the
    sets that could not be scored (name -> reason; also printed as warnings).
    """
    model = restore_task(checkpoint, expected_task="detect") if checkpoint else task
    device = resolve_device("cpu" if cfg.trainer.accelerator == "cpu" else "auto")
    split = cfg.get("test_split", "test")
    options = {
        "image_size": int(cfg.data.image_size),
        "channels": int(cfg.data.channels),
        "batch_size": int(cfg.data.batch_size),
        "num_workers": num_workers_value(cfg.data.num_workers),
        # the protocol fixes frames per video for the training data and every test set alike
        "frames_per_video": cfg.data.get("frames_per_video"),
    }
    declared = declared_one_class(cfg)
    metrics: dict[str, dict[str, Any]] = {}
    references: list[dict[str, Any]] = []
    files: dict[str, dict[str, str]] = {}
    failures: dict[str, str] = {}
    taken: set[str] = set()
    for entry in cfg.test_data:
        name = _unique_name(_set_name(str(entry)), taken)
        try:
            datamodule = test_set_module(str(entry), seed=int(cfg.seed), **options)
            dataset = evaluation_dataset(datamodule, split, option="test_split")
            one_class = _is_declared(str(entry), datamodule.name, declared)
            entries, files[name], scored, skipped = _score_set(
                model,
                dataset,
                cfg,
                options,
                device,
                run_dir / "test_data" / name,
                f"test/{name}",
                f"{name} ({split})",
                one_class,
            )
        except (FakearenaError, DetectionInputError) as error:
            failures[name] = str(error)
            print(
                f"fakearena: warning: test set {name} could not be scored: {error}", file=sys.stderr
            )
            continue
        metrics.update(entries)
        reference = dict(datamodule.references(split if split != "all" else None)[0])
        reference.update(set=name, scored_rows=scored, skipped_rows=skipped)
        references.append(reference)
    model.cpu()
    return metrics, references, files, failures


def _score_set(
    model, dataset, cfg, options, device, out_dir: Path, prefix: str, title: str, one_class: bool
):
    """(metric entries, files, rows scored, rows skipped) of one set."""
    indices, probs, skipped = predict_probs(
        model,
        dataset,
        batch_size=options["batch_size"],
        num_workers=options["num_workers"],
        device=device,
    )
    frame = predictions_frame(dataset.manifest.frame, indices, probs)
    labels = set(frame["label"].astype(int))
    if not one_class or len(labels) > 1:
        result = score_predictions(
            frame,
            int(cfg.task.get("n_bootstrap", 1000)),
            int(cfg.seed),
            unit=str(cfg.task.get("ci_unit", "auto")),
        )
        return (
            metric_entries(prefix, result),
            write_evaluation(out_dir, frame, result, title),
            len(frame),
            skipped,
        )
    result = one_class_metrics(frame["prob"], frame["label"], frame.get("video_id"))
    return (
        one_class_entries(prefix, result),
        _write_one_class(out_dir, frame, result),
        len(frame),
        skipped,
    )


def one_class_entries(prefix: str, result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`one_class_metrics` output as result-record entries, each saying what it measures."""
    meaning = "recall of the fakes" if result["class"] == "fake" else "specificity (reals)"
    note = f"one class only (all {result['class']}): acc is the {meaning} at 0.5; no AUC"
    entries = {
        f"{prefix}/acc": metric(
            result["acc"], n=result["n"], one_class=result["class"], warning=note
        ),
        f"{prefix}/mean_prob": metric(
            result["mean_prob"], n=result["n"], one_class=result["class"]
        ),
    }
    if "video_acc" in result:
        entries[f"{prefix}/video_acc"] = metric(
            result["video_acc"], n=result["n_videos"], one_class=result["class"]
        )
    return entries


def _write_one_class(out_dir: Path, frame, result: dict[str, Any]) -> dict[str, str]:
    """predictions.csv and metrics.json of a one-class set (no ROC: it needs both classes)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / PREDICTIONS_FILE) as tmp:
        frame.to_csv(tmp, index=False)
    atomic_write_json(out_dir / METRICS_FILE, result)
    return {"predictions": str(out_dir / PREDICTIONS_FILE), "metrics": str(out_dir / METRICS_FILE)}
