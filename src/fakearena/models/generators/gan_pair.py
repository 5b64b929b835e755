"""The GAN network pair: generator + discriminator (+ optional EMA generator) as one module.

See `fakearena.models.generators` for the contract the GAN task relies on.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from fakearena.errors import ConfigError
from fakearena.models.generators.ema import update_average

GAN_LOSSES = ("nonsaturating", "minimax", "hinge")  # see fakearena.tasks.gan_losses


class GANPair(nn.Module):
    """A generator and its discriminator, with shapes and training defaults.

    Args:
        generator: z (B, latent_dim) -> images (B, channels, image_size, image_size) in [-1, 1].
        discriminator: images in [-1, 1] -> (B,) logits.
        latent_dim: length of z.
        channels: image channels (1 grayscale, 3 RGB).
        image_size: image side in pixels.
        default_loss: loss used when the task's `loss` is null.
        ema_decay: keep an exponential moving average of the generator with this decay
            (0 disables it); `sample` then uses the average.
        augment: differentiable augmentation of D's inputs (None: identity).
        encoder: images in [-1, 1] -> (mean, log-variance) of q(z | x), each
            (B, latent_dim), for pre-training the generator as a VAE decoder (None: none).
    """

    def __init__(
        self,
        *,
        generator: nn.Module,
        discriminator: nn.Module,
        latent_dim: int,
        channels: int,
        image_size: int,
        default_loss: str = "nonsaturating",
        ema_decay: float = 0.0,
        augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
        encoder: nn.Module | None = None,
    ):
        super().__init__()
        if default_loss not in GAN_LOSSES:
            raise ConfigError(f"default_loss={default_loss!r}; use one of {list(GAN_LOSSES)}")
        if not 0.0 <= ema_decay < 1.0:
            raise ConfigError(f"ema_decay={ema_decay} must be in [0, 1) (0 disables the EMA)")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.channels = int(channels)
        self.image_size = int(image_size)
        self.default_loss = default_loss
        self.ema_decay = float(ema_decay)
        self._augment = augment
        self.encoder = encoder
        self.generator_ema: nn.Module | None = None
        if self.ema_decay > 0:
            self.generator_ema = copy.deepcopy(generator).eval().requires_grad_(False)
        self.register_buffer("ema_updates", torch.zeros((), dtype=torch.long))

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(channels, image_size, image_size) of the generated images."""
        return (self.channels, self.image_size, self.image_size)

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        """D's input augmentation (applied identically in kind to real and fake batches)."""
        return images if self._augment is None else self._augment(images)

    def sample(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] from the evaluation generator (the EMA copy when kept)."""
        generator = self.generator_ema if self.generator_ema is not None else self.generator
        return generator(z)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.sample(z)

    def update_ema(self) -> None:
        """Move the EMA generator towards the trained one (`ema.update_average`: buffers are
        copied, the decay warms up over the first updates)."""
        if self.generator_ema is not None:
            update_average(self.generator_ema, self.generator, self.ema_decay, self.ema_updates)

    def train(self, mode: bool = True) -> GANPair:
        super().train(mode)
        if self.generator_ema is not None:
            self.generator_ema.eval()  # the average is never trained, and BN uses its stats
        return self


def check_image_size(image_size: int, minimum: int, name: str) -> int:
    """`image_size` as an int, or a ConfigError when it is not a power of two >= minimum."""
    size = int(image_size)
    if size < minimum or size & (size - 1):
        raise ConfigError(
            f"generator {name} needs a power-of-two image size >= {minimum}, got {size}; "
            f"set data.image_size (e.g. 64)"
        )
    return size
