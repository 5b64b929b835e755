"""The denoising network of `task=diffusion`: a UNet (diffusers' `UNet2DModel`) with an EMA copy.

Diffusion network contract (what `fakearena.tasks.diffusion` relies on):
    `forward(x_t, t)` maps noisy images (B, C, work_size, work_size) in the diffusion's space
    and timesteps (B,) in [0, num_train_timesteps) to the model output of the same shape
    (noise, velocity or flow, by the task's objective); `denoise(x_t, t)` is the same with the
    sampling weights (the EMA copy when kept); `to_work(images)` brings images in [-1, 1] at
    `image_size` to the work size, `to_image(samples)` back (bilinear); `update_ema()` after
    every optimiser step; attributes `image_size`, `work_size`, `channels`, `image_shape`.

`work_size` < `image_size` trains and samples at the smaller size (the compute falls with the
square of the ratio) and hands out images bilinearly upsampled to `image_size`, which then hold
no detail finer than `work_size` (as `generator.work_size` of the GANs).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from fakearena.errors import ConfigError
from fakearena.models.generators.ema import update_average
from fakearena.models.generators.gan_pair import check_image_size


def unet_config(
    work_size: int,
    channels: int,
    block_out_channels: Sequence[int],
    layers_per_block: int,
    attention_levels: Sequence[int],
    norm_groups: int,
) -> dict:
    """The `UNet2DModel` keyword arguments: one down/up block per entry of
    `block_out_channels`, self-attention at the levels listed in `attention_levels`."""
    widths = [int(c) for c in block_out_channels]
    if not widths or any(c < 1 or c % int(norm_groups) for c in widths):
        raise ConfigError(
            f"generator.block_out_channels={widths}: give positive widths, each a multiple of "
            f"generator.norm_groups={norm_groups}"
        )
    if work_size % 2 ** (len(widths) - 1) or work_size // 2 ** (len(widths) - 1) < 4:
        raise ConfigError(
            f"generator.work_size={work_size} cannot be halved {len(widths) - 1} times "
            f"(one per level of block_out_channels={widths}) down to at least 4x4; use fewer "
            "levels or a larger size"
        )
    levels = {int(level) for level in attention_levels}
    if not levels <= set(range(len(widths))):
        raise ConfigError(
            f"generator.attention_levels={sorted(levels)}: levels are 0..{len(widths) - 1}"
        )
    down = [("AttnDownBlock2D" if i in levels else "DownBlock2D") for i in range(len(widths))]
    up = [b.replace("Down", "Up") for b in reversed(down)]
    return dict(
        sample_size=int(work_size),
        in_channels=int(channels),
        out_channels=int(channels),
        layers_per_block=int(layers_per_block),
        block_out_channels=tuple(widths),
        down_block_types=tuple(down),
        up_block_types=tuple(up),
        norm_num_groups=int(norm_groups),
    )


class DiffusionUNet(nn.Module):
    """A UNet that predicts the diffusion target, with its exponential moving average.

    Args:
        image_size: side of the images the task hands out (a power of two >= 16).
        channels: image channels.
        work_size: side the UNet works at (None: image_size).
        block_out_channels: channels of each resolution level (the first at work_size).
        layers_per_block: residual blocks per level.
        attention_levels: levels (0 = work_size) with self-attention.
        norm_groups: GroupNorm groups.
        ema_decay: decay of the weights' moving average used for sampling (0: none).
    """

    def __init__(
        self,
        *,
        image_size: int = 64,
        channels: int = 3,
        work_size: int | None = None,
        block_out_channels: Sequence[int] = (32, 64, 128),
        layers_per_block: int = 1,
        attention_levels: Sequence[int] = (),
        norm_groups: int = 8,
        ema_decay: float = 0.999,
    ):
        super().__init__()
        from diffusers import UNet2DModel  # heavy import, only when a network is built

        self.image_size = check_image_size(image_size, 16, "diffusion_unet")
        self.work_size = check_image_size(work_size or image_size, 8, "diffusion_unet work_size")
        if self.work_size > self.image_size:
            raise ConfigError(
                f"generator.work_size={self.work_size} is larger than the image size "
                f"{self.image_size}; use at most data.image_size"
            )
        if not 0.0 <= float(ema_decay) < 1.0:
            raise ConfigError(f"generator.ema_decay={ema_decay} must be in [0, 1) (0: no EMA)")
        self.channels = int(channels)
        self.ema_decay = float(ema_decay)
        config = unet_config(
            self.work_size,
            self.channels,
            block_out_channels,
            layers_per_block,
            attention_levels,
            norm_groups,
        )
        self.unet = UNet2DModel(**config)
        self.unet_ema: nn.Module | None = None
        if self.ema_decay > 0:
            self.unet_ema = copy.deepcopy(self.unet).eval().requires_grad_(False)
        self.register_buffer("ema_updates", torch.zeros((), dtype=torch.long))

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(channels, image_size, image_size) of the images handed out."""
        return (self.channels, self.image_size, self.image_size)

    @property
    def work_shape(self) -> tuple[int, int, int]:
        """(channels, work_size, work_size): the shape the diffusion runs at."""
        return (self.channels, self.work_size, self.work_size)

    def forward(self, x_t: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        return self.unet(x_t, timesteps).sample

    def denoise(self, x_t: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """The model output of the sampling weights (the EMA copy when kept)."""
        unet = self.unet_ema if self.unet_ema is not None else self.unet
        return unet(x_t, timesteps).sample

    def to_work(self, images: torch.Tensor) -> torch.Tensor:
        """Images at image_size -> work_size (antialiased bilinear; unchanged when equal)."""
        if images.shape[-1] == self.work_size:
            return images
        return F.interpolate(
            images, size=self.work_size, mode="bilinear", align_corners=False, antialias=True
        )

    def to_image(self, samples: torch.Tensor) -> torch.Tensor:
        """Samples at work_size -> image_size (bilinear; unchanged when equal)."""
        if samples.shape[-1] == self.image_size:
            return samples
        return F.interpolate(samples, size=self.image_size, mode="bilinear", align_corners=False)

    def update_ema(self) -> None:
        """Move the EMA copy towards the trained UNet (no-op without EMA)."""
        if self.unet_ema is not None:
            update_average(self.unet_ema, self.unet, self.ema_decay, self.ema_updates)

    def train(self, mode: bool = True) -> DiffusionUNet:
        super().train(mode)
        if self.unet_ema is not None:
            self.unet_ema.eval()  # the average is never trained
        return self
