"""One quiet CPU epoch of a LightningModule, for tests that check what training does."""

from __future__ import annotations

import lightning as L
from torch.utils.data import DataLoader


def fit_one_epoch(task: L.LightningModule, loader: DataLoader, root_dir=None) -> None:
    """Train `task` for one epoch on `loader` (no validation, logger, checkpoints or bars)."""
    trainer = L.Trainer(
        accelerator="cpu",
        max_epochs=1,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=root_dir,
    )
    trainer.fit(task, train_dataloaders=loader)
