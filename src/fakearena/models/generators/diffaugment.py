"""DiffAugment (Zhao et al., NeurIPS 2020): differentiable augmentations of D's inputs.

Applied to real and generated images alike before the discriminator, so D cannot memorise a
small training set and G still receives gradients through the augmentation. Policies follow
the reference implementation on images in [-1, 1]: `color` (brightness, saturation,
contrast), `translation` (shift by up to 1/8 of the side, zero padded) and `cutout` (a zeroed
square of half the side). Randomness comes from torch's global generator (seeded per run).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from fakearena.errors import ConfigError


def _brightness(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5)


def _saturation(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=1, keepdim=True)
    scale = torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) * 2
    return (x - mean) * scale + mean


def _contrast(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    scale = torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5
    return (x - mean) * scale + mean


def _translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    batch, _, height, width = x.shape
    shift_h, shift_w = int(height * ratio + 0.5), int(width * ratio + 0.5)
    dy = torch.randint(-shift_h, shift_h + 1, (batch, 1, 1), device=x.device)
    dx = torch.randint(-shift_w, shift_w + 1, (batch, 1, 1), device=x.device)
    grid_b, grid_y, grid_x = torch.meshgrid(
        torch.arange(batch, device=x.device),
        torch.arange(height, device=x.device),
        torch.arange(width, device=x.device),
        indexing="ij",
    )
    grid_y = torch.clamp(grid_y + dy + 1, 0, height + 1)
    grid_x = torch.clamp(grid_x + dx + 1, 0, width + 1)
    padded = F.pad(x, [1, 1, 1, 1])
    return padded.permute(0, 2, 3, 1)[grid_b, grid_y, grid_x].permute(0, 3, 1, 2).contiguous()


def _cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    batch, _, height, width = x.shape
    cut_h, cut_w = int(height * ratio + 0.5), int(width * ratio + 0.5)
    off_y = torch.randint(0, height + (1 - cut_h % 2), (batch, 1, 1), device=x.device)
    off_x = torch.randint(0, width + (1 - cut_w % 2), (batch, 1, 1), device=x.device)
    grid_b, grid_y, grid_x = torch.meshgrid(
        torch.arange(batch, device=x.device),
        torch.arange(cut_h, device=x.device),
        torch.arange(cut_w, device=x.device),
        indexing="ij",
    )
    grid_y = torch.clamp(grid_y + off_y - cut_h // 2, 0, height - 1)
    grid_x = torch.clamp(grid_x + off_x - cut_w // 2, 0, width - 1)
    mask = torch.ones(batch, height, width, device=x.device, dtype=x.dtype)
    mask[grid_b, grid_y, grid_x] = 0
    return x * mask.unsqueeze(1)


POLICIES = {
    "color": (_brightness, _saturation, _contrast),
    "translation": (_translation,),
    "cutout": (_cutout,),
}


class DiffAugment:
    """Callable applying the named policies in order, e.g. `DiffAugment(["color", "cutout"])`."""

    def __init__(self, policies: Sequence[str] = ("color", "translation", "cutout")):
        unknown = [p for p in policies if p not in POLICIES]
        if unknown:
            raise ConfigError(
                f"unknown DiffAugment policy {unknown}; policies are {sorted(POLICIES)}"
            )
        self.policies = list(policies)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        for policy in self.policies:
            for function in POLICIES[policy]:
                images = function(images)
        return images
