"""Robustness perturbations for evaluation: JPEG, blur, down-and-up resizing, Gaussian noise.

Each kind has a ladder of levels from mild to severe; severity 0 is the clean image. A
perturbation maps one float (C, H, W) image in [0, 1] to another of the same shape; noise is
drawn from a generator seeded by (seed, row index), so the same row gets the same noise in
every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from fakearena.data.datasets import float_images
from fakearena.data.transforms.augment import blur, jpeg
from fakearena.errors import ConfigError


@dataclass(frozen=True)
class PerturbKind:
    """One kind of perturbation: what its level means and its default ladder."""

    name: str
    level_name: str
    levels: tuple[float, ...]
    low: float
    high: float


PERTURBATIONS = {
    "jpeg": PerturbKind("jpeg", "quality", (90, 70, 50, 30, 10), 1, 100),
    "blur": PerturbKind("blur", "sigma", (0.5, 1.0, 2.0, 3.0, 4.0), 0.0, 50.0),
    "resize": PerturbKind("resize", "scale", (0.75, 0.5, 0.35, 0.25, 0.15), 0.01, 1.0),
    "noise": PerturbKind("noise", "std", (0.01, 0.02, 0.05, 0.1, 0.2), 0.0, 1.0),
}


def perturb_kind(name: str) -> PerturbKind:
    """The perturbation called `name`; an unknown name lists the known ones."""
    if name not in PERTURBATIONS:
        raise ConfigError(f"perturb={name!r}: choose one of {', '.join(PERTURBATIONS)}")
    return PERTURBATIONS[name]


def check_levels(kind: PerturbKind, levels: Sequence[float] | None) -> tuple[float, ...]:
    """The levels to run (the kind's defaults when None), each checked against its range."""
    chosen = tuple(float(v) for v in (levels if levels else kind.levels))
    for value in chosen:
        if not kind.low <= value <= kind.high:
            raise ConfigError(
                f"perturb_levels: {kind.level_name} {value} is outside [{kind.low}, {kind.high}] "
                f"for perturb={kind.name}"
            )
    return chosen


def apply_perturbation(
    image: torch.Tensor, kind: str, level: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """`image` (C, H, W) in [0, 1] perturbed by `kind` at `level`."""
    if kind == "jpeg":
        return jpeg(image, round(level))
    if kind == "blur":
        return image if level <= 0 else blur(image, level).clamp(0.0, 1.0)
    if kind == "resize":
        height, width = image.shape[-2:]
        small = (max(1, round(height * level)), max(1, round(width * level)))
        down = F.interpolate(image[None], size=small, mode="bilinear", antialias=True)
        return F.interpolate(down, size=(height, width), mode="bilinear")[0].clamp(0.0, 1.0)
    if kind == "noise":
        noise = torch.randn(image.shape, generator=generator, dtype=image.dtype)
        return (image + level * noise).clamp(0.0, 1.0)
    raise ConfigError(f"perturb={kind!r}: choose one of {', '.join(PERTURBATIONS)}")


class PerturbedDataset(Dataset):
    """A dataset of dict samples whose `image` is perturbed, deterministically per row."""

    def __init__(self, base: Dataset, kind: str, level: float, seed: int = 0):
        perturb_kind(kind)
        self.base, self.kind, self.level, self.seed = base, kind, float(level), int(seed)

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    @property
    def manifest(self):
        """The base dataset's manifest (rows are not reordered)."""
        return self.base.manifest  # type: ignore[attr-defined]

    def __getitem__(self, index: int):
        sample = self.base[index]
        if sample is not None and "image" in sample:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + int(index))
            sample = dict(sample)
            image = float_images(sample["image"])
            sample["image"] = apply_perturbation(image, self.kind, self.level, generator)
        return sample
