"""DCGAN (Radford et al. 2016): transposed-conv generator with BatchNorm, strided-conv critic.

At 64x64: G = ConvT(z, 8w, 4) -> 4x4, then ConvT stride 2 to 8, 16, 32 (BN + ReLU) and to 64
(Tanh); D mirrors it with stride-2 convs, LeakyReLU(0.2) and BN on all but the first, and a
final 4x4 conv to one logit. Other power-of-two sizes add or remove stride-2 stages.
Weights start from N(0, 0.02) (BN scales from N(1, 0.02)), as in the paper.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

from fakearena.errors import ConfigError
from fakearena.models.generators.blocks import downsampling_layers
from fakearena.models.generators.diffaugment import DiffAugment
from fakearena.models.generators.encoder import ConvEncoder
from fakearena.models.generators.gan_pair import GANPair, check_image_size
from fakearena.models.generators.noise_inputs import NoiseInput, noise_maps
from fakearena.models.generators.resolution import Downsampled, Upsampled


def _stage_widths(width: int, image_size: int) -> list[int]:
    """Channel widths from the 4x4 stage up to the last hidden stage (e.g. 8w,4w,2w,w at 64)."""
    stages = int(math.log2(image_size)) - 2  # 4x4 -> image_size in `stages` doublings
    return [width * 2 ** (stages - 1 - i) for i in range(stages)]


class DCGANGenerator(nn.Module):
    """z (B, latent_dim) -> images (B, C, S, S) in [-1, 1].

    `noise_inputs` adds a `NoiseInput` after each hidden block's BatchNorm (4x4 up to S/2),
    before its ReLU: one per-pixel noise map scaled per channel, the weights starting at 0.
    `output_noise` adds one to the image before the Tanh, with an independent map per colour
    channel: per-pixel grain at the full size, which the hidden maps (at most S/2, spread by
    the last 4x4 transposed convolution) cannot draw.
    """

    def __init__(
        self,
        latent_dim: int,
        channels: int,
        image_size: int,
        width: int = 64,
        noise_inputs: bool = False,
        output_noise: bool = False,
    ):
        super().__init__()
        widths = _stage_widths(width, image_size)
        hidden = [(1, 4 * 2**i) for i in range(len(widths))] if noise_inputs else []
        self.noise_shapes = hidden + ([(channels, image_size)] if output_noise else [])
        noise = (lambda w: [NoiseInput(w)]) if noise_inputs else (lambda w: [])
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, widths[0], 4, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]),
            *noise(widths[0]),
            nn.ReLU(True),
        ]
        for width_in, width_out in itertools.pairwise(widths):
            layers += [
                nn.ConvTranspose2d(width_in, width_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width_out),
                *noise(width_out),
                nn.ReLU(True),
            ]
        layers += [
            nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False),
            *([NoiseInput(channels)] if output_noise else []),
            nn.Tanh(),
        ]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = z[:, :, None, None]
        if not self.noise_shapes:
            return self.net(x)
        maps = iter(noise_maps(z, self.noise_shapes, self.training))
        for layer in self.net:
            x = layer(x, next(maps)) if isinstance(layer, NoiseInput) else layer(x)
        return x


class DCGANDiscriminator(nn.Module):
    """Images (B, C, S, S) in [-1, 1] -> (B,) logits."""

    def __init__(self, channels: int, image_size: int, width: int = 64):
        super().__init__()
        widths = _stage_widths(width, image_size)[::-1]  # w, 2w, 4w, 8w at 64
        layers = downsampling_layers(channels, widths)
        layers += [nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False)]
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images).flatten()


def init_dcgan_weights(module: nn.Module) -> None:
    """The paper's initialisation: conv weights N(0, 0.02), BN weights N(1, 0.02), bias 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def dcgan(
    *,
    latent_dim: int = 100,
    channels: int = 3,
    image_size: int = 64,
    g_width: int = 64,
    d_width: int = 64,
    default_loss: str = "nonsaturating",
    ema_decay: float = 0.0,
    work_size: int | None = None,
    encoder_width: int | None = None,
    diffaugment: Sequence[str] | None = None,
    noise_inputs: bool = False,
    output_noise: bool = False,
) -> GANPair:
    """DCGAN for `channels` x `image_size`^2 images (image_size a power of two >= 16).

    `work_size` (a power of two < image_size) makes both networks work at that size, the
    images upsampled to image_size (see `fakearena.models.generators.resolution`).
    `encoder_width` adds a `ConvEncoder` of that width (at the work size), so the task can
    pre-train G as a VAE decoder; `diffaugment` names DiffAugment policies for D's inputs;
    `noise_inputs` gives G per-pixel noise inputs after its hidden blocks and `output_noise`
    one on its image (`fakearena.models.generators.noise_inputs`).
    """
    size = check_image_size(image_size, 16, "dcgan")
    work = size if work_size is None else check_image_size(work_size, 16, "dcgan work_size")
    if work > size:
        raise ConfigError(
            f"generator.work_size={work} is larger than the image size {size}; set it to a "
            "smaller power of two (e.g. 32) or null"
        )
    for key, value in (("noise_inputs", noise_inputs), ("output_noise", output_noise)):
        if not isinstance(value, bool):
            raise ConfigError(
                f"generator.{key}={value!r}; set it to true (per-pixel noise inputs in G) or "
                "false"
            )
    generator: nn.Module = DCGANGenerator(
        int(latent_dim),
        int(channels),
        work,
        int(g_width),
        noise_inputs=noise_inputs,
        output_noise=output_noise,
    )
    discriminator: nn.Module = DCGANDiscriminator(int(channels), work, int(d_width))
    generator.apply(init_dcgan_weights)
    discriminator.apply(init_dcgan_weights)
    encoder: nn.Module | None = None
    if encoder_width is not None:
        encoder = ConvEncoder(int(channels), work, int(latent_dim), int(encoder_width))
        encoder.features.apply(init_dcgan_weights)
    if work < size:
        generator, discriminator = Upsampled(generator, size), Downsampled(discriminator, work)
        encoder = None if encoder is None else Downsampled(encoder, work)
    return GANPair(
        generator=generator,
        discriminator=discriminator,
        latent_dim=latent_dim,
        channels=channels,
        image_size=size,
        default_loss=default_loss,
        ema_decay=ema_decay,
        augment=DiffAugment(list(diffaugment)) if diffaugment else None,
        encoder=encoder,
    )
