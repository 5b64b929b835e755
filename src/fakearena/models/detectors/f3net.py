"""F3Net's frequency-aware decomposition (FAD) and the FAD-only detector of DeepfakeBench.

Qian, Yin, Sheng, Chen and Shao, "Thinking in Frequency: Face Forgery Detection by Mining
Frequency-aware Clues", ECCV 2020, https://arxiv.org/abs/2007.09355, eq. (1):

    y_i = D^-1( D(x) * (f_base^i + sigma(f_w^i)) ),   sigma(x) = (1 - e^-x) / (1 + e^-x)

with D the 2-D DCT of each channel, f_base^i a fixed binary band filter, f_w^i a learnable
filter and sigma = 2 * sigmoid - 1, which keeps the learnable part in (-1, 1). Blending and
up-sampling artefacts that hide in the pixels stand out in the high bands and survive
compression better than pixel cues.

`F3Net` is DeepfakeBench's F3Net (Yan et al., NeurIPS 2023 datasets track, FAD only): the four
bands (low, middle, high, all) of the normalised image are stacked as 4C channels and fed to one
backbone (Xception in both); the paper's second stream (local frequency statistics, LFS) and its
MixBlock fusion are not part of it. `f3net_rgb` (`fakearena.models.detectors.f3net_rgb`) is
fakearena's own hybrid with an RGB stream beside the FAD one.
"""

from __future__ import annotations

import math
import os

import timm
import torch
from torch import nn

from fakearena.errors import ConfigError
from fakearena.models.detectors.timm_backbone import (
    fit_backbone_state,
    head_keys,
    input_normalisation,
    read_state_dict,
)

BAND_NAMES = ("low", "middle", "high", "all")


def band_edges(size: int) -> dict[str, tuple[float, float]]:
    """Band -> (start, end) on the anti-diagonal index i + j of an S x S DCT spectrum.

    The authors' and DeepfakeBench's edges: low ends at S // 2.82 (the triangle i + j <= S/2.82
    is 1/16 of the spectrum's area), middle at S // 2 (1/8), high and all at 2S.
    """
    low, middle = size // 2.82, size // 2
    return {
        "low": (0.0, low),
        "middle": (low, middle),
        "high": (middle, 2.0 * size),
        "all": (0.0, 2.0 * size),
    }


def dct_matrix(size: int) -> torch.Tensor:
    """(size, size) orthonormal DCT-II matrix D: D @ x @ D.T is the 2-D DCT of x."""
    n = torch.arange(size, dtype=torch.float64)
    k = n[:, None]
    matrix = torch.cos(math.pi * (n[None, :] + 0.5) * k / size) * math.sqrt(2.0 / size)
    matrix[0] = math.sqrt(1.0 / size)
    return matrix.float()


def band_filter(size: int, start: float, end: float) -> torch.Tensor:
    """(size, size) binary filter f_base: 1 where start < i + j <= end (the authors' and
    DeepfakeBench's `generate_filter`; the DC coefficient i + j = 0 lies in no band and enters
    only through the learnable term)."""
    index = torch.arange(size)
    diagonal = (index[:, None] + index[None, :]).float()
    return ((diagonal > start) & (diagonal <= end)).float()


class FrequencyAwareDecomposition(nn.Module):
    """FAD: (B, C, S, S) -> (B, 4C, S, S), the image split into four DCT bands.

    Output channels are ordered band-major: [low (C), middle (C), high (C), all (C)]. Each
    band's filter is its binary base plus 2*sigmoid(w) - 1, w initialised from N(0, 0.1^2).

    Args:
        size: image side S (the DCT is built for it).
        learnable: add the learnable filters.
    """

    def __init__(self, size: int, learnable: bool = True):
        super().__init__()
        if size < 8:
            raise ConfigError(f"the frequency decomposition needs an image side >= 8, got {size}")
        self.size = int(size)
        self.register_buffer("dct", dct_matrix(self.size), persistent=False)
        edges = band_edges(self.size)
        bases = torch.stack([band_filter(self.size, *edges[name]) for name in BAND_NAMES])
        self.register_buffer("bases", bases, persistent=False)
        self.learnable = (
            nn.Parameter(torch.randn(len(BAND_NAMES), size, size) * 0.1) if learnable else None
        )

    def filters(self) -> torch.Tensor:
        """(4, S, S) effective band filters f_base + sigma(f_w)."""
        if self.learnable is None:
            return self.bases
        return self.bases + 2.0 * torch.sigmoid(self.learnable) - 1.0

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if tuple(images.shape[-2:]) != (self.size, self.size):
            raise ValueError(
                f"the frequency decomposition was built for {self.size}x{self.size} images, got "
                f"{tuple(images.shape[-2:])}; the detector's image_size must equal "
                "data.image_size"
            )
        dct = self.dct.to(images.dtype)
        spectrum = dct @ images @ dct.T  # (B, C, S, S)
        bands = spectrum[:, None] * self.filters().to(images.dtype)[None, :, None]
        pixels = dct.T @ bands @ dct  # (B, 4, C, S, S)
        return pixels.flatten(1, 2)


def timm_backbone(model_name: str, in_chans: int) -> nn.Module:
    """A timm feature backbone (no classifier) taking `in_chans` channels.

    Raises:
        ConfigError: timm has no such model.
    """
    if not timm.is_model(model_name):
        raise ConfigError(
            f"timm has no model {model_name!r}; set detector.model_name to one of "
            "timm.list_models()"
        )
    return timm.create_model(model_name, num_classes=0, in_chans=int(in_chans))


def load_streams(
    streams: dict[str, nn.Module],
    model_name: str,
    path: str | os.PathLike[str],
    sha256: str | None = None,
) -> None:
    """Every stream starts from one local backbone file (its classifier dropped, its input
    conv adapted to the stream's channels).

    Raises:
        CheckpointError: the file does not fit the backbone or its hash differs.
    """
    state = read_state_dict(path, sha256)
    for stream in streams.values():
        fitted = fit_backbone_state(
            stream, state, source=str(path), model_name=model_name, skip=head_keys(stream, state)
        )
        stream.load_state_dict(fitted, strict=False)


class F3Net(nn.Module):
    """DeepfakeBench's F3Net: FAD bands of the normalised image -> backbone -> one logit.

    Maps (B, C, S, S) images in [0, 1] to (B,) logits. With `rgb_stream` a second backbone
    sees the normalised image itself and the two pooled features are joined before the logit
    (`F3NetRGB`, fakearena's hybrid; not in the paper or DeepfakeBench).

    Args:
        model_name: timm backbone (`legacy_xception` in the paper and DeepfakeBench).
        image_size: S, the input side (the DCT is built for it).
        in_chans: image channels.
        drop_rate: dropout before the logit.
        learnable_filters: add the learnable band filters.
        pretrained_file: local backbone weights (the FAD stream's first conv adapted to 4C
            channels; loaded into both streams with `rgb_stream`).
        pretrained_sha256: expected SHA-256 of `pretrained_file`.
        rgb_stream: add the RGB stream.
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
        rgb_stream: bool = False,
    ):
        super().__init__()
        self.model_name = model_name
        # built before the FAD stream: the same parameter draws as the hybrid always had
        self.rgb = timm_backbone(model_name, int(in_chans)) if rgb_stream else None
        self.fad = FrequencyAwareDecomposition(int(image_size), bool(learnable_filters))
        self.frequency = timm_backbone(model_name, len(BAND_NAMES) * int(in_chans))
        streams = {"frequency": self.frequency}
        if self.rgb is not None:
            streams = {"rgb": self.rgb, **streams}
        width = sum(stream.num_features for stream in streams.values())
        self.head = nn.Sequential(nn.Dropout(float(drop_rate)), nn.Linear(width, 1))
        if pretrained_file:
            load_streams(streams, model_name, pretrained_file, pretrained_sha256)
        mean, std = input_normalisation(next(iter(streams.values())), in_chans)
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = (images - self.mean.to(images.dtype)) / self.std.to(images.dtype)
        features = self.frequency(self.fad(x))
        if self.rgb is not None:
            features = torch.cat([self.rgb(x), features], dim=1)
        return self.head(features).squeeze(1)
