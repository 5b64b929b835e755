"""`fakearena generate`: a generator checkpoint -> a fake set (images + manifest).

One command for every generator: it dispatches on the checkpoint's task through
`fakearena.generation.GENERATORS` (see that package for the function each task provides).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import lightning as L
from omegaconf import DictConfig

from fakearena.errors import CheckpointError, ConfigError
from fakearena.generation import GENERATORS
from fakearena.generation.fakeset import CheckpointInfo
from fakearena.tasks.checkpoints import (
    checkpoint_task,
    load_checkpoint,
    resolve_checkpoint,
    restore_task,
)
from fakearena.utils.io import sha256_file
from fakearena.utils.parallel import launch_shard
from fakearena.utils.quiet import quiet_third_party


def generator_function(task_name: str, path: Path):
    """The `generate_fake_set` function of a task, or a CheckpointError naming the options."""
    if task_name not in GENERATORS:
        raise CheckpointError(
            f"{path} is a task={task_name} checkpoint; `fakearena generate` needs a generator "
            f"checkpoint (task={' or task='.join(sorted(GENERATORS))})"
        )
    module_name, function_name = GENERATORS[task_name].split(":")
    return getattr(importlib.import_module(module_name), function_name)


def run(cfg: DictConfig) -> str:
    """Generate the fake set; returns the manifest path."""
    quiet_third_party()
    if not cfg.get("ckpt"):
        raise ConfigError(
            "`fakearena generate` needs ckpt=PATH (a generator's train run folder or .ckpt)"
        )
    if not cfg.get("out"):
        raise ConfigError("`fakearena generate` needs out=DIR (where images and manifest go)")
    path = resolve_checkpoint(cfg.ckpt)
    task_name = checkpoint_task(load_checkpoint(path), path)
    generate_fake_set = generator_function(task_name, path)
    shard = launch_shard(cfg)  # devices=N: N processes, each making its share of the images
    L.seed_everything(int(cfg.seed), verbose=False)
    task = restore_task(path, expected_task=task_name)
    checkpoint = CheckpointInfo(path=path.resolve(), sha256=sha256_file(path), task=task_name)
    manifest_path = generate_fake_set(task, cfg, checkpoint, Path(cfg.out), shard=shard)
    if shard.is_main:
        print(f"fake set written: {manifest_path}")
    return str(manifest_path)
