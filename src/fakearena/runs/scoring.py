"""Scoring a detector on a dataset: probabilities per row, predictions.csv, metrics.json, ROC.

One path for every detector score: the test stage of `fakearena train` (its own test split,
scored in the Lightning test loop), `fakearena evaluate`, the `test_data=[...]` sets of
`fakearena train` and the robustness sweep all end in a predictions table
(`fakearena.metrics.predictions`) that is scored and written by `write_evaluation`. Every row
is scored exactly once, in manifest order; with a `Shard` of several processes
(`fakearena evaluate devices=N`) the rows are split by a distributed sampler, whose padding
repeats rows, and the predictions are gathered and de-duplicated by row index, so the result
equals a one-process run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from fakearena.data.datasets import collate_samples, float_images
from fakearena.errors import DataError
from fakearena.metrics.predictions import predictions_frame, score_predictions
from fakearena.report.plots import plot_roc, roc_note
from fakearena.tasks.detect import prediction_buffer
from fakearena.utils.io import atomic_path, atomic_write_json
from fakearena.utils.parallel import Shard

PREDICTIONS_FILE, METRICS_FILE, ROC_FILE = "predictions.csv", "metrics.json", "roc.png"


@torch.inference_mode()
def predict_probs(
    net: nn.Module,
    dataset: Dataset,
    *,
    batch_size: int = 64,
    num_workers: int = 0,
    device: torch.device | str = "cpu",
    shard: Shard | None = None,
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Fake probability of every row: (row indices, probs, skipped row indices), by index.

    With a multi-process `shard`, each process scores its part on its own device and every
    process returns the full, de-duplicated result.
    """
    distributed = shard is not None and shard.world_size > 1
    device = shard.device if distributed else torch.device(device)
    net = net.to(device).eval()
    loader = DataLoader(
        dataset,
        batch_size=int(batch_size),
        shuffle=False,
        num_workers=int(num_workers),
        collate_fn=collate_samples,
        pin_memory=device.type == "cuda",
    )
    if distributed:  # a DistributedSampler (padded shards), batches left on the CPU
        loader = shard.fabric.setup_dataloaders(loader, move_to_device=False)
    buffer, skipped = prediction_buffer(), []
    for batch in loader:
        skipped += batch["skipped"].tolist()
        if "image" not in batch:
            continue
        logits = net(float_images(batch["image"].to(device, non_blocking=True)))
        if logits.ndim != 1 or logits.shape[0] != batch["image"].shape[0]:
            raise RuntimeError(
                f"detector returned shape {tuple(logits.shape)}; a detector must map "
                "(B,C,H,W) to (B,) logits"
            )
        buffer.add(batch["index"], prob=torch.sigmoid(logits.float()), label=batch["label"])
    index, values = buffer.gather()  # across processes, one prediction per row index
    if distributed:
        skipped = [i for part in shard.gather_objects(skipped) for i in part]
    if not len(index):
        raise DataError("no row of the evaluation set could be read; nothing to score")
    return index, values["prob"], sorted(set(skipped))


def write_evaluation(
    out_dir: str | os.PathLike[str], frame: pd.DataFrame, result: dict[str, Any], title: str
) -> dict[str, str]:
    """Write predictions.csv, metrics.json and roc.png into `out_dir`; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / PREDICTIONS_FILE) as tmp:
        frame.to_csv(tmp, index=False)  # floats are written with round-trip precision
    atomic_write_json(out_dir / METRICS_FILE, result)
    curve = {"detector": (frame["prob"].to_numpy(), frame["label"].to_numpy())}
    plot_roc(curve, out_dir / ROC_FILE, title, {"detector": roc_note(result)})
    return {
        "predictions": str(out_dir / PREDICTIONS_FILE),
        "metrics": str(out_dir / METRICS_FILE),
        "roc": str(out_dir / ROC_FILE),
    }


def score_dataset(
    net: nn.Module,
    dataset: Dataset,
    *,
    batch_size: int,
    num_workers: int,
    device: torch.device | str,
    n_bootstrap: int = 1000,
    seed: int = 0,
    shard: Shard | None = None,
    unit: str = "auto",
) -> tuple[pd.DataFrame, dict[str, Any], list[int]]:
    """Predictions table, metrics and skipped rows of `net` on a ManifestDataset-like set;
    CIs resample `unit` (`fakearena.metrics.units`)."""
    indices, probs, skipped = predict_probs(
        net, dataset, batch_size=batch_size, num_workers=num_workers, device=device, shard=shard
    )
    frame = predictions_frame(dataset.manifest.frame, indices, probs)  # type: ignore[attr-defined]
    return frame, score_predictions(frame, n_bootstrap, seed, unit), skipped
