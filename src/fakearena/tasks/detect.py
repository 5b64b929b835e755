"""Real/fake detection: a detector network injected by config, trained with BCE on logits.

The checkpoint is chosen on `val/auc`, computed on the validation split of the training data;
the test split is only read by `trainer.test` after fitting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score
from torch import nn

from fakearena.errors import DataError
from fakearena.runs.results import metric
from fakearena.tasks.predictions import PredictionBuffer


class DetectTask(L.LightningModule):
    """Binary real/fake classification of face images.

    Args:
        net: maps (B,C,H,W) images in [0,1] to (B,) logits.
        optimizer: partial optimizer factory taking the parameters (None for inference).
        warmup_epochs: linear warmup length before cosine decay (0: cosine only).
        monitor: metric key that selects the checkpoint (a validation metric).
        monitor_mode: "max" or "min".
        name: task name recorded in results.json.
    """

    def __init__(
        self,
        *,
        net: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,
        warmup_epochs: int = 0,
        monitor: str = "val/auc",
        monitor_mode: str = "max",
        name: str = "detect",
    ):
        super().__init__()
        self.save_hyperparameters(ignore=["net", "optimizer"])
        self.net = net
        self.optimizer_factory = optimizer
        self.val_predictions = PredictionBuffer()
        self.test_predictions = PredictionBuffer()
        self.test_metrics: dict[str, dict[str, Any]] = {}
        self.test_outputs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.skipped_rows: set[int] = set()

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
        self.skipped_rows.update(batch["skipped"].tolist())
        if "image" not in batch:
            return None
        logits = self._logits(batch)
        loss = F.binary_cross_entropy_with_logits(logits, batch["label"].float())
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"training loss became {loss.item()} at step {self.global_step}; lower the "
                "learning rate (task.optimizer.lr) or check the data for corrupt images"
            )
        self.log("train/loss", loss, prog_bar=True, batch_size=len(logits))
        return loss

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
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
        auc = float(roc_auc_score(labels, probs))
        acc = float(np.mean((probs >= 0.5) == labels))
        self.test_metrics = {
            "test/auc": metric(auc, n=len(labels)),
            "test/acc": metric(acc, n=len(labels)),
        }
        for key, entry in self.test_metrics.items():
            self.log(key, entry["value"], sync_dist=False)

    def configure_optimizers(self):
        if self.optimizer_factory is None:
            raise RuntimeError("this DetectTask was built for inference (optimizer=None)")
        optimizer = self.optimizer_factory(params=self.parameters())
        max_epochs = max(int(self.trainer.max_epochs or 1), 1)
        warmup = int(self.hparams.warmup_epochs)

        def schedule(epoch: int) -> float:
            if warmup > 0 and epoch < warmup:
                return (epoch + 1) / (warmup + 1)
            progress = (epoch - warmup) / max(max_epochs - warmup, 1)
            return 0.5 * (1.0 + float(np.cos(np.pi * min(progress, 1.0))))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"},
        }
