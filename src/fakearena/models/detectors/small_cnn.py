"""A small CNN detector: the quick baseline for CPU runs and tests."""

from __future__ import annotations

import torch
from torch import nn


class SmallCNN(nn.Module):
    """Four conv-BN-ReLU-pool blocks, global average pooling, one logit.

    Maps a (B, C, H, W) batch in [0, 1] to (B,) logits (positive = fake).
    """

    def __init__(self, *, in_channels: int = 3, width: int = 16):
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for multiplier in (1, 2, 4, 8):
            out = width * multiplier
            layers += [
                nn.Conv2d(channels, out, 3, padding=1, bias=False),
                nn.BatchNorm2d(out),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            channels = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(channels, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.features(images * 2.0 - 1.0)
        return self.head(x.mean(dim=(2, 3))).squeeze(1)
