"""GAN fake sets: images of a trained generator from per-image seeded latents.

Image i comes from z_i = standard normal drawn by numpy's generator seeded with the
SeedSequence `[seed, i]`, so an image does not depend on the batch it was made in, a resumed
run makes the same images as an uninterrupted one, and seeds give disjoint, reproducible sets.
The sampler is the network's evaluation generator (its EMA copy when it keeps one), in eval
mode; outputs in [-1, 1] are mapped to 8-bit levels by rounding (x + 1) / 2 * 255.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from fakearena import __version__
from fakearena.errors import ConfigError
from fakearena.generation.fakeset import CheckpointInfo, FakeSetWriter, split_assignment
from fakearena.utils.parallel import Shard, resolve_device

Z_PROTOCOL = "z_i ~ N(0, I) from numpy default_rng(SeedSequence([seed, i]))"


def latent(seed: int, index: int, dim: int) -> np.ndarray:
    """z of image `index` under `seed` (float32, shape (dim,))."""
    return np.random.default_rng([int(seed), int(index)]).standard_normal(dim).astype(np.float32)


def generator_name(task) -> str:
    """The generator's config name stored with the task (falls back to the factory name)."""
    name = task.hparams.get("generator_name")
    if name:
        return str(name)
    target = str(task.hparams.get("net_config", {}).get("_target_", "gan"))
    return target.rsplit(".", 1)[-1]


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Images (B, C, H, W) in [-1, 1] -> uint8 (B, H, W, C)."""
    pixels = ((images.float().clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)
    return pixels.permute(0, 2, 3, 1).cpu().numpy()


def reproduce_command(cfg: DictConfig, checkpoint: CheckpointInfo, name: str) -> str:
    """The command that makes this set again (into any out=DIR)."""
    split = cfg.get("split", "test")
    split = OmegaConf.to_container(split) if isinstance(split, DictConfig) else split
    if isinstance(split, dict):
        split = "{" + ", ".join(f"{k}: {v}" for k, v in split.items()) + "}"
    args = [f"ckpt={checkpoint.path}", f"n={int(cfg.n)}", "out=DIR", f"seed={int(cfg.seed)}"]
    args += [f"split={split}", f"name={name}"]
    return shlex.join(["fakearena", "generate", *args])


def generate_fake_set(
    task, cfg: DictConfig, checkpoint: CheckpointInfo, out_dir: Path, shard: Shard | None = None
) -> Path:
    """Write `cfg.n` generated images and their manifest into `out_dir` (see the package doc).

    With a `shard` (several processes) this process makes the images it owns on its device.
    """
    n, seed, batch_size = int(cfg.n), int(cfg.seed), int(cfg.get("batch_size") or 64)
    if n < 1 or batch_size < 1:
        raise ConfigError(f"n={n} and batch_size={batch_size} must both be >= 1")
    name = generator_name(task)
    split = cfg.get("split", "test")
    split = OmegaConf.to_container(split) if isinstance(split, DictConfig) else split
    manifest_name = cfg.get("name") or f"gan_{name}_seed{seed}"
    writer = FakeSetWriter(
        out_dir,
        name=manifest_name,
        source=f"gan/{name}",
        video_id_prefix=f"gan/{name}/{seed}",
        splits=split_assignment(n, split),
        settings={
            "checkpoint_sha256": checkpoint.sha256,
            "seed": seed,
            "n": n,
            "split": split,
            "name": manifest_name,
            "z": Z_PROTOCOL,
        },
        overwrite=bool(cfg.get("overwrite", False)),
        shard=shard,
    )
    device = shard.device if shard is not None else resolve_device(str(cfg.get("device") or "auto"))
    net = task.net.to(device).eval()
    device = next(net.parameters()).device
    todo = writer.todo()
    quiet = shard is not None and not shard.is_main
    bar = tqdm(total=len(todo), desc="generate", disable=quiet)
    with torch.inference_mode(), bar:
        for start in range(0, len(todo), batch_size):
            indices = todo[start : start + batch_size]
            z = np.stack([latent(seed, i, net.latent_dim) for i in indices])
            images = to_uint8(net.sample(torch.from_numpy(z).to(device)))
            for index, image in zip(indices, images):
                writer.write_image(index, image)
            bar.update(len(indices))
    return writer.finish(
        image_size=net.image_size,
        description=f"{n} images of GAN {name} (seed {seed}), label 1",
        provenance={
            "command": reproduce_command(cfg, checkpoint, manifest_name),
            "task": checkpoint.task,
            "generator": name,
            "checkpoint": str(checkpoint.path),
            "checkpoint_sha256": checkpoint.sha256,
            "seed": seed,
            "n": n,
            "latent": Z_PROTOCOL,
            "sampler": "ema" if getattr(net, "generator_ema", None) is not None else "generator",
            "fakearena_version": __version__,
        },
    )
