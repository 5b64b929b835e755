"""GAN fake sets: images of a trained generator from per-image seeded latents.

Image i comes from z_i = `seeded_noise(seed, [i], (latent_dim,))` (`fakearena.generation.
sampled`); the sampler is the network's evaluation generator (its EMA copy when it keeps one),
in eval mode.
"""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig

from fakearena.generation.fakeset import CheckpointInfo
from fakearena.generation.sampled import seeded_noise, write_sampled_set
from fakearena.utils.parallel import Shard


def generate_fake_set(
    task, cfg: DictConfig, checkpoint: CheckpointInfo, out_dir: Path, shard: Shard | None = None
) -> Path:
    """Write `cfg.n` GAN images and their manifest into `out_dir` (see `generation`)."""
    net, seed = task.net, int(cfg.seed)

    def sample_batch(indices: list[int], device: torch.device) -> torch.Tensor:
        return net.sample(seeded_noise(seed, indices, (net.latent_dim,)).to(device))

    return write_sampled_set(
        task,
        cfg,
        checkpoint,
        out_dir,
        shard,
        sample_batch=sample_batch,
        kind="gan",
        image_size=net.image_size,
        sampler="ema" if getattr(net, "generator_ema", None) is not None else "generator",
    )
