"""`fakearena train`: fit one task, test its best checkpoint, write results.json."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from fakearena.config import to_container
from fakearena.errors import ConfigError, DataError, TrainingDivergedError
from fakearena.report.loggers import close_loggers, log_run_config
from fakearena.runs.results import build_record, metric, now_iso, write_results
from fakearena.utils.quiet import quiet_third_party

# Which config group holds the network of each task.
MODEL_GROUP = {"detect": "detector", "gan": "generator", "faceswap": "generator"}


def output_dir(cfg: DictConfig) -> Path:
    """The run folder (Hydra's output folder)."""
    return Path(cfg.paths.output_dir)


def model_config(cfg: DictConfig) -> DictConfig:
    """The network config the task trains (`detector` or `generator`)."""
    task = cfg.task.name
    if task not in MODEL_GROUP:
        raise ConfigError(f"unknown task {task!r}; tasks are {sorted(MODEL_GROUP)}")
    group = MODEL_GROUP[task]
    if cfg.get(group) is None:
        raise ConfigError(f"task={task} needs {group}=<name>; see the files in conf/{group}/")
    return cfg[group]


def build_task(cfg: DictConfig) -> L.LightningModule:
    """Instantiate the task's LightningModule with its network injected."""
    net_config = _without_name(model_config(cfg))
    task = instantiate(cfg.task, net=instantiate(net_config))
    # What `fakearena.tasks.checkpoints.restore_task` needs to rebuild the model from a .ckpt.
    task.hparams["net_config"] = net_config
    task.hparams["task_target"] = cfg.task._target_
    task.hparams["net_name"] = model_config(cfg).get("name")
    return task


def _without_name(node: DictConfig) -> dict[str, Any]:
    """A model config resolved in its run's context, minus the `name` label."""
    resolved = OmegaConf.to_container(node, resolve=True)
    resolved.pop("name", None)
    return resolved


def ddp_overrides(cfg: DictConfig, task: Any) -> dict[str, Any]:
    """`strategy=ddp` -> `ddp_find_unused_parameters_true` for tasks whose steps leave some
    parameters without gradient (GAN: the D step never touches G; face swap: a batch need not
    hold every person, so some decoders are idle). Tasks say so with
    `DDP_FIND_UNUSED_PARAMETERS = True`."""
    strategy = cfg.trainer.get("strategy")
    if strategy == "ddp" and getattr(task, "DDP_FIND_UNUSED_PARAMETERS", False):
        return {"strategy": "ddp_find_unused_parameters_true"}
    return {}


def build_trainer(cfg: DictConfig, **overrides: Any) -> L.Trainer:
    """The Lightning Trainer with the configured callbacks and loggers."""
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c is not None]
    loggers = [instantiate(lg) for lg in (cfg.get("logger") or {}).values() if lg is not None]
    return instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False, **overrides)


def checkpoint_paths(trainer: L.Trainer) -> dict[str, str | None]:
    """Best (monitored) and last (every epoch) checkpoint paths; None when not written."""
    paths: dict[str, str | None] = {"best": None, "last": None}
    for callback in trainer.checkpoint_callbacks:
        path = getattr(callback, "best_model_path", "") or None
        if getattr(callback, "monitor", None) is None:
            paths["last"] = path
        else:
            paths["best"] = path
    return paths


def check_detect_splits(datamodule: Any, *, test: bool) -> None:
    """Before training: train/val (and test) rows exist, and val/test hold both classes.

    Raises:
        DataError: an empty split, or a val/test split with one label only (AUC undefined).
    """
    if not hasattr(datamodule, "dataset"):
        return
    splits = ("train", "val", "test") if test else ("train", "val")
    for split in splits:
        labels = np.unique(datamodule.dataset(split).labels)  # an empty split raises here
        if split != "train" and len(labels) < 2:
            raise DataError(
                f"the {split} split of data {datamodule.name} has only label "
                f"{int(labels[0])} ({'real' if labels[0] == 0 else 'fake'}); AUC needs real "
                f"and fake rows: add the missing class to the {split} split"
                + (" (or train with test=false)" if split == "test" else "")
            )


def resume_checkpoint(cfg: DictConfig) -> str | None:
    """Checkpoint to resume from: `ckpt_path`, or the run folder's last.ckpt with resume=true."""
    if cfg.get("ckpt_path"):
        path = Path(cfg.ckpt_path)
        if not path.is_file():
            raise ConfigError(f"ckpt_path={path} does not exist; give an existing .ckpt file")
        from fakearena.tasks.checkpoints import load_checkpoint

        load_checkpoint(path)  # refuses unsafe (pickled code) or unreadable files clearly
        return str(path)
    if cfg.get("resume"):
        last = output_dir(cfg) / "checkpoints" / "last.ckpt"
        if last.is_file():
            return str(last)
    return None


def run(cfg: DictConfig) -> float | None:
    """Train, test and record; returns the monitored validation metric (for sweepers)."""
    started_at, start = now_iso(), time.perf_counter()
    quiet_third_party()
    L.seed_everything(int(cfg.seed), workers=True, verbose=False)
    datamodule = instantiate(cfg.data)
    datamodule.manifest  # noqa: B018 - read and validate the data before anything is written
    if cfg.task.name == "detect":
        check_detect_splits(datamodule, test=bool(cfg.get("test")))
    if cfg.get("test_data"):
        from fakearena.runs.evaluate import check_test_data

        check_test_data(cfg)
    task = build_task(cfg)
    trainer = build_trainer(cfg, **ddp_overrides(cfg, task))
    log_run_config(trainer, to_container(cfg))
    try:
        trainer.fit(
            task, datamodule=datamodule, ckpt_path=resume_checkpoint(cfg), weights_only=True
        )
    except TrainingDivergedError as error:
        raise TrainingDivergedError(f"{error}. {_kept_checkpoints(output_dir(cfg))}") from error
    checkpoints = checkpoint_paths(trainer)
    metrics: dict[str, dict[str, Any]] = {}
    monitor = cfg.task.monitor
    callback = trainer.checkpoint_callback
    if callback is not None and callback.best_model_score is not None:
        metrics[monitor] = metric(float(callback.best_model_score), best_of="epochs")
    if cfg.get("test"):
        trainer.test(
            task,
            datamodule=datamodule,
            ckpt_path=checkpoints["best"],
            verbose=False,
            weights_only=True,
        )
        metrics.update(getattr(task, "test_metrics", {}))
        if cfg.task.name == "faceswap" and trainer.is_global_zero:
            from fakearena.generation.swapper import heldout_truth_metrics

            # the best checkpoint's swaps of the held-out faces against their true swaps
            # (synthetic faces only): the numbers a fake set of this run will show
            metrics.update(heldout_truth_metrics(task, datamodule))
    extra_test_data: list[dict[str, Any]] = []
    if cfg.get("test_data") and trainer.is_global_zero:
        if cfg.task.name != "detect":
            raise ConfigError("test_data=[...] is for task=detect; remove it for this task")
        from fakearena.runs.evaluate import evaluate_test_data

        test_metrics, extra_test_data = evaluate_test_data(
            cfg, checkpoints["best"], task, output_dir(cfg)
        )
        metrics.update(test_metrics)
    if hasattr(task, "result_metrics"):
        metrics.update(task.result_metrics())
    skipped = skipped_row_records(datamodule, getattr(task, "skipped_rows", set()))
    if trainer.is_global_zero:
        record = build_record(
            task=cfg.task.name,
            metrics=metrics,
            config=to_container(cfg),
            seed=int(cfg.seed),
            started_at=started_at,
            wall_seconds=time.perf_counter() - start,
            generator=cfg.generator.name if cfg.task.name != "detect" else None,
            detector=cfg.detector.name if cfg.task.name == "detect" else None,
            train_data=datamodule.references(),
            test_data=(datamodule.references("test") if cfg.get("test") else []) + extra_test_data,
            artifacts=run_artifacts(output_dir(cfg), checkpoints, extra_test_data),
            extra={"skipped_rows": skipped},
        )
        path = write_results(output_dir(cfg), record)
        print(f"fakearena train: {_headline(metrics)}; results in {path}")
    close_loggers(trainer)
    value = metrics.get(monitor, {}).get("value")
    return None if value is None else float(value)


def skipped_row_records(datamodule: Any, skipped: Any) -> list[dict[str, Any]]:
    """Rows skipped under `data.on_bad_sample=skip` as `{split, index, path}` records.

    `skipped` holds `(split, index)` pairs (`index`: row position in that split's manifest);
    a bare index is a training row.
    """
    pairs = {("train", int(x)) if isinstance(x, int) else (str(x[0]), int(x[1])) for x in skipped}
    order = {split: n for n, split in enumerate(("train", "val", "test"))}
    records = []
    for split, index in sorted(pairs, key=lambda pair: (order.get(pair[0], 3), pair)):
        record: dict[str, Any] = {"split": split, "index": int(index)}
        if hasattr(datamodule, "dataset"):
            frame = datamodule.dataset(split).manifest.frame
            record["path"] = str(frame.iloc[int(index)]["path"])
        records.append(record)
    return records


def _kept_checkpoints(run_dir: Path) -> str:
    """Which checkpoints of a stopped run are kept, as a sentence."""
    kept = sorted(str(p) for p in (run_dir / "checkpoints").glob("*.ckpt"))
    if not kept:
        return "No checkpoint was written yet (it diverged before the first epoch ended)"
    return f"The last good checkpoint(s) are kept: {', '.join(kept)}"


def _headline(metrics: dict[str, dict[str, Any]]) -> str:
    """The first few metrics as `key=value` text for the end-of-run line."""
    shown = [f"{key}={entry['value']:.4f}" for key, entry in list(metrics.items())[:4]]
    return ", ".join(shown) if shown else "no metrics"


def run_artifacts(
    run_dir: Path, checkpoints: dict[str, str | None], test_sets: list[dict[str, Any]]
) -> dict[str, Any]:
    """Paths a report links or shows: checkpoints, per-test-set predictions, latest pictures."""
    artifacts: dict[str, Any] = {"checkpoints": checkpoints, "run_dir": str(run_dir)}
    predictions = {
        ref["set"]: str(run_dir / "test_data" / ref["set"] / "predictions.csv")
        for ref in test_sets
        if "set" in ref and (run_dir / "test_data" / ref["set"] / "predictions.csv").is_file()
    }
    if predictions:
        artifacts["predictions"] = predictions
    for key, folder in (("sample_grid", "samples"), ("swap_preview", "previews")):
        pictures = sorted((run_dir / folder).glob("*.png"))
        if pictures:
            artifacts[key] = str(pictures[-1])
    return artifacts
