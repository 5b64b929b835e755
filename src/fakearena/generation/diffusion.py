"""Diffusion fake sets: image i is the sampler's image from `seeded_noise(seed, [i], work
shape)` (`fakearena.generation.sampled`), with the EMA weights and the run's sampler, unless
`generate` names `sampler=`/`sample_steps=` of its own (recorded in the card)."""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig

from fakearena.generation.fakeset import CheckpointInfo
from fakearena.generation.sampled import seeded_noise, write_sampled_set
from fakearena.models.generators.diffusion_process import check_sampler
from fakearena.utils.parallel import Shard


def generate_fake_set(
    task, cfg: DictConfig, checkpoint: CheckpointInfo, out_dir: Path, shard: Shard | None = None
) -> Path:
    """Write `cfg.n` diffusion samples and their manifest into `out_dir` (see `generation`)."""
    sampler = str(cfg.get("sampler") or task.hparams.sampler)
    steps = int(cfg.get("sample_steps") or task.hparams.sample_steps)
    check_sampler(str(task.hparams.objective), sampler, steps)
    task.hparams.sampler, task.hparams.sample_steps = sampler, steps
    seed, shape = int(cfg.seed), task.net.work_shape

    def sample_batch(indices: list[int], device: torch.device) -> torch.Tensor:
        return task.sample_from_noise(seeded_noise(seed, indices, shape).to(device))

    return write_sampled_set(
        task,
        cfg,
        checkpoint,
        out_dir,
        shard,
        sample_batch=sample_batch,
        kind="diffusion",
        image_size=task.net.image_size,
        sampler=task.sampler_description(),
        settings={"sampler": sampler, "sample_steps": steps},
    )
