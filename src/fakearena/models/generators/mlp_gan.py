"""The reference MLP GAN (the seed model): fully connected G and D on flattened images.

G: Linear(100,256) ReLU Linear(256,512) ReLU Linear(512,1024) ReLU Linear(1024,784) Tanh;
D: Linear(784,1024) LeakyReLU(0.2) Dropout(0.3) Linear(1024,512) LeakyReLU(0.2) Dropout(0.3)
Linear(512,256) LeakyReLU(0.2) Dropout(0.3) Linear(256,1). D ends at the logit: the reference's
final Sigmoid is folded into the loss (`fakearena.tasks.gan_losses`), which computes the same
objective from logits. 784 = 1x28x28; other data sizes change only the first/last widths.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from fakearena.models.generators.gan_pair import GANPair

HIDDEN_G = (256, 512, 1024)
HIDDEN_D = (1024, 512, 256)


class MLPGenerator(nn.Module):
    """z (B, latent_dim) -> images (B, C, H, W) in [-1, 1] through the reference MLP."""

    def __init__(self, latent_dim: int, image_shape: tuple[int, int, int]):
        super().__init__()
        self.image_shape = tuple(image_shape)
        out = image_shape[0] * image_shape[1] * image_shape[2]
        widths = (latent_dim, *HIDDEN_G)
        layers: list[nn.Module] = []
        for width_in, width_out in itertools.pairwise(widths):
            layers += [nn.Linear(width_in, width_out), nn.ReLU()]
        layers += [nn.Linear(widths[-1], out), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.image_shape)


class MLPDiscriminator(nn.Module):
    """Images (B, C, H, W) in [-1, 1] -> (B,) logits through the reference MLP."""

    def __init__(self, image_shape: tuple[int, int, int], dropout: float = 0.3):
        super().__init__()
        widths = (image_shape[0] * image_shape[1] * image_shape[2], *HIDDEN_D)
        layers: list[nn.Module] = []
        for width_in, width_out in itertools.pairwise(widths):
            layers += [nn.Linear(width_in, width_out), nn.LeakyReLU(0.2), nn.Dropout(dropout)]
        layers += [nn.Linear(widths[-1], 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images.flatten(1)).squeeze(1)


def mlp_gan(
    *,
    latent_dim: int = 100,
    channels: int = 1,
    image_size: int = 28,
    dropout: float = 0.3,
    default_loss: str = "nonsaturating",
    ema_decay: float = 0.0,
) -> GANPair:
    """The reference MLP GAN for images of `channels` x `image_size` x `image_size`."""
    shape = (int(channels), int(image_size), int(image_size))
    return GANPair(
        generator=MLPGenerator(int(latent_dim), shape),
        discriminator=MLPDiscriminator(shape, dropout=dropout),
        latent_dim=latent_dim,
        channels=channels,
        image_size=image_size,
        default_loss=default_loss,
        ema_decay=ema_decay,
    )
