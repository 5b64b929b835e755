"""A frequency-aware detector after F3Net: an RGB stream and a DCT band stream side by side.

Qian, Yin, Sheng, Chen and Shao, "Thinking in Frequency: Face Forgery Detection by Mining
Frequency-aware Clues", ECCV 2020, https://arxiv.org/abs/2007.09355. Its frequency-aware
decomposition (FAD) takes the 2-D DCT of each channel, keeps one band at a time (low, middle,
high, all) through a fixed binary filter plus a learnable one, and transforms each band back:
up-sampling and blending artefacts that hide in the pixels stand out in the high bands, and
survive compression better than pixel cues.

Written from the paper; here the FAD stream runs beside a plain RGB stream (each a timm
backbone, Xception in the paper) and their pooled features are joined before one logit. The
paper's second frequency stream (local frequency statistics) and its cross-attention fusion
are not included, as in DeepfakeBench's re-implementation (FAD only).
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

# Band edges on the anti-diagonal index i + j of the DCT coefficients, as fractions of the side:
# low covers the first 1/16 of the spectrum's area, middle up to 1/8, high the rest.
BANDS = {"low": (0.0, 1 / 2.82), "middle": (1 / 2.82, 0.5), "high": (0.5, 2.0), "all": (0.0, 2.0)}


def dct_matrix(size: int) -> torch.Tensor:
    """(size, size) orthonormal DCT-II matrix D: D @ x @ D.T is the 2-D DCT of x."""
    n = torch.arange(size, dtype=torch.float64)
    k = n[:, None]
    matrix = torch.cos(math.pi * (n[None, :] + 0.5) * k / size) * math.sqrt(2.0 / size)
    matrix[0] = math.sqrt(1.0 / size)
    return matrix.float()


def band_filter(size: int, start: float, end: float) -> torch.Tensor:
    """(size, size) binary filter keeping the DCT coefficients with start*size <= i+j <
    end*size."""
    index = torch.arange(size)
    diagonal = (index[:, None] + index[None, :]).float()
    return ((diagonal >= start * size) & (diagonal < end * size)).float()


class FrequencyAwareDecomposition(nn.Module):
    """FAD: (B, C, S, S) -> (B, 4C, S, S), the image split into four DCT bands.

    Each band's filter is its fixed binary base plus a learnable term 2*sigmoid(w) - 1 in
    (-1, 1) (the paper's sigma), initialised near 0.

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
        bases = torch.stack([band_filter(self.size, *edges) for edges in BANDS.values()])
        self.register_buffer("bases", bases, persistent=False)
        self.learnable = (
            nn.Parameter(torch.randn(len(BANDS), size, size) * 0.1) if learnable else None
        )

    def filters(self) -> torch.Tensor:
        """(4, S, S) effective band filters."""
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


class F3Net(nn.Module):
    """RGB stream + FAD stream, pooled features joined, one logit per image.

    Maps (B, C, S, S) images in [0, 1] to (B,) logits; both streams see the image normalised
    with the backbone's mean/std (the FAD stream its four bands, 4C channels).

    Args:
        model_name: timm backbone of each stream (`legacy_xception` in the paper).
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
        if not timm.is_model(model_name):
            raise ConfigError(
                f"timm has no model {model_name!r}; set detector.model_name to one of "
                "timm.list_models()"
            )
        self.model_name = model_name
        self.rgb = timm.create_model(model_name, num_classes=0, in_chans=int(in_chans))
        self.fad = FrequencyAwareDecomposition(int(image_size), bool(learnable_filters))
        self.frequency = timm.create_model(
            model_name, num_classes=0, in_chans=len(BANDS) * int(in_chans)
        )
        width = self.rgb.num_features + self.frequency.num_features
        self.head = nn.Sequential(nn.Dropout(float(drop_rate)), nn.Linear(width, 1))
        if pretrained_file:
            self.load_backbone(pretrained_file, pretrained_sha256)
        mean, std = input_normalisation(self.rgb, in_chans)
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)

    def load_backbone(self, path: str | os.PathLike[str], sha256: str | None = None) -> None:
        """Both streams start from one local backbone file (its classifier is dropped).

        Raises:
            CheckpointError: the file does not fit the backbone.
        """
        state = read_state_dict(path, sha256)
        for stream in (self.rgb, self.frequency):
            fitted = fit_backbone_state(
                stream,
                state,
                source=str(path),
                model_name=self.model_name,
                skip=head_keys(stream, state),
            )
            stream.load_state_dict(fitted, strict=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = (images - self.mean.to(images.dtype)) / self.std.to(images.dtype)
        features = torch.cat([self.rgb(x), self.frequency(self.fad(x))], dim=1)
        return self.head(features).squeeze(1)
