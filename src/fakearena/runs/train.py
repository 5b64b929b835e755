"""`fakearena train`: fit one task, test its best checkpoint, write results.json."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import lightning as L
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf

from fakearena.config import to_container
from fakearena.errors import ConfigError, TrainingDivergedError
from fakearena.metrics.predictions import entry_text, set_warnings
from fakearena.results import build_record, metric, now_iso, write_results
from fakearena.tasks.base import Task
from fakearena.utils.loggers import close_loggers, log_run_config
from fakearena.utils.quiet import quiet_third_party


def output_dir(cfg: DictConfig) -> Path:
    """The run folder (Hydra's output folder)."""
    return Path(cfg.paths.output_dir)


def task_class(cfg: DictConfig) -> type[Task]:
    """The task's class (`task._target_`), checked to implement `fakearena.tasks.base.Task`."""
    target = cfg.task.get("_target_")
    try:
        cls = get_class(str(target))
    except Exception as exc:
        raise ConfigError(
            f"task._target_={target!r} is not an importable class; see the files in conf/task/"
        ) from exc
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise ConfigError(
            f"task._target_={target!r} is not a fakearena task (a subclass of "
            "fakearena.tasks.base.Task)"
        )
    return cls


def model_config(cfg: DictConfig) -> DictConfig:
    """The network config the task trains: the config group its class names."""
    group = task_class(cfg).model_group
    if cfg.get(group) is None:
        raise ConfigError(
            f"task={cfg.task.name} needs {group}=<name>; see the files in conf/{group}/"
        )
    return cfg[group]


def build_task(cfg: DictConfig) -> Task:
    """Instantiate the task's LightningModule with its network injected."""
    net_config = _without_name(model_config(cfg))
    task = instantiate(cfg.task, net=instantiate(net_config))
    # What `fakearena.tasks.checkpoints.restore_task` needs to rebuild the model from a .ckpt.
    task.hparams["net_config"] = net_config
    task.hparams["task_target"] = cfg.task._target_
    task.hparams["net_name"] = model_config(cfg).get("name")
    task.set_speed(
        memory_format=str(cfg.get("memory_format") or "auto"), compile=bool(cfg.get("compile"))
    )
    return task


def _without_name(node: DictConfig) -> dict[str, Any]:
    """A model config resolved in its run's context, minus the `name` label."""
    resolved = OmegaConf.to_container(node, resolve=True)
    resolved.pop("name", None)
    return resolved


def ddp_overrides(cfg: DictConfig, task: Task) -> dict[str, Any]:
    """`strategy=ddp` -> `ddp_find_unused_parameters_true` for tasks whose steps leave some
    parameters without gradient (GAN: the D step never touches G; face swap: a batch need not
    hold every person, so some decoders are idle): `Task.ddp_find_unused_parameters`."""
    strategy = cfg.trainer.get("strategy")
    if strategy == "ddp" and task.ddp_find_unused_parameters:
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
    kind = task_class(cfg)
    if cfg.get("test_data") and not kind.accepts_test_data:
        raise ConfigError(
            f"test_data=[...] scores detectors; task={cfg.task.name} cannot use it: remove it"
        )
    datamodule = instantiate(cfg.data)
    datamodule.manifest  # noqa: B018 - read and validate the data before anything is written
    for warning in datamodule.warnings:
        print(f"fakearena: warning: {warning}", file=sys.stderr)
    kind.check_data(datamodule, test=bool(cfg.get("test")))
    augment_masks = datamodule.augment_masks()
    if augment_masks:
        print(f"fakearena: {_masks_line(augment_masks)}", file=sys.stderr)
    if cfg.get("test_data"):
        from fakearena.runs.test_data import check_test_data

        check_test_data(cfg)
    task = build_task(cfg)
    targets = task.training_targets()
    if targets:  # e.g. Face X-ray's blend masks
        datamodule.request_training_targets(targets)
    trainer = build_trainer(cfg, **ddp_overrides(cfg, task))
    log_run_config(trainer, to_container(cfg))
    try:
        trainer.fit(
            task, datamodule=datamodule, ckpt_path=resume_checkpoint(cfg), weights_only=True
        )
    except TrainingDivergedError as error:
        raise TrainingDivergedError(f"{error}. {_kept_checkpoints(output_dir(cfg))}") from error
    # before testing: trainer.test(ckpt_path=best) restores the Timer's elapsed time (and the
    # epoch) of that checkpoint on top of the run's, so later they would count twice
    facts = training_facts(trainer)
    checkpoints = checkpoint_paths(trainer)
    metrics: dict[str, dict[str, Any]] = {}
    monitor = cfg.task.monitor
    callback = trainer.checkpoint_callback
    if callback is not None and callback.best_model_score is not None:
        metrics[monitor] = metric(float(callback.best_model_score), best_of="epochs")
    run_dir = output_dir(cfg)
    test_sets: list[dict[str, Any]] = []
    evaluations: dict[str, dict[str, str]] = {}  # test set name -> files written for it
    test_data_failures: dict[str, str] = {}  # test set name -> why it could not be scored
    if cfg.get("test"):
        trainer.test(
            task,
            datamodule=datamodule,
            ckpt_path=checkpoints["best"],
            verbose=False,
            weights_only=True,
        )
        metrics.update(task.test_metrics)
        if trainer.is_global_zero:
            metrics.update(task.heldout_metrics(datamodule))
        test_sets = datamodule.references("test")
        if task.test_predictions is not None and trainer.is_global_zero:
            from fakearena.runs.scoring import write_evaluation

            own = str(test_sets[0]["name"])
            evaluations[own] = write_evaluation(
                run_dir / "test", task.test_predictions, task.test_result, f"{own} (test)"
            )
    if cfg.get("test_data") and trainer.is_global_zero:
        from fakearena.runs.test_data import evaluate_test_data

        test_metrics, extra_test_data, files, test_data_failures = evaluate_test_data(
            cfg, checkpoints["best"], task, run_dir
        )
        metrics.update(test_metrics)
        test_sets += extra_test_data
        evaluations.update(files)
    metrics.update(task.result_metrics())
    skipped = skipped_row_records(datamodule, task.skipped_rows)
    selection = task.selection_warnings(datamodule) if callback is not None else []
    config_warnings: list[str] = []
    config = to_container(cfg, config_warnings)
    warnings = datamodule.warnings + selection + set_warnings(metrics) + config_warnings
    if trainer.is_global_zero:
        record = build_record(
            task=cfg.task.name,
            metrics=metrics,
            config=config,
            seed=int(cfg.seed),
            started_at=started_at,
            wall_seconds=time.perf_counter() - start,
            **{kind.model_group: model_config(cfg).name},
            train_data=datamodule.references(),
            test_data=test_sets,
            artifacts=run_artifacts(run_dir, checkpoints, evaluations),
            extra={
                "skipped_rows": skipped,
                "warnings": warnings,
                **({"augment_masks": augment_masks} if augment_masks else {}),
                "training": facts,
                **_capacity(cfg, task),
                "tags": list(cfg.get("tags") or []),
                "test_data_failures": test_data_failures,
            },
        )
        path = write_results(run_dir, record)
        print(f"fakearena train: {_headline(metrics)}; results in {path}")
        for warning in selection + set_warnings(metrics) + config_warnings:
            print(f"fakearena: warning: {warning}", file=sys.stderr)
    close_loggers(trainer)
    value = metrics.get(monitor, {}).get("value")
    return None if value is None else float(value)


def _capacity(cfg: DictConfig, task: Task) -> dict[str, Any]:
    """`parameters` of a detector run (`models.detectors.capacity`); nothing for generators."""
    if task_class(cfg).model_group != "detector":
        return {}
    from fakearena.models.detectors.capacity import capacity_record

    detector = OmegaConf.to_container(model_config(cfg), resolve=True)
    return {"parameters": capacity_record(task.net, detector)}


def training_facts(trainer: L.Trainer) -> dict[str, Any]:
    """How training ended: epochs and batches done, its time budget, and what stopped it.

    A run under a time budget (`trainer.max_time`) trains as many steps as the machine
    manages: these facts say how many it did.
    """
    from lightning.pytorch.callbacks import Timer
    from lightning.pytorch.trainer.states import RunningStage

    timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)
    facts: dict[str, Any] = {
        "epochs": int(trainer.current_epoch),
        "batches": int(trainer.fit_loop.epoch_loop.batch_progress.total.completed),
        "max_epochs": trainer.max_epochs,
        "max_time_seconds": None,
        "stopped_by": "max_epochs",
    }
    if timer is not None:
        elapsed = timer.time_elapsed(RunningStage.TRAINING)
        remaining = timer.time_remaining(RunningStage.TRAINING)
        facts["max_time_seconds"] = round(elapsed + remaining, 3)
        facts["train_seconds"] = round(elapsed, 3)
        if remaining <= 1.0:  # ValidateBeforeStop ends a budget 0.5 s early
            facts["stopped_by"] = "max_time"
    if facts["stopped_by"] == "max_epochs" and trainer.current_epoch < (trainer.max_epochs or 0):
        facts["stopped_by"] = "other (early stopping or max_steps)"
    return facts


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


def _masks_line(census: dict[str, Any]) -> str:
    """One sentence on the masks a blending augmentation draws."""
    return (
        f"augment {census['transform']} (mask={census['mask']}): landmark hull masks for "
        f"{census['hull_rows']} and random shapes for {census['random_shape_rows']} of the "
        f"{census['real_rows']} real training rows"
    )


def _headline(metrics: dict[str, dict[str, Any]]) -> str:
    """The first few metrics as `key=value` text for the end-of-run line."""
    shown = [entry_text(key, entry) for key, entry in list(metrics.items())[:4]]
    return ", ".join(shown) if shown else "no metrics"


def run_artifacts(
    run_dir: Path, checkpoints: dict[str, str | None], evaluations: dict[str, dict[str, str]]
) -> dict[str, Any]:
    """Paths a report links or shows: checkpoints, per-test-set predictions, latest pictures."""
    artifacts: dict[str, Any] = {"checkpoints": checkpoints, "run_dir": str(run_dir)}
    if evaluations:
        artifacts["predictions"] = {name: f["predictions"] for name, f in evaluations.items()}
    for key, folder in (("sample_grid", "samples"), ("swap_preview", "previews")):
        pictures = sorted((run_dir / folder).glob("*.png"))
        if pictures:
            artifacts[key] = str(pictures[-1])
    return artifacts
