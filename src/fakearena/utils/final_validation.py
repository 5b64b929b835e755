"""A run always ends on a validated model: after the last epoch and when its time budget ends.

Lightning validates every `check_val_every_n_epoch` epochs. A run that stops elsewhere (its
`trainer.max_time` budget runs out mid-epoch, or `max_epochs` is not a multiple of the
interval) would end with weights that were never validated: no `best.ckpt` for them, and for
a GAN no FID of the model it ends with. This callback makes the stopping batch a validation
point instead. It stops a budgeted run itself `lead_seconds` before Lightning's own timer
would, so the two never disagree about which batch is the last.
"""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Timer


class ValidateBeforeStop(L.Callback):
    """Validate (and so checkpoint) on the batch a run stops at.

    Args:
        lead_seconds: stop a `trainer.max_time` run this much before its budget ends.
    """

    def __init__(self, lead_seconds: float = 0.5):
        self.lead_seconds = float(lead_seconds)

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, idx: int
    ) -> None:
        if trainer.sanity_checking or not trainer.enable_validation:
            return
        out_of_time = self._out_of_time(trainer) or self._out_of_steps(trainer)
        if out_of_time:
            trainer.should_stop = True
        interval = trainer.check_val_every_n_epoch
        if interval is None:  # validation by batches: a stopping batch validates already
            return
        if out_of_time or trainer.should_stop or self._last_batch_of_run(trainer):
            # With should_stop set (or on an epoch's last batch) Lightning validates this
            # batch once the epoch's validation interval allows it: make it allow it.
            trainer.check_val_every_n_epoch = 1

    def _out_of_time(self, trainer: L.Trainer) -> bool:
        for callback in trainer.callbacks:
            if isinstance(callback, Timer):
                remaining = callback.time_remaining()
                return remaining is not None and remaining <= self.lead_seconds
        return False

    @staticmethod
    def _out_of_steps(trainer: L.Trainer) -> bool:
        """`trainer.max_steps` reached on this batch (Lightning would stop unvalidated)."""
        limit = trainer.max_steps
        return limit is not None and limit >= 0 and trainer.global_step >= limit

    @staticmethod
    def _last_batch_of_run(trainer: L.Trainer) -> bool:
        last_epoch = trainer.max_epochs is not None and trainer.max_epochs >= 0
        last_epoch = last_epoch and trainer.current_epoch >= trainer.max_epochs - 1
        return last_epoch and trainer.fit_loop.epoch_loop.batch_progress.is_last_batch
