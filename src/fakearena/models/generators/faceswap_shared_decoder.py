"""One decoder shared by all the face swap's people, told whose face to draw by per-person
parameters (`generator.decoders=shared`).

With one decoder per person, each decoder learns from its person's faces only: a batch of one
face of each of 40 people trains every decoder on one face a step. The shared decoder learns
from every face of every step; what makes a face one person's is kept per person, as in the
identity injection of SimSwap (Chen et al. 2020, AdaIN from an identity vector) and the
conditional instance norm of Dumoulin et al. 2017: a learned 8x8 feature map added to the
shared latent map (where the person's features lie) and a per-person scale and shift after
every instance normalisation (their colours and contrasts).
"""

from __future__ import annotations

from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn


class PersonInstanceNorm(nn.Module):
    """Instance normalisation (per face and channel) with a scale and shift per person."""

    def __init__(self, channels: int, people: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(people, channels))
        self.bias = nn.Parameter(torch.zeros(people, channels))

    def forward(self, x: torch.Tensor, person: int) -> torch.Tensor:
        scale = self.weight[person][None, :, None, None]
        return F.instance_norm(x) * scale + self.bias[person][None, :, None, None]


class SharedDecoder(nn.Module):
    """Pixel-shuffle upscale blocks (3x3 conv, person instance norm, leaky ReLU, 2x
    depth-to-space) from the (B, channels[0], 8, 8) latent map to `out` sigmoid channels.

    Args:
        channels: input channels, then the output channels of each upscale block.
        out: output channels (3 RGB, or 4 with a mask).
        people: how many people (their maps, scales and shifts).
    """

    def __init__(self, channels: list[int], out: int, people: int):
        super().__init__()
        self.person_maps = nn.Parameter(torch.zeros(people, channels[0], 8, 8))
        self.convs = nn.ModuleList(
            nn.Conv2d(c_in, 4 * c_out, 3, padding=1) for c_in, c_out in pairwise(channels)
        )
        self.norms = nn.ModuleList(PersonInstanceNorm(4 * c, people) for c in channels[1:])
        self.head = nn.Conv2d(channels[-1], out, 5, padding=2)

    def forward(self, latent: torch.Tensor, person: int) -> torch.Tensor:
        x = latent + self.person_maps[person]
        for conv, norm in zip(self.convs, self.norms):
            x = F.pixel_shuffle(F.leaky_relu(norm(conv(x), person), 0.1), 2)
        return torch.sigmoid(self.head(x))
