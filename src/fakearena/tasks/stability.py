"""One check, shared by every task, that stops a run whose loss stopped being a number."""

from __future__ import annotations

import lightning as L
import torch

from fakearena.errors import TrainingDivergedError


def ensure_finite_loss(module: L.LightningModule, loss: torch.Tensor, name: str, advice: str):
    """Raise `TrainingDivergedError` (before the step is applied) when `loss` is NaN or inf.

    Args:
        module: the task, for its step and epoch.
        loss: the scalar loss about to be back-propagated.
        name: which loss ("training", "discriminator", "generator").
        advice: what the user can change, appended to the message.
    """
    if not torch.isfinite(loss):
        raise TrainingDivergedError(
            f"the {name} loss became {loss.item()} at step {module.global_step} (epoch "
            f"{module.current_epoch}); the run is stopped before this step is applied. {advice}"
        )
