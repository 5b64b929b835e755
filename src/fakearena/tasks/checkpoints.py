"""Safe checkpoint loading and task restoration (evaluate, generate, detect, resume).

Every checkpoint is read with `torch.load(weights_only=True)`: a file that needs arbitrary
Python objects unpickled (and could run code) is refused. A training run stores in the
checkpoint's hyper-parameters what is needed to rebuild it: the task's `_target_` and name,
and the resolved network config (`net_config`).
"""

from __future__ import annotations

import os
import pickle
from typing import Any

import torch
from hydra.utils import get_class, instantiate

from fakearena.errors import CheckpointError
from fakearena.utils.checkpoint_paths import check_checkpoint_format, resolve_checkpoint


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint file (or a run folder's best one) with `weights_only=True`.

    Raises:
        CheckpointError: missing file, unsafe content (pickled code) or unreadable file.
    """
    path = resolve_checkpoint(path)
    check_checkpoint_format(path)
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


# Classes a checkpoint may ask to build: the network config is instantiated with Hydra, so a
# `_target_` naming any callable (e.g. `os.system`) would run code even from a weights-only file.
SAFE_TARGET_PREFIX = "fakearena."


def check_targets(node: Any, path: str | os.PathLike[str], where: str) -> None:
    """Refuse a checkpoint whose stored config names a `_target_` outside fakearena.

    Raises:
        CheckpointError: a `_target_` (at any depth) that is not a `fakearena.` class.
    """
    if isinstance(node, dict):
        target = node.get("_target_")
        if target is not None and not (
            isinstance(target, str) and target.startswith(SAFE_TARGET_PREFIX)
        ):
            raise CheckpointError(
                f"refusing to load {path}: its {where} asks to build {target!r}, which is not "
                f"a fakearena class (`{SAFE_TARGET_PREFIX}*`); building it could run code. "
                "Use a checkpoint written by `fakearena train`"
            )
        for key, value in node.items():
            check_targets(value, path, f"{where}.{key}")
    elif isinstance(node, (list, tuple)):
        for n, value in enumerate(node):
            check_targets(value, path, f"{where}[{n}]")


def restore_task(path: str | os.PathLike[str], expected_task: str | None = None):
    """Rebuild the trained LightningModule of a checkpoint, in eval mode, on CPU.

    Raises:
        CheckpointError: unsafe file, missing metadata, or a task other than `expected_task`.
    """
    path = resolve_checkpoint(path)
    checkpoint = load_checkpoint(path)
    task_name = checkpoint_task(checkpoint, path)
    if expected_task is not None and task_name != expected_task:
        raise CheckpointError(
            f"{path} is a task={task_name} checkpoint, but this command needs a "
            f"task={expected_task} checkpoint"
        )
    hparams = dict(checkpoint["hyper_parameters"])
    net_config = hparams.pop("net_config")
    check_targets(net_config, path, "hyper_parameters.net_config")
    check_targets({"_target_": hparams.get("task_target")}, path, "hyper_parameters.task_target")
    task_class = get_class(hparams.pop("task_target"))
    hparams.pop("model_group", None)
    net_name = hparams.pop("net_name", None)
    net = instantiate(net_config)
    task = task_class(net=net, optimizer=None, **hparams)
    try:
        task.load_state_dict(checkpoint["state_dict"], strict=True)
    except (KeyError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: the weights do not fit the network config ({exc})") from exc
    task.hparams["net_config"] = net_config
    task.hparams["net_name"] = net_name
    task.eval()
    return task
