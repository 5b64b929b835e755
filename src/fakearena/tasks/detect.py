"""Real/fake detection: a detector network injected by config, trained with BCE on logits.

A network with auxiliary targets (`fakearena.models.detectors.auxiliary.AuxiliaryDetector`,
e.g. Face X-ray's blend boundary) gets its targets in the training batches and its losses added
to the BCE. The checkpoint is chosen on `val/auc`, computed on the validation split of the
training data; the test split is only read by `trainer.test` after fitting. Fakes that a
training augmentation added to the test split itself (SBI's `held_out_fakes`, source
`sbi/self-blend`) measure the augmentation, not a forgery: they are scored with the split's
reals as `sanity/sbi_*` and never enter `test/*`, which the split's own rows give when they
hold both classes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from fakearena.data.transforms.sbi import SOURCE_SBI
from fakearena.errors import DataError
from fakearena.metrics.detection import auc_score, require_both_classes
from fakearena.metrics.predictions import metric_entries, predictions_frame, score_predictions
from fakearena.metrics.units import check_unit, selection_warning
from fakearena.models.detectors.auxiliary import AuxiliaryDetector
from fakearena.tasks.base import Task
from fakearena.tasks.buffers import RowBuffer
from fakearena.tasks.stability import ensure_finite_loss

# Network config keys that fetch initial weights: a checkpoint's weights supersede them.
INIT_WEIGHT_KEYS = {"pretrained": False, "pretrained_file": None, "pretrained_sha256": None}


def prediction_buffer() -> RowBuffer:
    """Fake probability and label of every scored row, keyed by row."""
    return RowBuffer(("prob", "label"))


class DetectTask(Task):
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
        ci_unit: what the CIs resample: auto (video, else identity, else image), video,
            identity or image (`fakearena.metrics.units`).
    """

    model_group = "detector"
    accepts_test_data = True

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
        ci_unit: str = "auto",
    ):
        super().__init__()
        check_unit(ci_unit, "task.ci_unit")  # before training, not after it
        self.save_hyperparameters(ignore=["net", "optimizer"])
        self.net = net
        self.optimizer_factory = optimizer
        self.val_buffer = prediction_buffer()
        self.test_buffer = prediction_buffer()

    @classmethod
    def check_data(cls, datamodule: Any, *, test: bool) -> None:
        """Train and val (and test) rows exist, val/test hold both classes, and so does train
        unless the training transform makes fakes from its reals (SBI, Face X-ray's blends)."""
        for split in ("train", "val", "test") if test else ("train", "val"):
            labels = datamodule.dataset(split).labels  # an empty split raises here
            if split == "train":
                _require_trainable_labels(labels, datamodule)
            if split != "train":
                fix = f"the {split} split" + (" (or train with test=false)" if test else "")
                require_both_classes(labels, f"the {split} rows of data {datamodule.name}", fix)

    def on_fit_start(self) -> None:
        datamodule = self.trainer.datamodule
        if datamodule is not None:
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

    def training_targets(self) -> tuple[str, ...]:
        """The network's auxiliary targets (none for a plain one-logit detector)."""
        if isinstance(self.net, AuxiliaryDetector):
            return tuple(self.net.training_targets)
        return ()

    def _logits(self, batch: dict[str, Any]) -> torch.Tensor:
        return _checked(self(batch["image"]), batch)

    def training_step(self, batch: dict[str, Any], batch_idx: int):
        if not self.note_skipped("train", batch):
            return None
        extra: dict[str, torch.Tensor] = {}
        if isinstance(self.net, AuxiliaryDetector):
            logits, outputs = self.net.forward_train(batch["image"])
            logits = _checked(logits, batch)
            extra = self.net.training_losses(outputs, batch)
        else:
            logits = self._logits(batch)
        loss = F.binary_cross_entropy_with_logits(logits, batch["label"].float())
        for name, value in extra.items():
            self.log(f"train/{name}", value, batch_size=len(logits))
            loss = loss + value
        ensure_finite_loss(
            self,
            loss,
            "training",
            "Lower the learning rate (task.optimizer.lr) or check the data for corrupt images",
        )
        self.log("train/loss", loss, prog_bar=True, batch_size=len(logits))
        return loss

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        if self.note_skipped("val", batch):
            self._score(batch, self.val_buffer)

    def _score(self, batch: dict[str, Any], buffer: RowBuffer) -> None:
        buffer.add(batch["index"], prob=torch.sigmoid(self._logits(batch)), label=batch["label"])

    def on_validation_epoch_end(self) -> None:
        _, values = self.val_buffer.gather()
        self.val_buffer.reset()
        probs, labels = values["prob"], values["label"].astype(np.int64)
        require_both_classes(
            labels,
            "the validation rows seen this epoch",
            "the val split (with limit_val_batches, make sure the first batches hold both)",
        )
        self.log("val/auc", auc_score(probs, labels), prog_bar=True, sync_dist=False)
        self.log("val/acc", float(np.mean((probs >= 0.5) == labels)), sync_dist=False)

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        if self.note_skipped("test", batch):
            self._score(batch, self.test_buffer)

    def on_test_epoch_end(self) -> None:
        indices, values = self.test_buffer.gather()
        self.test_buffer.reset()
        labels = values["label"].astype(np.int64)
        require_both_classes(labels, f"the {len(labels)} test rows", "the test split")
        predictions = predictions_frame(
            self._test_rows(indices, labels), np.arange(len(indices)), values["prob"]
        )
        n_bootstrap = int(self.hparams.get("n_bootstrap", 1000))
        unit = str(self.hparams.get("ci_unit", "auto"))
        augmented = (predictions["source"] == SOURCE_SBI).to_numpy()
        self.test_metrics = {}
        if augmented.any():
            sanity = predictions[(predictions["label"] == 0).to_numpy() | augmented]
            result = score_predictions(sanity.reset_index(drop=True), n_bootstrap, unit=unit)
            entries = metric_entries("sanity", result)
            self.test_metrics.update(
                {key.replace("sanity/", "sanity/sbi_", 1): v for key, v in entries.items()}
            )
            predictions = predictions[~augmented].reset_index(drop=True)
        self.test_predictions, self.test_result = None, {}
        if predictions["label"].nunique() == 2:
            self.test_predictions = predictions
            self.test_result = score_predictions(predictions, n_bootstrap, unit=unit)
            self.test_metrics.update(metric_entries("test", self.test_result))
        for key in ("test/auc", "test/acc", "test/ap", "test/eer", "test/video_auc"):
            if key in self.test_metrics:
                self.log(key, self.test_metrics[key]["value"], sync_dist=False)
        if "sanity/sbi_auc" in self.test_metrics:
            self.log("sanity/sbi_auc", self.test_metrics["sanity/sbi_auc"]["value"])

    def selection_warnings(self, datamodule: Any) -> list[str]:
        """A warning when the checkpoint is chosen on a val split below the small-N mark."""
        monitor = str(self.hparams.get("monitor", "val/auc"))
        if datamodule is None or not monitor.startswith("val/"):
            return []
        frame = datamodule.dataset("val").manifest.frame
        warning = selection_warning(
            frame["label"].to_numpy(),
            frame["video_id"].astype(str).to_numpy(),
            frame["identity"].fillna("").astype(str).to_numpy() if "identity" in frame else None,
            monitor,
            str(self.hparams.get("ci_unit", "auto")),
        )
        return [warning] if warning else []

    def _test_rows(self, indices: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
        """Manifest rows of the scored test samples (label-only rows without a datamodule)."""
        datamodule = self.trainer.datamodule
        if datamodule is not None:
            frame = datamodule.dataset("test").manifest.frame
            return frame.iloc[indices].reset_index(drop=True)
        return pd.DataFrame(
            {
                "path": [str(i) for i in indices],
                "label": labels,
                "video_id": [str(i) for i in indices],
                "identity": "",
                "source": "unknown",
            }
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


def _checked(logits: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
    """`logits` if they are one per image, else an error naming the contract."""
    if logits.ndim != 1 or logits.shape[0] != batch["image"].shape[0]:
        raise RuntimeError(
            f"detector returned shape {tuple(logits.shape)}; a detector must map "
            f"(B,C,H,W) to (B,) logits"
        )
    return logits


def warmup_cosine(step: int, warmup_steps: int, total_steps: int) -> float:
    """Learning-rate factor: linear warmup to 1 over `warmup_steps`, then cosine decay that
    would reach 0 at `total_steps` (every optimiser step gets a positive rate)."""
    if step < warmup_steps:
        return (step + 1) / (warmup_steps + 1)
    progress = (step - warmup_steps) / max(total_steps - warmup_steps, 1)
    return 0.5 * (1.0 + float(np.cos(np.pi * min(progress, 1.0))))


def _require_trainable_labels(labels: Any, datamodule: Any) -> None:
    """A detector needs both classes to learn from: in its train rows, or fakes that the
    training transform makes from the real ones (`SampleTransform.makes_fakes`)."""
    present = set(np.unique(np.asarray(labels)).tolist())
    transform = getattr(datamodule, "train_transform", None)
    if len(present) != 1 or (present == {0} and getattr(transform, "makes_fakes", False)):
        return
    only = "real (0)" if present == {0} else "fake (1)"
    kept = getattr(datamodule, "train_labels", None)
    hint = f" (data.train_labels={list(kept)} keeps only those)" if kept is not None else ""
    make = (
        ", or make fakes from the reals with augment=sbi or augment=xray and "
        "data.train_transform.p > 0"
        if present == {0}
        else ""
    )
    raise DataError(
        f"the train rows of data {datamodule.name} are all {only}{hint}: a detector learns "
        f"nothing from one class; add the other class to the train split{make}"
    )

