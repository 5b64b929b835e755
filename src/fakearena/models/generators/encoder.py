"""A convolutional encoder that lets a GAN generator be pre-trained as a VAE decoder.

Images (B, C, S, S) in [-1, 1] -> the mean and log-variance of q(z | x), each (B, latent_dim):
the DCGAN critic's layout (stride-2 4x4 convs, BatchNorm on all but the first, LeakyReLU 0.2)
down to 4x4, then a 4x4 conv to 2 x latent_dim numbers. With the generator as its decoder
and the KL term pulling q(z | x) towards N(0, I), the generator learns in a few hundred
cheap reconstruction steps to turn prior samples into faces: the warm start of the GAN task's
`pretrain_steps` (see `fakearena.tasks.gan_pretrain`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from fakearena.models.generators.blocks import downsampling_layers


class ConvEncoder(nn.Module):
    """x (B, C, S, S) in [-1, 1] -> (mean, log-variance) of q(z | x), each (B, latent_dim)."""

    def __init__(self, channels: int, image_size: int, latent_dim: int, width: int = 32):
        super().__init__()
        stages = int(math.log2(image_size)) - 2  # image_size -> 4x4 in `stages` halvings
        widths = [int(width) * 2**i for i in range(stages)]  # w, 2w, 4w, 8w at 64
        self.features = nn.Sequential(*downsampling_layers(channels, widths))
        self.head = nn.Conv2d(widths[-1], 2 * int(latent_dim), 4, 1, 0)
        self.latent_dim = int(latent_dim)
        nn.init.zeros_(self.head.bias)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        moments = self.head(self.features(images)).flatten(1)
        mean, log_variance = moments.split(self.latent_dim, dim=1)
        return mean, log_variance.clamp(-30.0, 20.0)
