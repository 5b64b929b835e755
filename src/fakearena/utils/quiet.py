"""Silence third-party chatter that says nothing about the user's run."""

from __future__ import annotations

import logging
import warnings

_NOISE = ("litlogger", "LitLogger", "was configured so 100% of the batches")


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(token in message for token in _NOISE)


def quiet_third_party() -> None:
    """Drop Lightning's advertising tip and deprecation noise from libraries (not our warnings)."""
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.pytorch", "lightning"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropNoise) for f in logger.filters):
            logger.addFilter(_DropNoise())
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=r".*is smaller than the logging interval.*")
    # the tasks own the batch hooks (uint8 -> float on the device); the DataModule has none
    warnings.filterwarnings("ignore", message=r".*overridden `on_after_batch_transfer`.*")
    # our epoch-level metrics are computed on predictions gathered from every rank already
    warnings.filterwarnings("ignore", message=r".*when logging on epoch level in distributed.*")
