"""`fakearena evaluate ckpt=PATH data=...`: score a detector checkpoint on any manifest.

Writes into the run folder predictions.csv (path, video_id, source, label, prob), metrics.json
(everything `detection_metrics` returns), roc.png and results.json; with `perturb=jpeg|blur|
resize|noise` also robustness.csv and robustness.png (AUC per severity). The same scoring
serves the `test_data=[...]` sets of `fakearena train`. `devices=N` (`num_nodes=M`) scores
with N x M processes (DDP via Lightning Fabric); the rows are de-duplicated by index, so
every metric equals the one-process value, and rank 0 writes the files.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn

from fakearena.config import compose_data_config, config_dir, to_container
from fakearena.data.datamodule import FaceDataModule
from fakearena.data.datasets import ManifestDataset
from fakearena.data.manifest import SPLITS
from fakearena.data.transforms.perturb import PerturbedDataset, check_levels, perturb_kind
from fakearena.errors import ConfigError, DataError
from fakearena.metrics.predictions import metric_entries, set_warnings
from fakearena.metrics.units import check_unit
from fakearena.report.plots import plot_robustness
from fakearena.results import build_record, metric, now_iso, write_results
from fakearena.runs.evaluate_summary import print_summary
from fakearena.runs.scoring import score_dataset, write_evaluation
from fakearena.tasks.checkpoints import resolve_checkpoint, restore_task
from fakearena.utils.io import atomic_path
from fakearena.utils.parallel import Shard, launch_shard, num_workers_value, resolve_device
from fakearena.utils.quiet import quiet_third_party

ROBUSTNESS_CSV, ROBUSTNESS_PNG = "robustness.csv", "robustness.png"


def evaluation_dataset(
    datamodule: FaceDataModule, split: str, option: str = "split"
) -> ManifestDataset:
    """The rows to score: one split, or every row with split=all.

    Args:
        datamodule: the data to score.
        split: train | val | test | all.
        option: the config key that chose `split`, named in the errors (`split` for
            `fakearena evaluate`, `test_split` for the `test_data` sets of `fakearena train`).

    Raises:
        DataError: the data has no rows in `split`; the message names the splits it has and
            `<option>=all`.
    """
    if split != "all":
        if split not in SPLITS:
            raise ConfigError(f"{option}={split!r}: choose one of {[*SPLITS, 'all']}")
        counts = datamodule.manifest.frame["split"].value_counts()
        if split not in counts:
            present = ", ".join(f"{name} {counts.get(name, 0)}" for name in SPLITS)
            raise DataError(
                f"data {datamodule.name} ({datamodule.manifest.name}) has no rows in split "
                f"{split!r} (rows per split: {present}), so there is nothing to score; score "
                f"every row with {option}=all, or name a split it has (e.g. "
                f"{option}={counts.index[0]})"
            )
        return datamodule.dataset(split)
    return datamodule.rows_dataset(datamodule.manifest)


def test_set_module(entry: str, *, seed: int, **data_options: Any) -> FaceDataModule:
    """A DataModule for one `test_data` entry: a manifest path or a `conf/data` config name."""
    names = sorted(p.stem for p in (config_dir() / "data").glob("*.yaml"))
    if entry in names:
        node = compose_data_config(entry, seed)
        if OmegaConf.is_missing(node, "manifests"):
            raise ConfigError(
                f"test_data entry {entry!r} is a data config without manifests; "
                "give the manifest path itself in test_data"
            )
        return instantiate(node, train_transform=None, **data_options)
    path = Path(entry)
    if path.suffix != ".csv" or not path.is_file():
        raise ConfigError(
            f"test_data entry {entry!r} is neither an existing manifest .csv file nor a data "
            f"config (conf/data/: {', '.join(names)})"
        )
    return FaceDataModule(name=path.stem, manifests=[str(path)], **data_options)


def scoring_options(cfg: DictConfig, device, shard) -> dict[str, Any]:
    """How `score_dataset` scores every pass of one evaluation (clean and perturbed alike)."""
    return {
        "batch_size": int(cfg.batch_size),
        "num_workers": num_workers_value(cfg.num_workers),
        "device": device,
        "n_bootstrap": int(cfg.n_bootstrap),
        "seed": int(cfg.seed),
        "shard": shard,
        "unit": str(cfg.get("ci_unit", "auto")),
    }


def robustness_table(
    net: nn.Module,
    dataset: ManifestDataset,
    cfg: DictConfig,
    device,
    clean: dict[str, Any],
    shard: Shard | None = None,
) -> pd.DataFrame:
    """AUC at severity 0 (clean) and at each level of `cfg.perturb`."""
    kind = perturb_kind(cfg.perturb)
    levels = check_levels(kind, cfg.get("perturb_levels"))
    rows = [_robustness_row(kind, 0, float("nan"), clean)]
    for severity, level in enumerate(levels, start=1):
        perturbed = PerturbedDataset(dataset, kind.name, level, seed=int(cfg.seed))
        _, result, _ = score_dataset(net, perturbed, **scoring_options(cfg, device, shard))
        rows.append(_robustness_row(kind, severity, level, result))
    return pd.DataFrame(rows)


def _robustness_row(kind, severity: int, level: float, result: dict[str, Any]) -> dict[str, Any]:
    ci = result.get("auc_ci95") or [float("nan"), float("nan")]
    return {
        "perturb": kind.name,
        "level_name": kind.level_name,
        "severity": severity,
        "level": level,
        "auc": result["auc"],
        "auc_ci_low": ci[0],
        "auc_ci_high": ci[1],
        "video_auc": result.get("video_auc", float("nan")),
        "acc": result["acc"],
        "eer": result["eer"],
        "n": result["n"],
    }


def run(cfg: DictConfig) -> float:
    """Evaluate `cfg.ckpt` on `cfg.data` (split `cfg.split`); returns the frame AUC."""
    started_at, start = now_iso(), time.perf_counter()
    quiet_third_party()
    if cfg.get("ckpt") is None or OmegaConf.is_missing(cfg, "ckpt"):
        raise ConfigError("evaluate needs ckpt=<train run folder> or ckpt=<a .ckpt file>")
    if OmegaConf.is_missing(cfg.data, "manifests"):
        raise ConfigError(
            "evaluate needs data: data=manifest data.manifests=[test.csv] or a data config"
        )
    if cfg.get("perturb"):
        perturb_kind(cfg.perturb)  # fail before the (long) clean pass
        check_levels(perturb_kind(cfg.perturb), cfg.get("perturb_levels"))
    check_unit(str(cfg.get("ci_unit", "auto")))
    shard = launch_shard(cfg)  # devices=N: N processes, each scoring part of the rows
    checkpoint = resolve_checkpoint(cfg.ckpt)
    task = restore_task(checkpoint, expected_task="detect")
    spec = task.hparams.get("data_spec") or {}
    image_size = int(cfg.get("image_size") or spec.get("image_size") or cfg.data.image_size)
    channels = int(spec.get("channels") or cfg.data.channels)
    datamodule = instantiate(
        cfg.data,
        image_size=image_size,
        channels=channels,
        batch_size=int(cfg.batch_size),
        num_workers=num_workers_value(cfg.num_workers),
        train_transform=None,
    )
    dataset = evaluation_dataset(datamodule, cfg.split)
    device = shard.device if shard.world_size > 1 else resolve_device(cfg.device)
    run_dir = Path(cfg.paths.output_dir)
    # the generic `manifest` config names nothing: use the manifest's own name
    name = datamodule.manifest.name if datamodule.name == "manifest" else datamodule.name
    frame, result, skipped = score_dataset(task, dataset, **scoring_options(cfg, device, shard))
    table = None
    if cfg.get("perturb"):
        table = robustness_table(task, dataset, cfg, device, result, shard)
    if not shard.is_main:  # every rank holds the same result; rank 0 writes it
        return float(result["auc"])
    artifacts: dict[str, Any] = write_evaluation(run_dir, frame, result, f"{name} ({cfg.split})")
    metrics = metric_entries(f"test/{name}", result)
    if table is not None:
        with atomic_path(run_dir / ROBUSTNESS_CSV) as tmp:
            table.to_csv(tmp, index=False)
        plot_robustness(table, run_dir / ROBUSTNESS_PNG, f"{name}: {cfg.perturb}")
        artifacts.update(robustness_csv=str(run_dir / ROBUSTNESS_CSV))
        artifacts.update(robustness_png=str(run_dir / ROBUSTNESS_PNG))
        for row in table.itertuples():
            if row.severity > 0:
                key = f"test/{name}/{row.perturb}={row.level:g}/auc"
                metrics[key] = metric(row.auc, n=row.n, severity=row.severity)
    config_warnings: list[str] = []
    reference = datamodule.references(cfg.split if cfg.split != "all" else None)[0]
    reference.update(scored_rows=len(frame))
    artifacts.update(checkpoint=str(checkpoint.resolve()), run_dir=str(run_dir))
    record = build_record(
        task="detect",
        metrics=metrics,
        config=to_container(cfg, config_warnings),
        seed=int(cfg.seed),
        started_at=started_at,
        wall_seconds=time.perf_counter() - start,
        detector=task.hparams.get("net_name"),
        train_data=spec.get("train_data") or [],
        test_data=[reference],
        artifacts=artifacts,
        extra={
            "skipped_rows": skipped,
            "split": cfg.split,
            "warnings": datamodule.warnings + set_warnings(metrics) + config_warnings,
        },
    )
    write_results(run_dir, record)
    print_summary(name, result, run_dir, datamodule.warnings + config_warnings)
    return float(result["auc"])
