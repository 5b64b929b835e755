"""Silence third-party chatter that says nothing about the user's run."""

from __future__ import annotations

import logging
import warnings

_NOISE = ("litlogger", "LitLogger", "was configured so 100% of the batches")


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(token in message for token in _NOISE)


# Loggers that install their own console handler when imported before logging is configured.
_OWN_CONSOLE = ("lightning", "lightning.pytorch", "lightning.fabric")


def one_copy_of_each_log_line() -> None:
    """Let Lightning's records reach the console once, through the root logger's handlers.

    Lightning adds a console handler of its own when it is imported before the root logger has
    one (it is: run functions import it before Hydra configures logging), so every line came
    twice (`INFO: ...` on stderr, Hydra's format on stdout). Where the root logger has
    handlers (Hydra's console and the run's log file), those own handlers are removed and the
    records propagate to the root; without root handlers nothing changes.
    """
    if not logging.getLogger().handlers:
        return
    for name in _OWN_CONSOLE:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if type(handler) is logging.StreamHandler:  # not file handlers
                logger.removeHandler(handler)
        logger.propagate = True


def quiet_third_party() -> None:
    """Drop Lightning's advertising tip and deprecation noise from libraries (not our warnings),
    and print each of its log lines once (`one_copy_of_each_log_line`)."""
    one_copy_of_each_log_line()
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
