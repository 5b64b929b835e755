"""Per-pixel noise inputs of a generator (StyleGAN's "stochastic variation", Karras et al. 2019).

After a block of the generator, one map of per-pixel Gaussian noise (B, 1, H, W) is added to
every channel, scaled by a learned per-channel weight that starts at 0 (so a new network draws
exactly what it drew without noise, and learns how much grain each channel carries). A map
may also have one plane per channel, (B, C, H, W): independent noise in each (the output
noise of `dcgan`, a camera's sensor noise in each colour).

Where the noise comes from:

- training (`module.training`): fresh draws from torch's global generator (seeded per run);
- sampling (eval mode: grids, FID, `fakearena generate`): each sample's maps are a function
  of its latent z alone, drawn by a `torch.Generator` seeded with a hash of z's float32
  bytes. An image therefore depends on its z only: the same seed gives the same image,
  whatever the batch it is drawn in, and another seed (another z) another grain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import torch
from torch import nn


class NoiseInput(nn.Module):
    """x + weight[c] * noise for x (B, C, H, W): noise (B, 1, H, W) shared by all `channels`,
    or (B, C, H, W), one plane each."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(int(channels)))

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return x + self.weight.view(1, -1, 1, 1) * noise

    def extra_repr(self) -> str:
        return f"channels={self.weight.numel()}"


def latent_seed(z: torch.Tensor) -> int:
    """A 63-bit seed from the float32 bytes of one latent vector (identical z, identical seed)."""
    data = z.detach().to("cpu", torch.float32).contiguous().numpy().tobytes()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little") >> 1


def seeded_noise_maps(z: torch.Tensor, shapes: Sequence[tuple[int, int]]) -> list[torch.Tensor]:
    """One (B, c, s, s) map per (c, s) in `shapes`; sample i's maps drawn in order by a
    generator seeded with `latent_seed(z[i])`, so they do not depend on the batch's other rows."""
    per_sample = []
    for row in z:
        generator = torch.Generator().manual_seed(latent_seed(row))
        per_sample.append([torch.randn(c, s, s, generator=generator) for c, s in shapes])
    return [
        torch.stack([maps[k] for maps in per_sample]).to(device=z.device, dtype=z.dtype)
        for k in range(len(shapes))
    ]


def noise_maps(
    z: torch.Tensor, shapes: Sequence[tuple[int, int]], training: bool
) -> list[torch.Tensor]:
    """The (B, c, s, s) noise maps of a batch, one per (c, s) in `shapes`: fresh global-RNG
    draws in training, `seeded_noise_maps` otherwise."""
    if training:
        return [torch.randn(len(z), c, s, s, device=z.device, dtype=z.dtype) for c, s in shapes]
    return seeded_noise_maps(z, shapes)
