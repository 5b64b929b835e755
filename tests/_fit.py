"""Quiet CPU training of a LightningModule, for tests that check what training does."""

from __future__ import annotations

import lightning as L
from torch.utils.data import DataLoader


def quiet_trainer(root_dir=None, max_epochs: int = 1) -> L.Trainer:
    """A CPU trainer without validation, logger, checkpoints, bars or model summary."""
    return L.Trainer(
        accelerator="cpu",
        max_epochs=max_epochs,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=root_dir,
    )


def fit_one_epoch(task: L.LightningModule, loader: DataLoader, root_dir=None) -> None:
    """Train `task` for one epoch on `loader` with a `quiet_trainer`."""
    quiet_trainer(root_dir).fit(task, train_dataloaders=loader)
