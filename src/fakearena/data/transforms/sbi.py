"""Self-blended images (SBI) as a training augmentation: fakes made from real faces alone.

Shiohara and Yamasaki, "Detecting Deepfakes with Self-Blended Images", CVPR 2022,
https://arxiv.org/abs/2204.08376. A real face is blended with a slightly altered copy of
itself (colour and sharpness changed, shifted and rescaled a little) through a soft, deformed
face mask; the result carries the generic traces of a face swap (a blending boundary, a colour
and frequency mismatch) without any identity change, so a detector trained on these fakes
does not learn one generator's artefacts and generalises across datasets.

Written from the paper and the authors' code. The mask is a landmark hull where the row has
68-point landmarks (`landmarks68`, from `faces extract`): one of the authors' hull kinds
(`fakearena.data.transforms.face_masks`; they use 81 points, the 68-point markup lacks the
forehead, which the `extended` hull adds back from the brows), elastically deformed, with the
source copy and the mask shifted and rescaled together (the authors' random affine). Rows
without landmarks (synthetic faces, crops whose landmarks failed) get a random star-shaped
polygon instead (`mask=auto`), so no mask imitates a generator's paste-back by construction;
`mask=hull` refuses rows without landmarks, `mask=random` ignores landmarks. Other difference:
the paper alters either the source or the target copy, here always the source, so a fake
equals its real image outside its mask.
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
from fakearena.data.transforms.draws import chance, config_range, uniform
from fakearena.data.transforms.face_masks import (
    HULL_KINDS,
    MASK_MODES,
    elastic_deform,
    landmark_hull_mask,
    random_shape_mask,
)
from fakearena.data.transforms.sample import Sample, SampleTransform
from fakearena.errors import ConfigError, DataError

SOURCE_SBI = "sbi/self-blend"
HELD_OUT_POLICIES = ("auto", "always", "never")


class SelfBlend(SampleTransform):
    """Turns real training faces into self-blended fakes (label 1, with their blend mask).

    Args:
        p: probability that a real training sample becomes a self-blended fake.
        blend_ratios: the mask is scaled by one of these, drawn uniformly (the paper's list).
        mask: `auto` (landmark hull where the row has landmarks, else a random shape),
            `hull` (landmarks required) or `random`.
        hull_kinds: the hull kinds drawn from (`face_masks.HULL_KINDS`).
        random_center: [min, max] of a random shape's centre, x and y, fractions of the side.
        random_radius: [min, max] of a random shape's vertex radii, fractions of the side.
        random_vertices: [min, max] vertex count of a random shape.
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
        mask: str = "auto",
        hull_kinds: Sequence[str] = HULL_KINDS,
        random_center: Sequence[float] = (0.3, 0.7),
        random_radius: Sequence[float] = (0.12, 0.42),
        random_vertices: Sequence[int] = (5, 12),
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
            raise ConfigError(f"data.train_transform.p={p}: a probability must lie in [0, 1]")
        ratios = [float(r) for r in blend_ratios]
        if not ratios or not all(0.0 < r <= 1.0 for r in ratios):
            raise ConfigError(f"data.train_transform.blend_ratios={ratios}: give values in (0, 1]")
        if held_out_fakes not in HELD_OUT_POLICIES:
            raise ConfigError(
                f"data.train_transform.held_out_fakes={held_out_fakes!r}: use one of "
                f"{list(HELD_OUT_POLICIES)}"
            )
        if mask not in MASK_MODES:
            raise ConfigError(f"data.train_transform.mask={mask!r}: use one of {list(MASK_MODES)}")
        unknown = sorted(set(hull_kinds) - set(HULL_KINDS))
        if unknown or not hull_kinds:
            raise ConfigError(
                f"data.train_transform.hull_kinds={list(hull_kinds)}: give some of "
                f"{list(HULL_KINDS)}"
            )
        self.p = float(p)
        self.blend_ratios = tuple(ratios)
        self.mask = mask
        self.hull_kinds = tuple(hull_kinds)
        self.random_center = config_range("random_center", random_center, 0.0, 1.0)
        self.random_radius = config_range("random_radius", random_radius, 0.01, 1.0)
        low, high = (int(v) for v in random_vertices)
        if not 3 <= low <= high:
            raise ConfigError(
                f"data.train_transform.random_vertices={list(random_vertices)}: 3 <= min <= max"
            )
        self.random_vertices = (low, high)
        self.elastic = float(elastic)
        self.erode_sigma = config_range("erode_sigma", erode_sigma, 0.0, 0.1)
        self.soften_sigma = config_range("soften_sigma", soften_sigma, 0.0, 0.1)
        self.shift = tuple(float(v) for v in shift)
        self.scale = config_range("scale", scale, 0.5, 2.0)
        self.post = post
        self.held_out_fakes = held_out_fakes
        self.seed = int(seed)

    uses_landmarks = True  # datasets hand samples their rows' landmarks
    makes_blend_masks = True  # its fakes carry their blend masks (Face X-ray can learn them)

    def blend(
        self,
        image: torch.Tensor,
        generator: torch.Generator | None = None,
        landmarks: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(fake, mask): `image` (C, H, W) in [0, 1] blended with an altered copy of itself
        through `mask` (H, W) in [0, 1]; the fake equals `image` wherever the mask is 0.
        `landmarks`: (68, 2) in the image's pixels (None or NaN: none)."""
        height, width = image.shape[-2:]
        mask = self._mask(height, width, generator, landmarks)
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

    @property
    def makes_fakes(self) -> bool:
        return self.p > 0

    def mask_kind(self, landmarks: torch.Tensor | None) -> str:
        """`hull` or `random`: the mask a row with these landmarks gets."""
        has = landmarks is not None and bool(torch.isfinite(torch.as_tensor(landmarks)).all())
        if self.mask == "hull" and not has:
            raise DataError(
                "data.train_transform.mask=hull but a training row has no landmarks68; extract "
                "its faces with landmarks (fakearena faces extract ... landmarks=true) or set "
                "data.train_transform.mask=auto (random shapes for such rows)"
            )
        return "hull" if has and self.mask != "random" else "random"

    def _mask(
        self,
        height: int,
        width: int,
        generator: torch.Generator | None,
        landmarks: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """A hard face mask (landmark hull or random shape), elastically deformed."""
        if self.mask_kind(landmarks) == "hull":
            pick = int(torch.randint(len(self.hull_kinds), (), generator=generator))
            points = torch.as_tensor(landmarks).double().numpy()
            mask = landmark_hull_mask(points, height, width, self.hull_kinds[pick])
        else:
            mask = random_shape_mask(
                height,
                width,
                generator,
                center=self.random_center,
                radius=self.random_radius,
                vertices=self.random_vertices,
            )
        return elastic_deform(mask, self.elastic, generator)

    def _affine(self, generator: torch.Generator | None) -> torch.Tensor:
        """(1, 2, 3) sampling matrix of the source copy's shift and scale."""
        scale = uniform(*self.scale, generator)
        # normalised coordinates span 2 units per side: a shift fraction f is 2f units
        tx = 2.0 * uniform(-self.shift[0], self.shift[0], generator)
        ty = 2.0 * uniform(-self.shift[1], self.shift[1], generator)
        return torch.tensor([[[1.0 / scale, 0.0, tx], [0.0, 1.0 / scale, ty]]])

    def _soften(self, mask: torch.Tensor, side: int, generator: torch.Generator | None):
        """The paper's blend mask: blur and keep the core (an erosion), blur again, rescale."""
        eroded = _blur_mask(mask, uniform(*self.erode_sigma, generator) * side)
        eroded = (eroded >= 0.999 * float(eroded.max())).float() * (mask > 0).float()
        if float(eroded.max()) <= 0:
            eroded = mask
        soft = _blur_mask(eroded, uniform(*self.soften_sigma, generator) * side)
        peak = float(soft.max())
        return soft / peak if peak > 0 else soft

    def transform_sample(self, sample: Sample) -> Sample:
        out = dict(sample)
        if "label" in sample and int(sample["label"]) == 0 and chance(self.p, None):
            out = self.blend_sample(out, None)
        return self.post.transform_sample(out) if self.post is not None else out

    def blend_sample(self, sample: Sample, generator: torch.Generator | None) -> Sample:
        """`sample` as a self-blended fake: new image, label 1, and its mask if it has one."""
        fake, mask = self.blend(sample["image"], generator, sample.get("landmarks"))
        out = {**sample, "image": fake, "label": torch.ones_like(torch.as_tensor(sample["label"]))}
        if "mask" in sample:
            out["mask"] = mask[None]
            out["has_mask"] = torch.tensor(True)
        return out

    def describe_masks(self, dataset: Dataset) -> dict[str, Any]:
        """Which masks the real training rows of `dataset` get: hulls (rows with landmarks)
        or random shapes (for results.json)."""
        return mask_census("sbi", self.mask, dataset)

    def held_out(self, dataset: Dataset) -> Dataset:
        labels = np.asarray(dataset.labels)  # type: ignore[attr-defined]
        wanted = self.held_out_fakes == "always" or (
            self.held_out_fakes == "auto" and not (labels == 1).any()
        )
        if not wanted or not (labels == 0).any():
            return dataset
        return SelfBlendedRows(dataset, self)


def mask_census(name: str, mode: str, dataset: Dataset) -> dict[str, Any]:
    """The counts of real rows of `dataset` that get landmark hulls and random shapes."""
    reals = np.asarray(dataset.labels) == 0  # type: ignore[attr-defined]
    marks = getattr(dataset, "stored_landmarks", None)
    has = np.zeros(len(reals), bool) if marks is None else np.isfinite(marks).all(axis=(1, 2))
    hull = 0 if mode == "random" else int((reals & has).sum())
    return {
        "transform": name,
        "mask": mode,
        "real_rows": int(reals.sum()),
        "hull_rows": hull,
        "random_shape_rows": int(reals.sum()) - hull,
    }


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
        base.provide_landmarks = True  # type: ignore[attr-defined]
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
            return _without_landmarks(_float_sample(self.base[index]))
        row = int(self.reals[index - n_base])
        sample = _float_sample(self.base[row])
        if sample is None or "image" not in sample:
            return {"skipped": index}
        generator = torch.Generator().manual_seed(self.blender.seed * 1_000_003 + row)
        sample = _without_landmarks(self.blender.blend_sample(sample, generator))
        sample["index"] = torch.tensor(index)
        return sample


def _without_landmarks(sample: dict[str, Any] | None) -> dict[str, Any] | None:
    if sample is not None:
        sample.pop("landmarks", None)
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
    if chance(0.3, generator):
        shift = (torch.rand(image.shape[0], 1, 1, generator=generator) - 0.5) * (40.0 / 255.0)
        out = out + shift
    brightness = uniform(-0.1, 0.1, generator)
    contrast = uniform(0.9, 1.1, generator)
    mean = out.mean(dim=(-2, -1), keepdim=True)
    out = ((out - mean) * contrast + mean + brightness).clamp(0.0, 1.0)
    height, width = image.shape[-2:]
    if chance(0.5, generator):
        factor = 2 if chance(0.5, generator) else 4
        small = (max(1, height // factor), max(1, width // factor))
        down = F.interpolate(out[None], size=small, mode="nearest")
        out = F.interpolate(down, size=(height, width), mode="bilinear", align_corners=False)[0]
    else:
        alpha = uniform(0.2, 0.5, generator)
        out = out + alpha * (out - blur(out, 1.0))
    return out.clamp(0.0, 1.0)


def _blur_mask(mask: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of an (H, W) mask (no change for sigma below 0.1 pixel)."""
    if sigma < 0.1:
        return mask
    return blur(mask[None], sigma)[0]
