"""A modern small GAN for CPU budgets: ResNet generator, spectral-norm ResNet discriminator.

The recipe of SNGAN (Miyato et al. 2018) with the stabilisers that give the most FID per
compute on small data: hinge loss (the network's default loss), DiffAugment on D's inputs
(Zhao et al. 2020) and an exponential moving average of G for sampling (Yazici et al. 2019).
G: z -> Linear -> 4x4 -> residual up-blocks (BN, ReLU, nearest x2, 3x3 convs) -> 3x3 conv,
tanh. D: residual down-blocks (ReLU, 3x3 convs, avg-pool), every layer spectrally normalised,
global sum pooling, linear to one logit.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from fakearena.models.generators.diffaugment import DiffAugment
from fakearena.models.generators.gan_pair import GANPair, check_image_size


def _widths(width: int, image_size: int) -> list[int]:
    """Widths of the 4x4 stage and of each doubling up to image_size: 8w,4w,2w,w,w at 64."""
    stages = int(math.log2(image_size)) - 2
    return [width * 2 ** max(stages - 1 - i, 0) for i in range(stages + 1)]


class UpBlock(nn.Module):
    """BN-ReLU-up-conv-BN-ReLU-conv with an upsampled 1x1 shortcut."""

    def __init__(self, width_in: int, width_out: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(width_in)
        self.conv1 = nn.Conv2d(width_in, width_out, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(width_out)
        self.conv2 = nn.Conv2d(width_out, width_out, 3, padding=1)
        self.shortcut = nn.Conv2d(width_in, width_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h))))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class DownBlock(nn.Module):
    """(ReLU)-conv-ReLU-conv-avgpool with a 1x1 avg-pooled shortcut, spectrally normalised."""

    def __init__(self, width_in: int, width_out: int, first: bool = False):
        super().__init__()
        self.first = first
        self.conv1 = spectral_norm(nn.Conv2d(width_in, width_out, 3, padding=1))
        self.conv2 = spectral_norm(nn.Conv2d(width_out, width_out, 3, padding=1))
        self.shortcut = spectral_norm(nn.Conv2d(width_in, width_out, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else F.relu(x)
        h = F.avg_pool2d(self.conv2(F.relu(self.conv1(h))), 2)
        if self.first:  # the optimised first block pools before its shortcut conv
            return h + self.shortcut(F.avg_pool2d(x, 2))
        return h + F.avg_pool2d(self.shortcut(x), 2)


class ResNetGenerator(nn.Module):
    """z (B, latent_dim) -> images (B, C, S, S) in [-1, 1]."""

    def __init__(self, latent_dim: int, channels: int, image_size: int, width: int = 32):
        super().__init__()
        widths = _widths(width, image_size)
        self.first_width = widths[0]
        self.linear = nn.Linear(latent_dim, 4 * 4 * widths[0])
        self.blocks = nn.Sequential(*(UpBlock(a, b) for a, b in itertools.pairwise(widths)))
        self.bn = nn.BatchNorm2d(widths[-1])
        self.out = nn.Conv2d(widths[-1], channels, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.linear(z).view(z.shape[0], self.first_width, 4, 4)
        return torch.tanh(self.out(F.relu(self.bn(self.blocks(h)))))


class ResNetDiscriminator(nn.Module):
    """Images (B, C, S, S) in [-1, 1] -> (B,) logits; spectral norm on every layer."""

    def __init__(self, channels: int, image_size: int, width: int = 32):
        super().__init__()
        widths = _widths(width, image_size)[::-1][1:]  # w, 2w, ... after each halving
        blocks = [DownBlock(channels, widths[0], first=True)]
        blocks += [DownBlock(a, b) for a, b in itertools.pairwise(widths)]
        self.blocks = nn.Sequential(*blocks)
        self.linear = spectral_norm(nn.Linear(widths[-1], 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.blocks(images)).sum(dim=(2, 3))
        return self.linear(h).squeeze(1)


def sngan(
    *,
    latent_dim: int = 128,
    channels: int = 3,
    image_size: int = 64,
    g_width: int = 32,
    d_width: int = 32,
    default_loss: str = "hinge",
    ema_decay: float = 0.999,
    diffaugment: Sequence[str] | None = ("color", "translation", "cutout"),
) -> GANPair:
    """ResNet G + spectral-norm ResNet D (+ DiffAugment, EMA of G) for power-of-two sizes."""
    size = check_image_size(image_size, 16, "sngan")
    return GANPair(
        generator=ResNetGenerator(int(latent_dim), int(channels), size, int(g_width)),
        discriminator=ResNetDiscriminator(int(channels), size, int(d_width)),
        latent_dim=latent_dim,
        channels=channels,
        image_size=size,
        default_loss=default_loss,
        ema_decay=ema_decay,
        augment=DiffAugment(list(diffaugment)) if diffaugment else None,
    )
