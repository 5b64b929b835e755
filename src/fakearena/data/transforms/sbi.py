"""Self-blended images (SBI) as a training augmentation: fakes made from real faces alone.

Shiohara and Yamasaki, "Detecting Deepfakes with Self-Blended Images", CVPR 2022,
https://arxiv.org/abs/2204.08376. A real face is blended with a slightly altered copy of
itself (colour and sharpness changed, shifted and rescaled a little) through a soft, deformed
face mask; the result carries the generic traces of a face swap (a blending boundary, a colour
and frequency mismatch) without any identity change, so a detector trained on these fakes
does not learn one generator's artefacts and generalises across datasets.

Written from the paper; differences: the paper's mask is the convex hull of 81 landmarks, here
a randomly placed and elastically deformed ellipse around the centre of the (aligned) face
crop, since manifests carry no dense landmarks; the paper alters either the source or the
target copy, here always the source, so a fake equals its real image outside its mask.
Draws come from torch's global generator in training (seeded per worker by Lightning) and from
a per-row generator for held-out splits, so validation is the same every epoch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from fakearena.data.datasets import float_images
from fakearena.data.transforms.augment import DetectorAugment, blur
from fakearena.data.transforms.sample import Sample, SampleTransform
from fakearena.data.transforms.warp import WarpParams, random_warp_offsets
from fakearena.errors import ConfigError

SOURCE_SBI = "sbi/self-blend"
HELD_OUT_POLICIES = ("auto", "always", "never")


def _uniform(low: float, high: float, generator: torch.Generator | None) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))


def _chance(p: float, generator: torch.Generator | None) -> bool:
    return p > 0 and float(torch.rand((), generator=generator)) < p


def _pair(name: str, value: Sequence[float], low: float, high: float) -> tuple[float, float]:
    pair = tuple(float(v) for v in value)
    if len(pair) != 2 or not (low <= pair[0] <= pair[1] <= high):
        raise ConfigError(
            f"augment.{name}={list(value)}: give [min, max] with {low} <= min <= max <= {high}"
        )
    return pair  # type: ignore[return-value]


class SelfBlend(SampleTransform):
    """Turns real training faces into self-blended fakes (label 1, with their blend mask).

    Args:
        p: probability that a real training sample becomes a self-blended fake.
        blend_ratios: the mask is scaled by one of these, drawn uniformly (the paper's list).
        mask_center: (x, y) of the mask ellipse as fractions of the crop.
        mask_jitter: the centre moves by up to this fraction of the side.
        mask_axes: [min, max] of the ellipse's x and y semi-axes, fractions of the side.
        elastic: strength of the mask's elastic deformation (control-point noise, fraction of
            the side).
        erode_sigma: [min, max] blur sigma of the erosion step, fraction of the side.
        soften_sigma: [min, max] blur sigma of the soft edge, fraction of the side.
        shift: largest (x, y) shift of the source copy, fractions of the side.
        scale: [min, max] scale of the source copy.
        post: augmentation applied afterwards to every training sample, real or fake (the
            paper's colour jitter and JPEG compression).
        held_out_fakes: `auto`: val/test splits without fakes get a self-blended fake of each
            real row (so checkpoints can be chosen on a run with real faces only); `always`;
            `never`.
        seed: seed of those held-out fakes (one generator per row).
    """

    def __init__(
        self,
        *,
        p: float = 0.5,
        blend_ratios: Sequence[float] = (0.25, 0.5, 0.75, 1.0, 1.0, 1.0),
        mask_center: Sequence[float] = (0.5, 0.52),
        mask_jitter: float = 0.04,
        mask_axes: Sequence[Sequence[float]] = ((0.26, 0.36), (0.32, 0.44)),
        elastic: float = 0.02,
        erode_sigma: Sequence[float] = (0.005, 0.018),
        soften_sigma: Sequence[float] = (0.006, 0.032),
        shift: Sequence[float] = (0.03, 0.015),
        scale: Sequence[float] = (0.95, 1.0 / 0.95),
        post: DetectorAugment | None = None,
        held_out_fakes: str = "auto",
        seed: int = 0,
    ):
        if not 0.0 <= float(p) <= 1.0:
            raise ConfigError(f"augment.p={p}: a probability must lie in [0, 1]")
        ratios = [float(r) for r in blend_ratios]
        if not ratios or not all(0.0 < r <= 1.0 for r in ratios):
            raise ConfigError(f"augment.blend_ratios={ratios}: give values in (0, 1]")
        if held_out_fakes not in HELD_OUT_POLICIES:
            raise ConfigError(
                f"augment.held_out_fakes={held_out_fakes!r}: use one of {list(HELD_OUT_POLICIES)}"
            )
        if len(mask_axes) != 2:
            raise ConfigError("augment.mask_axes: give [[x_min, x_max], [y_min, y_max]]")
        self.p = float(p)
        self.blend_ratios = tuple(ratios)
        self.mask_center = tuple(float(v) for v in mask_center)
        self.mask_jitter = float(mask_jitter)
        self.mask_axes = (
            _pair("mask_axes[0]", mask_axes[0], 0.01, 1.0),
            _pair("mask_axes[1]", mask_axes[1], 0.01, 1.0),
        )
        self.elastic = float(elastic)
        self.erode_sigma = _pair("erode_sigma", erode_sigma, 0.0, 0.1)
        self.soften_sigma = _pair("soften_sigma", soften_sigma, 0.0, 0.1)
        self.shift = tuple(float(v) for v in shift)
        self.scale = _pair("scale", scale, 0.5, 2.0)
        self.post = post
        self.held_out_fakes = held_out_fakes
        self.seed = int(seed)

    def blend(
        self, image: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(fake, mask): `image` (C, H, W) in [0, 1] blended with an altered copy of itself
        through `mask` (H, W) in [0, 1]; the fake equals `image` wherever the mask is 0."""
        height, width = image.shape[-2:]
        mask = self._mask(height, width, generator)
        source = _alter(image, generator)
        theta = self._affine(generator)
        grid = F.affine_grid(theta, [1, 1, height, width], align_corners=False)
        source = F.grid_sample(source[None], grid, padding_mode="border", align_corners=False)[0]
        mask = F.grid_sample(mask[None, None], grid, align_corners=False)[0, 0]
        mask = self._soften(mask, height, generator)
        pick = int(torch.randint(len(self.blend_ratios), (), generator=generator))
        mask = mask * self.blend_ratios[pick]
        fake = image + mask * (source.clamp(0.0, 1.0) - image)
        return fake, mask

    def _mask(self, height: int, width: int, generator: torch.Generator | None) -> torch.Tensor:
        """A hard ellipse around the face, randomly placed, sized and elastically deformed."""
        cx = self.mask_center[0] + _uniform(-self.mask_jitter, self.mask_jitter, generator)
        cy = self.mask_center[1] + _uniform(-self.mask_jitter, self.mask_jitter, generator)
        ax = _uniform(*self.mask_axes[0], generator)
        ay = _uniform(*self.mask_axes[1], generator)
        ys = (torch.arange(height, dtype=torch.float32) + 0.5) / height
        xs = (torch.arange(width, dtype=torch.float32) + 0.5) / width
        inside = ((xs[None, :] - cx) / ax) ** 2 + ((ys[:, None] - cy) / ay) ** 2 <= 1.0
        mask = inside.float()
        if self.elastic > 0:
            offsets = random_warp_offsets(
                1, height, width, WarpParams(points=5, scale=self.elastic), generator
            )
            grid = _identity_grid(height, width) + offsets
            mask = F.grid_sample(mask[None, None], grid, align_corners=False)[0, 0]
        return mask

    def _affine(self, generator: torch.Generator | None) -> torch.Tensor:
        """(1, 2, 3) sampling matrix of the source copy's shift and scale."""
        scale = _uniform(*self.scale, generator)
        # normalised coordinates span 2 units per side: a shift fraction f is 2f units
        tx = 2.0 * _uniform(-self.shift[0], self.shift[0], generator)
        ty = 2.0 * _uniform(-self.shift[1], self.shift[1], generator)
        return torch.tensor([[[1.0 / scale, 0.0, tx], [0.0, 1.0 / scale, ty]]])

    def _soften(self, mask: torch.Tensor, side: int, generator: torch.Generator | None):
        """The paper's blend mask: blur and keep the core (an erosion), blur again, rescale."""
        eroded = _blur_mask(mask, _uniform(*self.erode_sigma, generator) * side)
        eroded = (eroded >= 0.999 * float(eroded.max())).float() * (mask > 0).float()
        if float(eroded.max()) <= 0:
            eroded = mask
        soft = _blur_mask(eroded, _uniform(*self.soften_sigma, generator) * side)
        peak = float(soft.max())
        return soft / peak if peak > 0 else soft

    def transform_sample(self, sample: Sample) -> Sample:
        out = dict(sample)
        if "label" in sample and int(sample["label"]) == 0 and _chance(self.p, None):
            out = self.blend_sample(out, None)
        return self.post.transform_sample(out) if self.post is not None else out

    def blend_sample(self, sample: Sample, generator: torch.Generator | None) -> Sample:
        """`sample` as a self-blended fake: new image, label 1, and its mask if it has one."""
        fake, mask = self.blend(sample["image"], generator)
        out = {**sample, "image": fake, "label": torch.ones_like(torch.as_tensor(sample["label"]))}
        if "mask" in sample:
            out["mask"] = mask[None]
            out["has_mask"] = torch.tensor(True)
        return out

    def held_out(self, dataset: Dataset) -> Dataset:
        labels = np.asarray(dataset.labels)  # type: ignore[attr-defined]
        wanted = self.held_out_fakes == "always" or (
            self.held_out_fakes == "auto" and not (labels == 1).any()
        )
        if not wanted or not (labels == 0).any():
            return dataset
        return SelfBlendedRows(dataset, self)


class SelfBlendedRows(Dataset):
    """A held-out split's rows followed by one self-blended fake of each real row.

    The fakes are rows of the dataset's manifest too (label 1, source `sbi/self-blend`,
    video_id `sbi/<video_id>`), each drawn from its own seeded generator: the same fakes
    every epoch and every run.
    """

    def __init__(self, base: Dataset, blend: SelfBlend):
        self.base = base
        self.blender = blend
        manifest = base.manifest  # type: ignore[attr-defined]
        self.reals = np.flatnonzero(np.asarray(base.labels) == 0)  # type: ignore[attr-defined]
        fakes = manifest.frame.iloc[self.reals].copy()
        fakes["label"] = 1
        fakes["source"] = SOURCE_SBI
        fakes["video_id"] = "sbi/" + fakes["video_id"].astype(str)
        frame = pd.concat([manifest.frame, fakes], ignore_index=True)
        self.manifest = replace(manifest, frame=frame)
        self._labels = frame["label"].to_numpy(dtype=np.int64)

    def __len__(self) -> int:
        return len(self._labels)

    @property
    def labels(self) -> np.ndarray:
        return self._labels

    def __getitem__(self, index: int) -> dict[str, Any] | None:
        n_base = len(self.base)  # type: ignore[arg-type]
        if index < n_base:
            return _float_sample(self.base[index])
        row = int(self.reals[index - n_base])
        sample = _float_sample(self.base[row])
        if sample is None or "image" not in sample:
            return {"skipped": index}
        generator = torch.Generator().manual_seed(self.blender.seed * 1_000_003 + row)
        sample = self.blender.blend_sample(sample, generator)
        sample["index"] = torch.tensor(index)
        return sample


def _float_sample(sample: dict[str, Any] | None) -> dict[str, Any] | None:
    """A base row's sample with a float [0, 1] image (the blend works on floats, and every
    sample of one batch must share a dtype)."""
    if sample is None or "image" not in sample:
        return sample
    return {**sample, "image": float_images(sample["image"])}


def _alter(image: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """The source copy: colour shift, brightness and contrast, then a downscale or a sharpen."""
    out = image
    if _chance(0.3, generator):
        shift = (torch.rand(image.shape[0], 1, 1, generator=generator) - 0.5) * (40.0 / 255.0)
        out = out + shift
    brightness = _uniform(-0.1, 0.1, generator)
    contrast = _uniform(0.9, 1.1, generator)
    mean = out.mean(dim=(-2, -1), keepdim=True)
    out = ((out - mean) * contrast + mean + brightness).clamp(0.0, 1.0)
    height, width = image.shape[-2:]
    if _chance(0.5, generator):
        factor = 2 if _chance(0.5, generator) else 4
        small = (max(1, height // factor), max(1, width // factor))
        down = F.interpolate(out[None], size=small, mode="nearest")
        out = F.interpolate(down, size=(height, width), mode="bilinear", align_corners=False)[0]
    else:
        alpha = _uniform(0.2, 0.5, generator)
        out = out + alpha * (out - blur(out, 1.0))
    return out.clamp(0.0, 1.0)


def _blur_mask(mask: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of an (H, W) mask (no change for sigma below 0.1 pixel)."""
    if sigma < 0.1:
        return mask
    return blur(mask[None], sigma)[0]


def _identity_grid(height: int, width: int) -> torch.Tensor:
    """(1, H, W, 2) sampling grid that reproduces an image (pixel centres)."""
    eye = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    return F.affine_grid(eye, [1, 1, height, width], align_corners=False)
