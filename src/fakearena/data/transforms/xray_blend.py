"""Face X-ray's blended images: fakes made on the fly from two real training faces.

Li et al., "Face X-ray for More General Face Forgery Detection", CVPR 2020, section 3.3. For a
real training face (the background, target), a donor face of another person whose landmarks are
nearest after alignment is picked (at random among the `nearest` closest, as the paper draws
from its 100 nearest); the donor is warped onto the target by the similarity that best maps its
landmarks onto the target's; a mask is drawn from the convex hull of the target's landmarks
(`fakearena.data.transforms.face_masks`), randomly deformed and Gaussian-blurred; the donor's
colours are matched to the target's inside the mask (per-channel mean and standard deviation);
the blend is `M * donor + (1 - M) * target`, labelled fake, its mask M the target of the
boundary head (B = 4 M (1 - M), `fakearena.models.detectors.face_xray.boundary_map`).

Donors come from the real training rows that have 68-point landmarks (`landmarks68`, written by
`faces extract`); a person is the row's `identity`, else its `video_id` (one person per source
video, as in FaceForensics++). Landmark distance: the Procrustes disparity of the two 68-point
shapes (what is left after the best translation, scale and rotation).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from fakearena.data.datasets import to_tensor
from fakearena.data.transforms.augment import DetectorAugment, blur
from fakearena.data.transforms.face_masks import (
    HULL_KINDS,
    elastic_deform,
    landmark_hull_mask,
)
from fakearena.data.transforms.sample import Sample, SampleTransform
from fakearena.data.transforms.sbi import mask_census
from fakearena.errors import ConfigError, DataError


def _uniform(low: float, high: float, generator: torch.Generator | None) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(2, 3) least-squares similarity (Umeyama) taking (N, 2) `src` points onto `dst`."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    u, singular, vt = np.linalg.svd(dst_c.T @ src_c / len(src))
    signs = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        signs[-1] = -1.0
    rotation = u @ np.diag(signs) @ vt
    variance = (src_c**2).sum() / len(src)
    scale = float(singular @ signs / variance) if variance > 0 else 1.0
    return np.hstack([scale * rotation, (dst_mean - scale * rotation @ src_mean)[:, None]])


def standardised_shapes(landmarks: np.ndarray) -> np.ndarray:
    """(N, K, 2) shapes centred and scaled to unit Frobenius norm (Procrustes' standard form)."""
    shapes = np.asarray(landmarks, dtype=np.float64)
    shapes = shapes - shapes.mean(axis=1, keepdims=True)
    norms = np.sqrt((shapes**2).sum(axis=(1, 2)))
    return shapes / np.maximum(norms, 1e-12)[:, None, None]


def procrustes_disparities(shape: np.ndarray, shapes: np.ndarray) -> np.ndarray:
    """Procrustes disparity of one standardised (K, 2) shape to each of (N, K, 2): the sum of
    squared differences left after the best rotation (reflections allowed, as in
    `scipy.spatial.procrustes`) and scale, 1 - (sum of the singular values of X^T Y)^2."""
    cross = np.einsum("kd,nke->nde", shape, shapes)
    singular = np.linalg.svd(cross, compute_uv=False).sum(axis=1)
    return np.clip(1.0 - singular**2, 0.0, None)


def warp_to(image: torch.Tensor, matrix: np.ndarray) -> torch.Tensor:
    """(C, H, W) `image` resampled so that output pixel p shows input point `matrix` @ p
    (pixel-continuous coordinates; outside the image: its border)."""
    height, width = image.shape[-2:]
    to_norm = np.array([[2.0 / width, 0.0, -1.0], [0.0, 2.0 / height, -1.0], [0.0, 0.0, 1.0]])
    full = np.vstack([matrix, [0.0, 0.0, 1.0]])
    theta = to_norm @ full @ np.linalg.inv(to_norm)
    theta_t = torch.tensor(theta[:2], dtype=torch.float32)[None]
    grid = F.affine_grid(theta_t, [1, image.shape[0], height, width], align_corners=False)
    return F.grid_sample(image[None], grid, padding_mode="border", align_corners=False)[0]


def colour_transfer(source: torch.Tensor, target: torch.Tensor, mask: torch.Tensor):
    """`source` with each channel's mean and std inside `mask` (> 0.5) set to `target`'s."""
    inside = mask > 0.5
    if int(inside.sum()) < 4:
        return source
    out = source.clone()
    for c in range(source.shape[0]):
        s, t = source[c][inside], target[c][inside]
        out[c] = (source[c] - s.mean()) * (t.std() / s.std().clamp_min(1e-4)) + t.mean()
    return out.clamp(0.0, 1.0)


class XrayBlend(SampleTransform):
    """Turns real training faces into blended fakes with a donor of another person.

    Args:
        p: probability that a real training sample becomes a blended fake.
        nearest: the donor is drawn uniformly among this many nearest other-person reals.
        hull_kinds: hull kinds of the mask (`face_masks.HULL_KINDS`).
        elastic: strength of the mask's random deformation (fraction of the side).
        blur_sigma: [min, max] Gaussian blur sigma of the mask, fraction of the side.
        colour_correction: match the donor's colours to the target's inside the mask.
        post: augmentation of every training sample afterwards (flip, colour, JPEG).
    """

    uses_landmarks = True
    makes_blend_masks = True

    def __init__(
        self,
        *,
        p: float = 0.5,
        nearest: int = 100,
        hull_kinds: Sequence[str] = HULL_KINDS,
        elastic: float = 0.02,
        blur_sigma: Sequence[float] = (0.01, 0.04),
        colour_correction: bool = True,
        post: DetectorAugment | None = None,
    ):
        if not 0.0 <= float(p) <= 1.0:
            raise ConfigError(f"data.train_transform.p={p}: a probability must lie in [0, 1]")
        if int(nearest) < 1:
            raise ConfigError(f"data.train_transform.nearest={nearest}: give 1 or more")
        unknown = sorted(set(hull_kinds) - set(HULL_KINDS))
        if unknown or not hull_kinds:
            raise ConfigError(
                f"data.train_transform.hull_kinds={list(hull_kinds)}: use {list(HULL_KINDS)}"
            )
        low, high = (float(v) for v in blur_sigma)
        if not 0.0 <= low <= high <= 0.2:
            raise ConfigError(
                f"data.train_transform.blur_sigma={list(blur_sigma)}: 0 <= min <= max <= 0.2"
            )
        self.p = float(p)
        self.nearest = int(nearest)
        self.hull_kinds = tuple(hull_kinds)
        self.elastic = float(elastic)
        self.blur_sigma = (low, high)
        self.colour_correction = bool(colour_correction)
        self.post = post
        self.dataset: Any = None
        self.last_donor: int | None = None

    def bind(self, dataset: Dataset) -> None:
        """Index the real rows of `dataset` (the train split) that can be donors."""
        labels = np.asarray(dataset.labels)  # type: ignore[attr-defined]
        marks = dataset.stored_landmarks  # type: ignore[attr-defined]
        frame = dataset.manifest.frame  # type: ignore[attr-defined]
        has = np.isfinite(marks).all(axis=(1, 2))
        reals = np.flatnonzero((labels == 0) & has)
        identity = frame["identity"].fillna("").astype(str).to_numpy()
        person = np.where(identity != "", identity, frame["video_id"].astype(str).to_numpy())
        name = dataset.manifest.name  # type: ignore[attr-defined]
        if len(reals) == 0:
            raise DataError(
                f"augment=xray needs the real faces' 68 landmarks, but no real training row of "
                f"{name} has a landmarks68 value (crops extracted before fakearena stored "
                "landmarks, or with landmarks=false); extract the faces again with "
                "`fakearena faces extract` (it writes landmarks68)"
            )
        if len(set(person[reals])) < 2:
            raise DataError(
                f"augment=xray blends a real face with a donor of another person, but the "
                f"training split of {name} has {len(reals)} real row(s) with landmarks68 from "
                f"{len(set(person[reals]))} person(s); extract faces of at least two people "
                "and give rows their identity (or one video per person)"
            )
        self.dataset = dataset
        self.reals = reals
        self.person = person
        self.shapes = standardised_shapes(marks[reals])
        self._position = {int(row): k for k, row in enumerate(reals)}

    def donor_candidates(self, row: int) -> np.ndarray:
        """Dataset rows of the `nearest` other-person reals closest to `row`'s landmarks,
        nearest first (empty when `row` has no landmarks)."""
        k = self._position.get(int(row))
        if k is None:
            return np.zeros(0, dtype=np.int64)
        other = self.person[self.reals] != self.person[row]
        distance = procrustes_disparities(self.shapes[k], self.shapes)
        distance[~other] = np.inf
        order = np.argsort(distance, kind="stable")[: min(self.nearest, int(other.sum()))]
        return self.reals[order]

    def describe_masks(self, dataset: Dataset) -> dict[str, Any]:
        census = mask_census("xray", "hull", dataset)
        census["donor_people"] = len(set(self.person[self.reals])) if self.dataset else 0
        return census

    @property
    def makes_fakes(self) -> bool:
        return self.p > 0

    def transform_sample(self, sample: Sample) -> Sample:
        out = dict(sample)
        if self.dataset is None:
            raise RuntimeError("XrayBlend must be bound to its training dataset first")
        is_real = "label" in sample and int(sample["label"]) == 0
        if is_real and self.p > 0 and float(torch.rand(())) < self.p:
            out = self.blend_sample(out, None)
        return self.post.transform_sample(out) if self.post is not None else out

    def blend_sample(self, sample: Sample, generator: torch.Generator | None) -> Sample:
        """`sample` blended with a donor (label 1, mask M); unchanged when it has no donor."""
        row = int(sample["index"])
        candidates = self.donor_candidates(row)
        if len(candidates) == 0:
            return sample
        donor = int(candidates[int(torch.randint(len(candidates), (), generator=generator))])
        image = sample["image"]
        size = tuple(image.shape[-2:])
        pixels = self.dataset.load(donor)
        donor_image = to_tensor(pixels, None)
        donor_image = F.interpolate(
            donor_image[None], size=size, mode="bilinear", align_corners=False, antialias=True
        )[0].clamp(0.0, 1.0)
        donor_marks = self.dataset.landmarks_at(donor, pixels.shape[:2], size)
        fake, mask = self.blend(image, sample["landmarks"], donor_image, donor_marks, generator)
        if float(mask.max()) <= 0:
            return sample
        out = {**sample, "image": fake, "label": torch.ones_like(torch.as_tensor(sample["label"]))}
        self.last_donor = donor  # for inspection (in this process)
        if "mask" in sample:
            out["mask"] = mask[None]
            out["has_mask"] = torch.tensor(True)
        return out

    def blend(
        self,
        target: torch.Tensor,
        target_marks: torch.Tensor,
        donor: torch.Tensor,
        donor_marks: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(fake, M): `donor` warped onto `target` by their landmarks and pasted through M."""
        height, width = target.shape[-2:]
        # output (target) pixel -> donor point
        matrix = similarity(target_marks.double().numpy(), donor_marks.double().numpy())
        warped = warp_to(donor, matrix)
        pick = int(torch.randint(len(self.hull_kinds), (), generator=generator))
        mask = landmark_hull_mask(
            target_marks.double().numpy(), height, width, self.hull_kinds[pick]
        )
        mask = elastic_deform(mask, self.elastic, generator)
        sigma = _uniform(*self.blur_sigma, generator) * max(height, width)
        if sigma >= 0.1:
            mask = blur(mask[None], sigma)[0]
        mask = mask.clamp(0.0, 1.0)
        if self.colour_correction:
            warped = colour_transfer(warped, target, mask)
        fake = mask * warped + (1.0 - mask) * target
        return fake, mask
