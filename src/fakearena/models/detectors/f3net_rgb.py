"""`f3net_rgb`: fakearena's hybrid of an RGB stream and F3Net's frequency (FAD) stream.

Neither the F3Net paper (FAD + LFS + MixBlock) nor DeepfakeBench's F3Net (FAD only) has an RGB
stream; this detector adds one, so it asks whether pixels and DCT bands together beat either
alone (compare with `detector=f3net` and the plain backbone). It has about twice the parameters
of one backbone; the leaderboard flags that against the reference backbone.
"""

from __future__ import annotations

import torch
from torch import nn

from fakearena.models.detectors.f3net import (
    BAND_NAMES,
    FrequencyAwareDecomposition,
    load_streams,
    timm_backbone,
)
from fakearena.models.detectors.timm_backbone import input_normalisation


class F3NetRGB(nn.Module):
    """RGB stream + FAD stream, pooled features joined, one logit per image.

    Maps (B, C, S, S) images in [0, 1] to (B,) logits; both streams see the image normalised
    with the backbone's mean/std (the FAD stream its four bands, 4C channels).

    Args:
        model_name: timm backbone of each stream.
        image_size: S, the input side (the DCT is built for it).
        in_chans: image channels.
        drop_rate: dropout before the logit.
        learnable_filters: add the learnable band filters.
        pretrained_file: local weights of the backbone, loaded into both streams (the FAD
            stream's first conv takes the file's filters, adapted to 4C input channels).
        pretrained_sha256: expected SHA-256 of `pretrained_file`.
    """

    def __init__(
        self,
        *,
        model_name: str = "legacy_xception",
        image_size: int = 256,
        in_chans: int = 3,
        drop_rate: float = 0.2,
        learnable_filters: bool = True,
        pretrained_file: str | None = None,
        pretrained_sha256: str | None = None,
    ):
        super().__init__()
        self.model_name = model_name
        self.rgb = timm_backbone(model_name, int(in_chans))
        self.fad = FrequencyAwareDecomposition(int(image_size), bool(learnable_filters))
        self.frequency = timm_backbone(model_name, len(BAND_NAMES) * int(in_chans))
        width = self.rgb.num_features + self.frequency.num_features
        self.head = nn.Sequential(nn.Dropout(float(drop_rate)), nn.Linear(width, 1))
        if pretrained_file:
            streams = {"rgb": self.rgb, "frequency": self.frequency}
            load_streams(streams, model_name, pretrained_file, pretrained_sha256)
        mean, std = input_normalisation(self.rgb, in_chans)
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = (images - self.mean.to(images.dtype)) / self.std.to(images.dtype)
        features = torch.cat([self.rgb(x), self.frequency(self.fad(x))], dim=1)
        return self.head(features).squeeze(1)
