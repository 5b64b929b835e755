"""Experiment loggers: wandb that runs offline without an account, config logging, closing.

`conf/logger/wandb.yaml` builds its logger with `wandb_logger`; `fakearena train` calls
`log_run_config` once the trainer exists and `close_loggers` when the run ends, so a process
that runs several jobs (the arena, a sweep in-process) gets one wandb run per job.
"""

from __future__ import annotations

import netrc
import os
from collections.abc import Iterable
from typing import Any

from lightning.pytorch.loggers import Logger, WandbLogger

OFFLINE_MODES = ("offline", "dryrun", "disabled")


def wandb_has_credentials() -> bool:
    """Whether wandb could log in: WANDB_API_KEY set, or an api.wandb.ai entry in ~/.netrc."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (OSError, netrc.NetrcParseError):
        return False


def wandb_offline(offline: bool | None = None) -> bool:
    """Offline unless asked otherwise: `offline`, then WANDB_MODE, then whether a key exists."""
    if offline is not None:
        return bool(offline)
    mode = os.environ.get("WANDB_MODE", "").strip().lower()
    if mode:
        return mode in OFFLINE_MODES
    return not wandb_has_credentials()


def wandb_logger(*, offline: bool | None = None, **kwargs: Any) -> WandbLogger:
    """A Lightning WandbLogger, offline when no API key is configured (see `wandb_offline`).

    The offline run folder is `<save_dir>/wandb/offline-run-*`; `wandb sync` uploads it later.
    `tags` (conf/train.yaml's, through conf/logger/wandb.yaml) become the wandb run's tags.
    """
    if kwargs.get("tags") is not None:  # the run's `tags` (a ListConfig from the config)
        kwargs["tags"] = [str(tag) for tag in kwargs["tags"]]
    logger = WandbLogger(offline=wandb_offline(offline), **kwargs)
    # Lightning always passes `anonymous`, which recent wandb warns about when unset.
    if logger._wandb_init.get("anonymous") is None:
        logger._wandb_init.pop("anonymous", None)
    return logger


def as_loggers(trainer_or_loggers: Any) -> list[Logger]:
    """The loggers of a Trainer or LightningModule, or a logger / list of loggers as given."""
    if trainer_or_loggers is None or trainer_or_loggers is False:
        return []
    if isinstance(trainer_or_loggers, Logger):
        return [trainer_or_loggers]
    if hasattr(trainer_or_loggers, "loggers"):
        return list(trainer_or_loggers.loggers or [])
    if isinstance(trainer_or_loggers, Iterable):
        return [lg for lg in trainer_or_loggers if isinstance(lg, Logger)]
    raise TypeError(
        f"expected a Trainer, LightningModule, Logger or list of loggers, got "
        f"{type(trainer_or_loggers).__name__}"
    )


def log_run_config(trainer_or_loggers: Any, config: dict[str, Any]) -> None:
    """Record the resolved run config with every logger (wandb config, hparams.yaml, ...)."""
    for logger in as_loggers(trainer_or_loggers):
        logger.log_hyperparams(config)


def close_loggers(trainer_or_loggers: Any) -> None:
    """Flush every logger and end wandb runs, so the next job in this process gets its own."""
    for logger in as_loggers(trainer_or_loggers):
        logger.save()
        if isinstance(logger, WandbLogger) and logger._experiment is not None:
            logger.experiment.finish()
            logger._experiment = None
