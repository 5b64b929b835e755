"""Pictures and tables sent to whichever experiment loggers a run has.

Tasks save their sample grids / swap previews / ROC plots as PNG files in the run folder (the
record's artifacts) and call `log_image` so that TensorBoard and wandb show them too; the CSV
logger has no image support, the file on disk is its copy.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger

from fakearena.errors import DataError
from fakearena.utils.loggers import as_loggers


def image_array(image: str | os.PathLike[str] | np.ndarray | Any) -> np.ndarray:
    """An image as uint8 HxWx3 (or HxWx1) RGB from a file path, numpy array or torch tensor.

    Arrays may be HWC or CHW; float arrays are read as [0, 1].
    """
    if isinstance(image, (str, os.PathLike)):
        from PIL import Image

        path = Path(image)
        if not path.is_file():
            raise DataError(f"image {path} does not exist; save it before logging it")
        with Image.open(path) as opened:
            return np.asarray(opened.convert("RGB"))
    array = image.detach().cpu().numpy() if hasattr(image, "detach") else np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise DataError(f"an image must be HxW, HxWxC or CxHxW; got shape {array.shape}")
    if array.shape[0] in (1, 3) and array.shape[-1] not in (1, 3):
        array = np.transpose(array, (1, 2, 0))
    if array.dtype != np.uint8:
        array = (np.clip(array.astype(np.float64), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return array


def _step(trainer_or_loggers: Any, step: int | None) -> int | None:
    if step is not None:
        return int(step)
    return getattr(trainer_or_loggers, "global_step", None)


def log_image(
    trainer_or_loggers: Any,
    key: str,
    image: str | os.PathLike[str] | np.ndarray | Any,
    step: int | None = None,
) -> int:
    """Log one image under `key` to every logger that supports images.

    Args:
        trainer_or_loggers: a Trainer, a LightningModule, a logger, or a list of loggers.
        key: the image's name, e.g. "val/samples" or "test/roc".
        image: a PNG/JPEG path, or an array (see `image_array`).
        step: the global step (default: the trainer's current step when one is given).

    Returns:
        How many loggers took the image (0 for CSV-only runs).
    """
    loggers = as_loggers(trainer_or_loggers)
    supported = [lg for lg in loggers if isinstance(lg, (TensorBoardLogger, WandbLogger))]
    if not supported:
        return 0
    array = image_array(image)
    step = _step(trainer_or_loggers, step)
    for logger in supported:
        if isinstance(logger, TensorBoardLogger):
            logger.experiment.add_image(key, array, global_step=step or 0, dataformats="HWC")
        else:
            logger.log_image(key=key, images=[array], step=step)
    return len(supported)


def log_table(trainer_or_loggers: Any, key: str, frame: Any) -> int:
    """Log a pandas DataFrame: a wandb Table, or a markdown text table in TensorBoard."""
    count = 0
    for logger in as_loggers(trainer_or_loggers):
        if isinstance(logger, WandbLogger):
            logger.log_table(key=key, dataframe=frame)
            count += 1
        elif isinstance(logger, TensorBoardLogger):
            logger.experiment.add_text(key, markdown_table(frame))
            count += 1
    return count


def markdown_table(frame: Any) -> str:
    """A DataFrame as a markdown table (TensorBoard renders markdown text)."""
    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = [
        "| " + " | ".join("-" if v is None else str(v) for v in row) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([header, rule, *rows])
