"""Fake sets of models that turn noise into images (GAN, diffusion), one seeded draw each.

Image i comes from noise drawn by numpy's generator seeded with the SeedSequence `[seed, i]`
(a GAN's z, a diffusion model's starting noise), so an image does not depend on the batch it
was made in, a resumed run makes the same images as an uninterrupted one, and seeds give
disjoint, reproducible sets. Outputs in [-1, 1] are mapped to 8-bit levels by rounding
(x + 1) / 2 * 255. Each model kind supplies `sample_batch(indices, device) -> (B, C, H, W)
in [-1, 1]` to `write_sampled_set`.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from fakearena import __version__
from fakearena.errors import ConfigError
from fakearena.generation.fakeset import CheckpointInfo, FakeSetWriter, split_assignment
from fakearena.utils.parallel import Shard, resolve_device

# z of a GAN, starting noise of a diffusion model (the same text as before diffusion came)
NOISE_PROTOCOL = "z_i ~ N(0, I) from numpy default_rng(SeedSequence([seed, i]))"


def seeded_noise(seed: int, indices: Sequence[int], shape: Sequence[int]) -> torch.Tensor:
    """Noise of images `indices` under `seed`: (len(indices), *shape) float32, image i's from
    numpy's generator seeded with `[seed, i]`."""
    rng = np.random.default_rng
    draws = [rng([int(seed), int(i)]).standard_normal(tuple(shape)) for i in indices]
    return torch.from_numpy(np.stack(draws).astype(np.float32))


def generator_name(task) -> str:
    """The generator's config name stored with the task (falls back to the factory name)."""
    name = task.hparams.get("generator_name")
    if name:
        return str(name)
    target = str(task.hparams.get("net_config", {}).get("_target_", task.hparams.get("name")))
    return target.rsplit(".", 1)[-1]


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Images (B, C, H, W) in [-1, 1] -> uint8 (B, H, W, C)."""
    pixels = ((images.float().clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)
    return pixels.permute(0, 2, 3, 1).cpu().numpy()


def reproduce_command(
    cfg: DictConfig, checkpoint: CheckpointInfo, name: str, settings: dict[str, Any] | None = None
) -> str:
    """The command that makes this set again (into any out=DIR); `settings` are further
    `key=value` arguments that pinned it."""
    split = cfg.get("split", "test")
    split = OmegaConf.to_container(split) if isinstance(split, DictConfig) else split
    if isinstance(split, dict):
        split = "{" + ", ".join(f"{k}: {v}" for k, v in split.items()) + "}"
    args = [f"ckpt={checkpoint.path}", f"n={int(cfg.n)}", "out=DIR", f"seed={int(cfg.seed)}"]
    args += [f"split={split}", f"name={name}"]
    args += [f"{key}={value}" for key, value in (settings or {}).items()]
    return shlex.join(["fakearena", "generate", *args])


def write_sampled_set(
    task,
    cfg: DictConfig,
    checkpoint: CheckpointInfo,
    out_dir: Path,
    shard: Shard | None,
    *,
    sample_batch: Callable[[list[int], torch.device], torch.Tensor],
    kind: str,
    image_size: int,
    sampler: str,
    settings: dict[str, Any] | None = None,
) -> Path:
    """Write `cfg.n` sampled images and their manifest into `out_dir` (see the package doc).

    `kind` names the family (`gan`, `diffusion`: source `<kind>/<generator name>`); `settings`
    are further values that pin the set (a resumed run must share them) and are recorded in
    its provenance. With a `shard` (several processes) this process makes the images it owns.
    """
    n, seed, batch_size = int(cfg.n), int(cfg.seed), int(cfg.get("batch_size") or 64)
    if n < 1 or batch_size < 1:
        raise ConfigError(f"n={n} and batch_size={batch_size} must both be >= 1")
    name = generator_name(task)
    split = cfg.get("split", "test")
    split = OmegaConf.to_container(split) if isinstance(split, DictConfig) else split
    manifest_name = cfg.get("name") or f"{kind}_{name}_seed{seed}"
    extra = dict(settings or {})
    writer = FakeSetWriter(
        out_dir,
        name=manifest_name,
        source=f"{kind}/{name}",
        video_id_prefix=f"{kind}/{name}/{seed}",
        splits=split_assignment(n, split),
        settings={
            "checkpoint_sha256": checkpoint.sha256,
            "seed": seed,
            "n": n,
            "split": split,
            "name": manifest_name,
            "z": NOISE_PROTOCOL,
            **extra,
        },
        overwrite=bool(cfg.get("overwrite", False)),
        shard=shard,
    )
    device = shard.device if shard is not None else resolve_device(str(cfg.get("device") or "auto"))
    task.to(device).eval()
    device = next(task.parameters()).device
    todo = writer.todo()
    quiet = shard is not None and not shard.is_main
    bar = tqdm(total=len(todo), desc="generate", disable=quiet)
    with torch.inference_mode(), bar:
        for start in range(0, len(todo), batch_size):
            indices = [int(i) for i in todo[start : start + batch_size]]
            images = to_uint8(sample_batch(indices, device))
            for index, image in zip(indices, images):
                writer.write_image(index, image)
            bar.update(len(indices))
    return writer.finish(
        image_size=int(image_size),
        description=f"{n} images of {kind} model {name} (seed {seed}), label 1",
        provenance={
            "command": reproduce_command(cfg, checkpoint, manifest_name, extra),
            "task": checkpoint.task,
            "generator": name,
            "checkpoint": str(checkpoint.path),
            "checkpoint_sha256": checkpoint.sha256,
            "seed": seed,
            "n": n,
            "latent": NOISE_PROTOCOL,
            **extra,
            "sampler": sampler,
            "fakearena_version": __version__,
        },
    )
