"""Safe checkpoint loading and task restoration (evaluate, generate, detect, resume).

Every checkpoint is read with `torch.load(weights_only=True)`: a file that needs arbitrary
Python objects unpickled (and could run code) is refused. A training run stores in the
checkpoint's hyper-parameters what is needed to rebuild it: the task's `_target_` and name,
and the resolved network config (`net_config`).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch
from hydra.utils import get_class, instantiate

from fakearena.errors import CheckpointError


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint file with `weights_only=True`.

    Raises:
        CheckpointError: missing file, unsafe content (pickled code) or unreadable file.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"checkpoint {path} does not exist; pass ckpt=<run folder>/checkpoints/best.ckpt"
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"refusing to load {path}: it contains Python objects that weights-only loading "
            f"does not allow, so it could run code when unpickled ({str(exc).splitlines()[0]}). "
            "Only load checkpoints written by fakearena or from a source you trust, re-saved "
            "as plain tensors"
        ) from exc
    except (RuntimeError, EOFError, OSError) as exc:
        raise CheckpointError(f"cannot read checkpoint {path} ({exc}); is it truncated?") from exc
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{path} is not a fakearena checkpoint (no dict at the top level)")
    return checkpoint


def checkpoint_task(checkpoint: dict[str, Any], path: str | os.PathLike[str]) -> str:
    """The task name (`detect`, `gan`, `faceswap`) a checkpoint was trained for."""
    hparams = checkpoint.get("hyper_parameters") or {}
    name = hparams.get("name")
    if not name or "task_target" not in hparams or "net_config" not in hparams:
        raise CheckpointError(
            f"{path} has no fakearena task metadata (hyper_parameters.name/task_target/"
            "net_config); use a checkpoint written by `fakearena train`"
        )
    return str(name)


def restore_task(path: str | os.PathLike[str], expected_task: str | None = None):
    """Rebuild the trained LightningModule of a checkpoint, in eval mode, on CPU.

    Raises:
        CheckpointError: unsafe file, missing metadata, or a task other than `expected_task`.
    """
    checkpoint = load_checkpoint(path)
    task_name = checkpoint_task(checkpoint, path)
    if expected_task is not None and task_name != expected_task:
        raise CheckpointError(
            f"{path} is a task={task_name} checkpoint, but this command needs a "
            f"task={expected_task} checkpoint"
        )
    hparams = dict(checkpoint["hyper_parameters"])
    net_config = hparams.pop("net_config")
    task_class = get_class(hparams.pop("task_target"))
    hparams.pop("model_group", None)
    net = instantiate(net_config)
    task = task_class(net=net, optimizer=None, **hparams)
    try:
        task.load_state_dict(checkpoint["state_dict"], strict=True)
    except (KeyError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: the weights do not fit the network config ({exc})") from exc
    task.hparams["net_config"] = net_config
    task.eval()
    return task
