"""Networks that work below the image size: a cheaper GAN for CPU budgets, honestly resized.

A GAN pair with `work_size` < `image_size` draws at `work_size` and returns its images
bilinearly upsampled to `image_size` (so every consumer, FID included, sees full-size images
that carry no detail finer than `work_size` can hold); its discriminator judges real and
generated images alike after an antialiased downsampling to `work_size`. The compute per
step falls with the square of the size ratio.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Upsampled(nn.Module):
    """A generator drawing at a lower size, its images upsampled (bilinear) to `size`."""

    def __init__(self, generator: nn.Module, size: int):
        super().__init__()
        self.generator = generator
        self.size = int(size)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        images = self.generator(z)
        return F.interpolate(images, size=self.size, mode="bilinear", align_corners=False)


class Downsampled(nn.Module):
    """A network that sees images after an antialiased bilinear resize to `size` (the
    discriminator, or the encoder of a pre-trained generator)."""

    def __init__(self, discriminator: nn.Module, size: int):
        super().__init__()
        self.discriminator = discriminator
        self.size = int(size)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        small = F.interpolate(
            images, size=self.size, mode="bilinear", align_corners=False, antialias=True
        )
        return self.discriminator(small)
