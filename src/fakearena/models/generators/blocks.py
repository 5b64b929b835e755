"""Layer stacks shared by the convolutional generators' networks."""

from __future__ import annotations

import itertools

from torch import nn


def downsampling_layers(channels: int, widths: list[int]) -> list[nn.Module]:
    """DCGAN's strided 4x4 convolutions: channels -> widths[0] -> ... -> widths[-1], halving
    the size at each; LeakyReLU(0.2), BatchNorm after all but the first."""
    layers: list[nn.Module] = [
        nn.Conv2d(channels, widths[0], 4, 2, 1, bias=False),
        nn.LeakyReLU(0.2, True),
    ]
    for width_in, width_out in itertools.pairwise(widths):
        layers += [
            nn.Conv2d(width_in, width_out, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width_out),
            nn.LeakyReLU(0.2, True),
        ]
    return layers
