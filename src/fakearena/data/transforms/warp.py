"""Face-swap augmentation on tensors: random affine + flip, then a random warp of the input.

The autoencoder sees a warped face and must reproduce the unwarped one (the target), which
forces the shared encoder to learn the face, not the pixel grid. All random draws come from
the `torch.Generator` passed in (on the CPU), so the same seed gives the same batch on any
device. Images are float (B,C,H,W); shapes are preserved.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from fakearena.errors import ConfigError


@dataclass(frozen=True)
class AffineParams:
    """Ranges of the random similarity transform applied to input and target alike.

    Attributes:
        rotation: maximum rotation in degrees (uniform in [-rotation, rotation]).
        zoom: maximum relative scale change (scale uniform in [1 - zoom, 1 + zoom]).
        shift: maximum translation as a fraction of the image side.
        flip: probability of a horizontal flip.
    """

    rotation: float = 10.0
    zoom: float = 0.05
    shift: float = 0.05
    flip: float = 0.5


@dataclass(frozen=True)
class WarpParams:
    """The random warp: Gaussian noise on a coarse grid of control points, densely interpolated.

    Attributes:
        points: control points per side (the original deepfakes warp uses 5).
        scale: standard deviation of the control-point noise as a fraction of the image side.
    """

    points: int = 5
    scale: float = 0.02


def _check(affine: AffineParams, warp: WarpParams) -> None:
    if warp.points < 2:
        raise ConfigError(f"task.augment.warp_points={warp.points}: need at least 2 per side")
    if warp.scale < 0 or affine.rotation < 0 or affine.zoom < 0 or affine.shift < 0:
        raise ConfigError(
            "augmentation ranges (warp.scale, affine.rotation/zoom/shift) must be >= 0, got "
            f"{warp} {affine}"
        )
    if not 0.0 <= affine.flip <= 1.0:
        raise ConfigError(f"affine.flip is a probability in [0, 1], got {affine.flip}")


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)


def random_affine(batch: int, params: AffineParams, generator: torch.Generator) -> torch.Tensor:
    """(batch, 2, 3) sampling matrices for `F.affine_grid` (normalised coordinates)."""
    angle = torch.deg2rad(_uniform(batch, -params.rotation, params.rotation, generator))
    scale = _uniform(batch, 1.0 - params.zoom, 1.0 + params.zoom, generator)
    # normalised coordinates span 2 units per side, so a shift fraction f is 2f units
    shift = _uniform(2 * batch, -2 * params.shift, 2 * params.shift, generator).view(batch, 2)
    flip = torch.rand(batch, generator=generator, dtype=torch.float64) < params.flip
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    theta[:, :, 0] = torch.where(flip[:, None], -theta[:, :, 0], theta[:, :, 0])
    return theta.float()


def random_warp_offsets(
    batch: int, height: int, width: int, params: WarpParams, generator: torch.Generator
) -> torch.Tensor:
    """(batch, H, W, 2) dense offsets in normalised coordinates from noisy control points."""
    noise = torch.randn(
        batch, 2, params.points, params.points, generator=generator, dtype=torch.float64
    )
    noise = (2.0 * params.scale) * noise.float()
    dense = F.interpolate(noise, size=(height, width), mode="bicubic", align_corners=True)
    return dense.permute(0, 2, 3, 1)


def _sample(images: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    return F.grid_sample(
        images, grid, mode="bilinear", padding_mode="reflection", align_corners=False
    )


def identity_grid(batch: int, height: int, width: int, device: torch.device) -> torch.Tensor:
    """The sampling grid that reproduces the image (pixel centres, align_corners=False)."""
    eye = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], device=device).expand(batch, 2, 3)
    return F.affine_grid(eye, [batch, 1, height, width], align_corners=False)


def augment_pair(
    images: torch.Tensor,
    generator: torch.Generator,
    affine: AffineParams | None = None,
    warp: WarpParams | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(warped input, target) for the autoencoder from a batch of faces.

    The target is the image after a random affine transform and flip; the input is the
    target after a further random warp. Values stay in the input's range (bilinear sampling
    with reflected borders).
    """
    affine = affine or AffineParams()
    warp = warp or WarpParams()
    _check(affine, warp)
    if images.ndim != 4:
        raise ValueError(f"augment_pair expects (B,C,H,W) images, got shape {tuple(images.shape)}")
    batch, _, height, width = images.shape
    theta = random_affine(batch, affine, generator).to(images.device)
    grid = F.affine_grid(theta, [batch, 1, height, width], align_corners=False)
    targets = _sample(images, grid)
    offsets = random_warp_offsets(batch, height, width, warp, generator).to(images.device)
    inputs = _sample(targets, identity_grid(batch, height, width, images.device) + offsets)
    return inputs, targets


def seeded_generator(*keys: int) -> torch.Generator:
    """A CPU generator seeded from several integers (e.g. run seed, step, rank)."""
    seed = 0
    for key in keys:
        seed = (seed * 1_000_003 + int(key) + 1) % (2**63 - 1)
    return torch.Generator().manual_seed(seed)
