"""Real/fake detection: a detector network injected by config, trained with BCE on logits.

The checkpoint is chosen on `val/auc`, computed on the validation split of the training data;
the test split is only read by `trainer.test` after fitting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score
from torch import nn

from fakearena.errors import DataError
from fakearena.metrics.detection import DetectionInputError, detection_metrics
from fakearena.runs.results import metric
from fakearena.tasks.predictions import PredictionBuffer
from fakearena.tasks.stability import ensure_finite_loss

# detection_metrics keys recorded per set, with the count that goes with each.
FRAME_KEYS = ("auc", "ap", "eer", "acc", "tpr_at_fpr_1e-2", "tpr_at_fpr_1e-3")
VIDEO_KEYS = ("video_auc", "video_ap", "video_eer", "video_acc")
# Network config keys that fetch initial weights: a checkpoint's weights supersede them.
INIT_WEIGHT_KEYS = {"pretrained": False, "pretrained_file": None, "pretrained_sha256": None}


def metric_entries(prefix: str, result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`detection_metrics` output as result-record entries `<prefix>/<name>`.

    Frame metrics carry N (and the AUC its bootstrap CI), video metrics the number of videos,
    per-source AUCs (`<prefix>/source=<source>/auc`) the number of fakes of that source.
    """
    entries = {}
    for key in FRAME_KEYS:
        ci = result.get("auc_ci95") if key == "auc" else None
        entries[f"{prefix}/{key}"] = metric(
            result[key], n=result["n"], ci95=ci, n_pos=result["n_pos"], n_neg=result["n_neg"]
        )
    for key in VIDEO_KEYS:
        if key in result:
            entries[f"{prefix}/{key}"] = metric(result[key], n=result["n_videos"])
    for source, values in (result.get("per_source") or {}).items():
        entries[f"{prefix}/source={source}/auc"] = metric(
            values["auc"], n=values["n_pos"] + values["n_neg"], n_pos=values["n_pos"]
        )
    return entries


def score_rows(
    rows: pd.DataFrame, probs: np.ndarray, n_bootstrap: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Every detection metric of `probs` for manifest `rows` (frame, video, per source).

    Raises:
        DataError: a set with one class only, or a video whose rows disagree on the label.
    """
    try:
        return detection_metrics(
            probs,
            rows["label"].to_numpy(),
            video_ids=rows["video_id"].astype(str).to_numpy(),
            sources=rows["source"].astype(str).to_numpy(),
            n_bootstrap=n_bootstrap,
            seed=seed,
        )
    except DetectionInputError as exc:
        raise DataError(str(exc)) from exc


class DetectTask(L.LightningModule):
    """Binary real/fake classification of face images.

    Args:
        net: maps (B,C,H,W) images in [0,1] to (B,) logits.
        optimizer: partial optimizer factory taking the parameters (None for inference).
        warmup_epochs: linear warmup length in epochs (fractions allowed) before a per-step
            cosine decay (0: cosine only).
        monitor: metric key that selects the checkpoint (a validation metric).
        monitor_mode: "max" or "min".
        name: task name recorded in results.json.
        data_spec: image size, channels and training data of the fit, stored in checkpoints so
            evaluation feeds the network what it was trained on (set during `fit`).
        n_bootstrap: bootstrap replicates for the test AUC's 95% CI (0: none).
    """

    def __init__(
        self,
        *,
        net: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,
        warmup_epochs: float = 0,
        monitor: str = "val/auc",
        monitor_mode: str = "max",
        name: str = "detect",
        data_spec: dict[str, Any] | None = None,
        n_bootstrap: int = 1000,
    ):
        super().__init__()
        self.save_hyperparameters(ignore=["net", "optimizer"])
        self.net = net
        self.optimizer_factory = optimizer
        self.val_predictions = PredictionBuffer()
        self.test_predictions = PredictionBuffer()
        self.test_metrics: dict[str, dict[str, Any]] = {}
        self.test_outputs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.test_result: dict[str, Any] = {}
        # (split, row index in that split's manifest) of rows skipped under on_bad_sample=skip
        self.skipped_rows: set[tuple[str, int]] = set()

    def on_fit_start(self) -> None:
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is not None and hasattr(datamodule, "image_size"):
            self.hparams["data_spec"] = {
                "name": datamodule.name,
                "image_size": int(datamodule.image_size),
                "channels": int(datamodule.channels),
                "train_data": datamodule.references(),
            }

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # The checkpoint holds the trained weights: rebuilding the network from it must not
        # download or read the initial weights again (they may be unavailable elsewhere).
        hparams = checkpoint.get("hyper_parameters")
        net_config = hparams.get("net_config") if hparams else None
        if isinstance(net_config, dict):
            hparams["net_config"] = {k: INIT_WEIGHT_KEYS.get(k, v) for k, v in net_config.items()}

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)

    def _logits(self, batch: dict[str, Any]) -> torch.Tensor:
        logits = self(batch["image"])
        if logits.ndim != 1 or logits.shape[0] != batch["image"].shape[0]:
            raise RuntimeError(
                f"detector returned shape {tuple(logits.shape)}; a detector must map "
                f"(B,C,H,W) to (B,) logits"
            )
        return logits

    def training_step(self, batch: dict[str, Any], batch_idx: int):
        self.skipped_rows.update(("train", i) for i in batch["skipped"].tolist())
        if "image" not in batch:
            return None
        logits = self._logits(batch)
        loss = F.binary_cross_entropy_with_logits(logits, batch["label"].float())
        ensure_finite_loss(
            self,
            loss,
            "training",
            "Lower the learning rate (task.optimizer.lr) or check the data for corrupt images",
        )
        self.log("train/loss", loss, prog_bar=True, batch_size=len(logits))
        return loss

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self.skipped_rows.update(("val", i) for i in batch["skipped"].tolist())
        if "image" in batch:
            logits = self._logits(batch)
            self.val_predictions.add(batch["index"], torch.sigmoid(logits), batch["label"])

    def on_validation_epoch_end(self) -> None:
        _, probs, labels = self.val_predictions.gather()
        self.val_predictions.reset()
        if len(np.unique(labels)) < 2:
            raise DataError(
                "the validation rows seen this epoch are all of one class, so val/auc is "
                "undefined; the val split needs real and fake rows (with limit_val_batches, "
                "make sure the first batches hold both)"
            )
        self.log("val/auc", float(roc_auc_score(labels, probs)), prog_bar=True, sync_dist=False)
        self.log("val/acc", float(np.mean((probs >= 0.5) == labels)), sync_dist=False)

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self.skipped_rows.update(("test", i) for i in batch["skipped"].tolist())
        if "image" in batch:
            logits = self._logits(batch)
            self.test_predictions.add(batch["index"], torch.sigmoid(logits), batch["label"])

    def on_test_epoch_end(self) -> None:
        indices, probs, labels = self.test_predictions.gather()
        self.test_predictions.reset()
        self.test_outputs = (indices, probs, labels)
        if len(np.unique(labels)) < 2:
            raise DataError(
                f"the test set has only label {labels[:1].tolist()} ({len(labels)} rows); "
                "AUC needs real and fake rows: add the missing class to the test split"
            )
        rows = self._test_rows(indices, labels)
        n_bootstrap = int(self.hparams.get("n_bootstrap", 1000))
        self.test_result = score_rows(rows, probs, n_bootstrap=n_bootstrap)
        self.test_metrics = metric_entries("test", self.test_result)
        for key in ("test/auc", "test/acc", "test/ap", "test/eer", "test/video_auc"):
            if key in self.test_metrics:
                self.log(key, self.test_metrics[key]["value"], sync_dist=False)

    def _test_rows(self, indices: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
        """Manifest rows of the scored test samples (label-only rows without a datamodule)."""
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is not None and hasattr(datamodule, "dataset"):
            frame = datamodule.dataset("test").manifest.frame
            return frame.iloc[indices].reset_index(drop=True)
        return pd.DataFrame(
            {"label": labels, "video_id": [str(i) for i in indices], "source": "unknown"}
        )

    def configure_optimizers(self):
        if self.optimizer_factory is None:
            raise RuntimeError("this DetectTask was built for inference (optimizer=None)")
        optimizer = self.optimizer_factory(params=self.parameters())
        total = max(int(self.trainer.estimated_stepping_batches), 1)
        max_epochs = max(int(self.trainer.max_epochs or 1), 1)
        warmup = round(float(self.hparams.warmup_epochs) * total / max_epochs)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: warmup_cosine(step, warmup, total)
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


def warmup_cosine(step: int, warmup_steps: int, total_steps: int) -> float:
    """Learning-rate factor: linear warmup to 1 over `warmup_steps`, then cosine decay that
    would reach 0 at `total_steps` (every optimiser step gets a positive rate)."""
    if step < warmup_steps:
        return (step + 1) / (warmup_steps + 1)
    progress = (step - warmup_steps) / max(total_steps - warmup_steps, 1)
    return 0.5 * (1.0 + float(np.cos(np.pi * min(progress, 1.0))))
