"""The face-swap autoencoder: one encoder shared by all identities, one decoder per identity.

Architecture family of the original deepfakes model: strided 5x5 convolutions with leaky ReLU
down to 4x4, a dense bottleneck, a dense layer back to 4x4 and one pixel-shuffle upscale (all
shared), then per-identity decoders of pixel-shuffle upscale blocks and a 5x5 convolution
with a sigmoid. `width=128` gives the original 64x64 model (128-256-512-1024 channels, a
1024-d bottleneck, 256-128-64 decoder channels); the CPU default is narrower.
`norm="batch"` adds batch normalisation after every convolution but the last (not in the
original): on a CPU budget of a few hundred steps it learns the faces' features several
times sooner. `decoder_norm` sets the decoders' own normalisation apart from the shared
part's: a decoder sees only its person's faces of a batch (one face of each person in a
batch of all people), so its batch norm normalises that one face by its own statistics in
training but by running averages at test time; "instance" (per face and channel, as batch
norm of one face, in training and at test time alike) and "group" (per face, over groups of
channels) do not depend on the batch.

Face-swap network contract (what `fakearena.tasks.faceswap` relies on):
    `encode(images)` maps (B,3,H,W) in [0,1] to a latent; `decode(latent, k)` maps it back to
    (B,3,H,W) in [0,1] with decoder `k`; `forward(images, k)` does both; attributes
    `n_decoders` (1 means one decoder shared by all identities) and `image_size`.
    A network with `predicts_mask` true also has `decode_with_mask(latent, k)`, giving the
    RGB and a (B,1,H,W) face mask in [0, 1] (where the decoded face belongs), as DeepFaceLab's
    SAEHD decoders do.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from fakearena.errors import ConfigError
from fakearena.models.generators.faceswap_shared_decoder import SharedDecoder

DECODERS = ("separate", "shared")
NORMS = ("none", "batch", "group", "instance")
GROUPS = 8  # norm="group": channels per group = channels / 8 (fewer groups when fewer channels)


def norm_layer(channels: int, norm: str) -> nn.Module | None:
    """The normalisation after a hidden convolution of `channels` outputs (None: none)."""
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "group":
        return nn.GroupNorm(math.gcd(GROUPS, channels), channels)
    if norm == "instance":  # per face and channel, with a learned affine, as InstanceNorm2d
        return nn.GroupNorm(channels, channels)
    return None


def _normed(conv: nn.Conv2d, norm: str) -> list[nn.Module]:
    layer = norm_layer(conv.out_channels, norm)
    return [conv] if layer is None else [conv, layer]


def _down(c_in: int, c_out: int, norm: str = "none") -> nn.Sequential:
    conv = nn.Conv2d(c_in, c_out, 5, stride=2, padding=2)
    return nn.Sequential(*_normed(conv, norm), nn.LeakyReLU(0.1))


def _up(c_in: int, c_out: int, norm: str = "none") -> nn.Sequential:
    """Pixel-shuffle upscale: 3x3 conv to 4x the channels, leaky ReLU, 2x depth-to-space."""
    conv = nn.Conv2d(c_in, 4 * c_out, 3, padding=1)
    return nn.Sequential(*_normed(conv, norm), nn.LeakyReLU(0.1), nn.PixelShuffle(2))


def check_decoder(index: int, n_decoders: int) -> None:
    if not 0 <= int(index) < n_decoders:
        raise IndexError(f"decoder {index} does not exist; this network has {n_decoders}")


class FaceSwapAE(nn.Module):
    """Shared encoder + `n_decoders` decoders for square RGB faces.

    Args:
        image_size: side in pixels, a power of two >= 32 (64 default, 128 configurable).
        n_decoders: number of identities (one decoder each).
        width: channels of the first convolution (128 in the original; a multiple of 4).
        latent_dim: size of the dense bottleneck (default 8 * width, as in the original).
        norm: normalisation after each hidden convolution: "none" (the original), "batch",
            "group" (GroupNorm, 8 groups) or "instance" (per face and channel).
        decoder_norm: the decoders' normalisation (same choices; None: as `norm`); `norm`
            then applies to the shared encoder only.
        mask: each decoder also predicts the face mask (a fourth, sigmoid output channel).
        decoders: "separate" (one decoder per identity, the original) or "shared" (one
            decoder for all, with per-identity maps and instance-norm affines:
            `faceswap_shared_decoder`; its norm is that, so `decoder_norm` must be null or
            "instance").
    """

    def __init__(
        self,
        *,
        image_size: int = 64,
        n_decoders: int = 2,
        width: int = 32,
        latent_dim: int | None = None,
        norm: str = "none",
        decoder_norm: str | None = None,
        mask: bool = False,
        decoders: str = "separate",
    ):
        super().__init__()
        image_size, width = int(image_size), int(width)
        if image_size < 32 or image_size & (image_size - 1):
            raise ConfigError(
                f"generator.image_size={image_size}: the face-swap autoencoder needs a power "
                "of two >= 32 (64 or 128); set data.image_size to match"
            )
        if width < 4 or width % 4:
            raise ConfigError(f"generator.width={width} must be a positive multiple of 4")
        if norm not in NORMS:
            raise ConfigError(f"generator.norm={norm!r}; use one of {list(NORMS)}")
        if decoder_norm is not None and decoder_norm not in NORMS:
            raise ConfigError(
                f"generator.decoder_norm={decoder_norm!r}; use one of {list(NORMS)} "
                "(or null: the same as generator.norm)"
            )
        if decoders not in DECODERS:
            raise ConfigError(f"generator.decoders={decoders!r}; use one of {list(DECODERS)}")
        if decoders == "shared" and decoder_norm not in (None, "instance"):
            raise ConfigError(
                f"generator.decoders=shared normalises per face with a per-person affine; "
                f"generator.decoder_norm={decoder_norm!r} does not apply (set it to null)"
            )
        decoder_norm = norm if decoder_norm is None else decoder_norm
        if int(n_decoders) < 1:
            raise ConfigError(f"generator.n_decoders={n_decoders} must be at least 1")
        self.image_size = image_size
        self.n_decoders = int(n_decoders)
        self.predicts_mask = bool(mask)
        latent_dim = int(latent_dim or 8 * width)
        n_down = int(math.log2(image_size)) - 2  # down to 4x4
        channels = [min(width * 2**i, 8 * width) for i in range(n_down)]
        self.encoder = nn.Sequential(
            *[_down(c_in, c_out, norm) for c_in, c_out in zip([3, *channels[:-1]], channels)],
            nn.Flatten(),
            nn.Linear(channels[-1] * 16, latent_dim),
            nn.Linear(latent_dim, 16 * latent_dim),
            nn.Unflatten(1, (latent_dim, 4, 4)),
            _up(latent_dim, 4 * width, norm),  # shared 8x8 feature map, as in the original
        )
        n_up = n_down - 1  # 8x8 -> image_size
        dec = [max(2 * width // 2**i, 1) for i in range(n_up)]
        out = 4 if self.predicts_mask else 3
        self.shared_decoder = decoders == "shared"
        if self.shared_decoder:
            self.decoders = nn.ModuleList([SharedDecoder([4 * width, *dec], out, self.n_decoders)])
        else:
            self.decoders = nn.ModuleList(
                nn.Sequential(
                    *[
                        _up(c_in, c_out, decoder_norm)
                        for c_in, c_out in zip([4 * width, *dec[:-1]], dec)
                    ],
                    nn.Conv2d(dec[-1], out, 5, padding=2),
                    nn.Sigmoid(),
                )
                for _ in range(self.n_decoders)
            )

    def _decoded(self, latent: torch.Tensor, decoder: int) -> torch.Tensor:
        check_decoder(decoder, self.n_decoders)
        if self.shared_decoder:
            return self.decoders[0](latent, int(decoder))
        return self.decoders[int(decoder)](latent)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.encoder(images)

    def decode(self, latent: torch.Tensor, decoder: int) -> torch.Tensor:
        """(B,3,H,W) RGB in [0, 1] of decoder `decoder`."""
        return self._decoded(latent, decoder)[:, :3]

    def decode_with_mask(
        self, latent: torch.Tensor, decoder: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B,3,H,W) RGB and (B,1,H,W) face mask, both in [0, 1] (needs `mask=True`)."""
        if not self.predicts_mask:
            raise ConfigError(
                "this face-swap network predicts no mask; build it with generator.mask=true"
            )
        out = self._decoded(latent, decoder)
        return out[:, :3], out[:, 3:]

    def forward(self, images: torch.Tensor, decoder: int = 0) -> torch.Tensor:
        return self.decode(self.encode(images), decoder)
