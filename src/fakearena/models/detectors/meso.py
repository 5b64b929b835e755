"""MesoNet detectors (Afchar et al., "MesoNet: a Compact Facial Video Forgery Detection
Network", WIFS 2018): Meso4 and MesoInception4, written from the paper's description.

Both take 256x256 faces in the paper; here the input side is `image_size` (a multiple of 32,
at least 32) and the flattened feature size follows from it. The final sigmoid of the paper is
left out: the networks return one logit per image, and BCE-with-logits is the loss.
"""

from __future__ import annotations

import torch
from torch import nn

from fakearena.errors import ConfigError

# Four max-pools of 2, 2, 2 and 4: the feature map is image_size / 32 on a side.
_DOWNSAMPLE = 32


def _conv_block(in_ch: int, out_ch: int, kernel: int, pool: int) -> nn.Sequential:
    """Conv (same padding) + ReLU, batch norm, max pool: one layer of the paper's Figure 4."""
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2),
        nn.ReLU(inplace=True),
        nn.BatchNorm2d(out_ch),
        nn.MaxPool2d(pool),
    )


class InceptionLayer(nn.Module):
    """The paper's inception variant: 1x1, 1x1->3x3, 1x1->3x3 (dilation 2), 1x1->3x3 (dilation
    3) branches, concatenated, then batch norm and a 2x2 max pool.

    Args:
        in_ch: input channels.
        a, b, c, d: output channels of the four branches.
    """

    def __init__(self, in_ch: int, a: int, b: int, c: int, d: int):
        super().__init__()
        self.branch1 = nn.Sequential(nn.Conv2d(in_ch, a, 1), nn.ReLU(inplace=True))
        self.branch2 = self._dilated(in_ch, b, 1)
        self.branch3 = self._dilated(in_ch, c, 2)
        self.branch4 = self._dilated(in_ch, d, 3)
        self.norm = nn.BatchNorm2d(a + b + c + d)
        self.pool = nn.MaxPool2d(2)

    @staticmethod
    def _dilated(in_ch: int, out_ch: int, dilation: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(in_ch, out_ch, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_ch, out_ch, 3, padding=dilation, dilation=dilation),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return self.pool(self.norm(torch.cat(branches, dim=1)))


class _MesoBase(nn.Module):
    """Shared head: flatten, dropout 0.5, dense 16 + LeakyReLU(0.1), dropout 0.5, dense 1."""

    def __init__(self, features: nn.Module, channels: int, image_size: int, in_channels: int):
        super().__init__()
        if image_size < _DOWNSAMPLE or image_size % _DOWNSAMPLE:
            raise ConfigError(
                f"{type(self).__name__} needs an input side that is a multiple of "
                f"{_DOWNSAMPLE} (the paper uses 256), got image_size={image_size}; set "
                "data.image_size accordingly"
            )
        self.image_size = int(image_size)
        self.in_channels = int(in_channels)
        self.features = features
        side = image_size // _DOWNSAMPLE
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(0.5),
            nn.Linear(channels * side * side, 16),
            nn.LeakyReLU(0.1),
            nn.Dropout(0.5),
            nn.Linear(16, 1),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, image_size, image_size) in [0, 1] (the paper's input range) -> (B,) logits."""
        if images.shape[1:] != (self.in_channels, self.image_size, self.image_size):
            raise ValueError(
                f"{type(self).__name__} was built for ({self.in_channels}, {self.image_size}, "
                f"{self.image_size}) inputs, got {tuple(images.shape[1:])}; the detector's "
                "image_size must equal data.image_size"
            )
        return self.head(self.features(images)).squeeze(1)


class Meso4(_MesoBase):
    """Meso-4: four conv layers (8 3x3, 8 5x5, 16 5x5, 16 5x5 filters) and a small dense head.

    Args:
        image_size: input side in pixels (multiple of 32).
        in_channels: input channels.
    """

    def __init__(self, *, image_size: int = 256, in_channels: int = 3):
        features = nn.Sequential(
            _conv_block(in_channels, 8, 3, 2),
            _conv_block(8, 8, 5, 2),
            _conv_block(8, 16, 5, 2),
            _conv_block(16, 16, 5, 4),
        )
        super().__init__(features, 16, image_size, in_channels)


class MesoInception4(_MesoBase):
    """MesoInception-4: Meso-4 with its first two conv layers replaced by inception layers
    (branch widths 1-4-4-2 and 2-4-4-2).

    Args:
        image_size: input side in pixels (multiple of 32).
        in_channels: input channels.
    """

    def __init__(self, *, image_size: int = 256, in_channels: int = 3):
        features = nn.Sequential(
            InceptionLayer(in_channels, 1, 4, 4, 2),
            InceptionLayer(11, 2, 4, 4, 2),
            _conv_block(12, 16, 5, 2),
            _conv_block(16, 16, 5, 4),
        )
        super().__init__(features, 16, image_size, in_channels)
