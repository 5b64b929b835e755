"""SRM noise residuals as a detector's input stream.

The spatial rich model of steganalysis (Fridrich and Kodovsky, "Rich Models for Steganalysis
of Digital Images", IEEE TIFS 2012, https://doi.org/10.1109/TIFS.2012.2190402) describes an
image by high-pass residuals (the image minus a prediction of each pixel from its neighbours),
truncated to a few grey levels: what is left is sensor noise and processing traces, not content.
Luo et al. ("Generalizing Face Forgery Detection with High-frequency Features", CVPR 2021,
https://arxiv.org/abs/2103.12376) feed three of those residuals to a detector beside the RGB
image: the KB kernel (3x3 second-order, both directions), the KV kernel (5x5 fourth order)
and a horizontal second-order difference, summed over the channels of the normalised image and
truncated at 3 in those units; blending, resampling and GAN up-sampling leave
different noise than a camera does, and the residuals keep that where colour statistics move.

`detector=srm` is an Xception on the image and its residuals (Luo et al.'s backbone, the two
streams stacked at the input); any timm backbone takes `detector.input_stream=srm|rgb+srm`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from fakearena.errors import ConfigError

INPUT_STREAMS = ("rgb", "srm", "rgb+srm")
SRM_CHANNELS = 3


def srm_kernels() -> torch.Tensor:
    """(3, 5, 5) residual kernels KB/4, KV/12 and the horizontal second difference /2; each
    sums to 0, so a flat image has no residual."""
    kb = torch.tensor(
        [
            [0, 0, 0, 0, 0],
            [0, -1, 2, -1, 0],
            [0, 2, -4, 2, 0],
            [0, -1, 2, -1, 0],
            [0, 0, 0, 0, 0],
        ],
        dtype=torch.float32,
    )
    kv = torch.tensor(
        [
            [-1, 2, -2, 2, -1],
            [2, -6, 8, -6, 2],
            [-2, 8, -12, 8, -2],
            [2, -6, 8, -6, 2],
            [-1, 2, -2, 2, -1],
        ],
        dtype=torch.float32,
    )
    horizontal = torch.zeros(5, 5)
    horizontal[2, 1:4] = torch.tensor([1.0, -2.0, 1.0])
    return torch.stack([kb / 4.0, kv / 12.0, horizontal / 2.0])


class SRMResidual(nn.Module):
    """(B, C, H, W) normalised images -> (B, 3, H, W) SRM residuals truncated at +-T.

    As Luo et al.'s SRM layer (and DeepfakeBench's `SRMConv2d_simple`): each kernel is applied to
    every channel of the *normalised* image (the backbone's mean/std) and summed over channels,
    then truncated to [-T, T] with T = 3 in those normalised units. The filters are fixed.

    Args:
        truncation: T in normalised units (Luo et al.: 3).
    """

    def __init__(self, truncation: float = 3.0):
        super().__init__()
        if truncation <= 0:
            raise ConfigError(f"SRM truncation must be positive, got {truncation}")
        self.truncation = float(truncation)
        self.register_buffer("kernels", srm_kernels()[:, None], persistent=False)

    def forward(self, normalised: torch.Tensor) -> torch.Tensor:
        channels = normalised.shape[1]
        kernels = self.kernels.to(normalised.dtype).expand(-1, channels, -1, -1)
        residual = F.conv2d(normalised, kernels, padding=2)
        return residual.clamp(-self.truncation, self.truncation)


class InputStream(nn.Module):
    """What a backbone sees: the normalised image, its SRM residuals, or both stacked.

    The residuals are those of the normalised image (the backbone's mean/std), as Luo et al.

    Args:
        kind: `rgb`, `srm` or `rgb+srm`.
        in_chans: channels of the images.
    """

    def __init__(self, kind: str, in_chans: int):
        super().__init__()
        if kind not in INPUT_STREAMS:
            raise ConfigError(
                f"detector.input_stream={kind!r}; choose one of {', '.join(INPUT_STREAMS)}"
            )
        self.kind = kind
        self.in_chans = int(in_chans)
        self.srm = SRMResidual() if kind != "rgb" else None
        self.register_buffer("mean", torch.full((1, in_chans, 1, 1), 0.5), persistent=False)
        self.register_buffer("std", torch.full((1, in_chans, 1, 1), 0.5), persistent=False)

    @property
    def out_channels(self) -> int:
        """Channels handed to the backbone."""
        return {"rgb": self.in_chans, "srm": SRM_CHANNELS}.get(
            self.kind, self.in_chans + SRM_CHANNELS
        )

    def set_normalisation(self, mean: Sequence[float], std: Sequence[float]) -> None:
        """The backbone's own mean/std for the image part (averaged for other channel counts)."""
        mean_t = torch.tensor(tuple(mean), dtype=torch.float32)
        std_t = torch.tensor(tuple(std), dtype=torch.float32)
        if mean_t.numel() != self.in_chans:
            mean_t = mean_t.mean().repeat(self.in_chans)
            std_t = std_t.mean().repeat(self.in_chans)
        self.mean.copy_(mean_t.view(1, -1, 1, 1))
        self.std.copy_(std_t.view(1, -1, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        normalised = (images - self.mean.to(images.dtype)) / self.std.to(images.dtype)
        if self.srm is None:
            return normalised
        residual = self.srm(normalised)
        if self.kind == "srm":
            return residual
        return torch.cat([normalised, residual], dim=1)
