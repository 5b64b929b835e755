"""The reference conv autoencoder: the single-decoder baseline for reconstruction MSE.

Layers, in order: Conv2d(3,64,3) ReLU MaxPool(2) Conv2d(64,64,3) ReLU MaxPool(2) Flatten
Linear(->512) ReLU Linear(512 -> H*W*3) Sigmoid, reshaped to the image; trained with MSE to
reconstruct its input. It follows the face-swap network contract of
`fakearena.models.generators.faceswap_ae` with one decoder shared by all identities.
"""

from __future__ import annotations

import torch
from torch import nn

from fakearena.errors import ConfigError
from fakearena.models.generators.faceswap_ae import check_decoder


def _flat_features(image_size: int) -> int:
    side = ((image_size - 2) // 2 - 2) // 2  # two unpadded 3x3 convs, each followed by pool 2
    return 64 * side * side


class SeedConvAE(nn.Module):
    """The reference model for square RGB images of side `image_size` (128 in the reference)."""

    def __init__(self, *, image_size: int = 64, n_decoders: int = 1):
        super().__init__()
        image_size = int(image_size)
        if image_size < 10:
            raise ConfigError(f"generator.image_size={image_size} is too small (need >= 10)")
        if int(n_decoders) != 1:
            raise ConfigError(
                f"generator.n_decoders={n_decoders}: seed_conv_ae has one decoder shared by all "
                "identities; use generator=faceswap_ae for one decoder per identity"
            )
        self.image_size = image_size
        self.n_decoders = 1
        self.encoder = nn.Sequential(
            nn.Conv2d(3, 64, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(_flat_features(image_size), 512),
            nn.ReLU(),
        )
        self.decoder = nn.Sequential(
            nn.Linear(512, image_size * image_size * 3),
            nn.Sigmoid(),
            nn.Unflatten(1, (3, image_size, image_size)),
        )

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.encoder(images)

    def decode(self, latent: torch.Tensor, decoder: int = 0) -> torch.Tensor:
        check_decoder(decoder, 1)
        return self.decoder(latent)

    def forward(self, images: torch.Tensor, decoder: int = 0) -> torch.Tensor:
        return self.decode(self.encode(images), decoder)
