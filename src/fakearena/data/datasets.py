"""Manifest-backed datasets: rows of a manifest -> dict samples for the Lightning tasks.

A sample is `{"image": (C,H,W), "label": long, "index": long}`; `index` is the row's position
in the dataset's manifest, so predictions can be traced back to path, video_id and source even
after a distributed sampler reordered or padded the shards. The image is uint8 (0..255, a
quarter of the bytes through worker queues, pinned memory and the host-to-GPU copy) unless a
training augmentation ran, which works on and returns float [0, 1]. Consumers call
`float_images` where the tensor is used (the tasks on the device, after the transfer), which
gives float [0, 1] either way. A dataset asked for the target `mask` (`request_targets`) adds
`mask`, float (1,H,W) in [0,1], the row's blend mask (`fakearena.data.masks`; zeros for a
real), and `has_mask`, False for a fake whose mask is unknown (its `mask` is then zeros and
carries no information). A dataset whose training transform reads landmarks (`uses_landmarks`,
SBI and Face X-ray's blends) hands it `landmarks`, float (68, 2) in the served image's pixels
(NaN where the row has none), from the manifest's `landmarks68` column; the key is dropped
once the transform has run, so batches look the same either way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, default_collate

from fakearena.data.landmarks import LANDMARKS_COLUMN, N_LANDMARKS, parse_landmarks
from fakearena.data.manifest import MASK_COLUMN, Manifest
from fakearena.data.masks import read_mask
from fakearena.data.media import load_image
from fakearena.data.row_cache import RowCache
from fakearena.data.transforms.sample import apply_transform
from fakearena.errors import ConfigError, DataError

RowLoader = Callable[[Mapping[str, Any]], np.ndarray]
BAD_SAMPLE_POLICIES = ("error", "skip")
# Per-row targets a dataset can add to its samples on request (besides image and label).
TARGETS = ("mask", "face_mask")
# the manifest column naming a face-region mask file of a row (e.g. a landmark hull)
FACE_MASK_COLUMN = "face_mask"


def to_tensor(image: np.ndarray, size: int | None) -> torch.Tensor:
    """uint8 (H,W,C) -> float (C,size,size) in [0,1]; bilinear antialiased resize if needed."""
    tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255.0)
    if size is not None and tuple(tensor.shape[1:]) != (size, size):
        tensor = F.interpolate(
            tensor[None], size=(size, size), mode="bilinear", align_corners=False, antialias=True
        )[0].clamp_(0.0, 1.0)
    return tensor


def to_uint8_tensor(image: np.ndarray, size: int | None) -> torch.Tensor:
    """uint8 (H,W,C) -> uint8 (C,size,size): as stored, or `to_tensor`'s resize rounded to
    the nearest 8-bit level (what saving the resized image would keep)."""
    tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
    if size is None or tuple(tensor.shape[1:]) == (size, size):
        return tensor
    return to_tensor(image, size).mul_(255.0).round_().to(torch.uint8)


def float_images(images: torch.Tensor) -> torch.Tensor:
    """Images as float [0, 1]: uint8 levels are divided by 255, float images pass unchanged."""
    if images.dtype == torch.uint8:
        return images.float().div_(255.0)
    return images


class ManifestDataset(Dataset):
    """Images of a manifest, resized to `image_size`, with labels and row indices.

    Args:
        manifest: the rows to serve (already restricted to one split).
        image_size: output side in pixels (None keeps each file's size).
        channels: 3 (RGB) or 1 (grayscale).
        row_loader: renders a row instead of reading a file (in-memory sources).
        mask_loader: renders a row's blend mask (H, W) in [0, 1] (in-memory sources); file
            manifests name mask files in their `mask` column instead.
        landmark_loader: a row's (68, 2) landmarks in its rendered image's pixels, or None
            (in-memory sources); file manifests carry a `landmarks68` column instead.
        face_mask_loader: renders a row's face region (H, W) in [0, 1] (in-memory sources);
            file manifests name face-region mask files in their `face_mask` column instead.
        transform: training augmentation: a `SampleTransform` (sees the whole sample) or a
            callable on the image tensor.
        cache: keeps rendered rows (`row_loader` sources), so each is drawn once per run.
        on_bad_sample: "error" raises on an unreadable image; "skip" returns None for it
            (the collate function drops it and reports the row in `skipped`).
    """

    def __init__(
        self,
        manifest: Manifest,
        *,
        image_size: int | None = 64,
        channels: int = 3,
        row_loader: RowLoader | None = None,
        mask_loader: RowLoader | None = None,
        landmark_loader: Callable[[Mapping[str, Any]], np.ndarray | None] | None = None,
        face_mask_loader: RowLoader | None = None,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        on_bad_sample: str = "error",
        cache: RowCache | None = None,
    ):
        if on_bad_sample not in BAD_SAMPLE_POLICIES:
            raise ConfigError(
                f"data.on_bad_sample={on_bad_sample!r}; use one of {list(BAD_SAMPLE_POLICIES)}"
            )
        if row_loader is None and manifest.root is None:
            raise ConfigError(f"manifest {manifest.name} is in memory but no row loader was given")
        self.manifest = manifest
        self.image_size = image_size
        self.channels = channels
        self.row_loader = row_loader
        self.mask_loader = mask_loader
        self.landmark_loader = landmark_loader
        self.face_mask_loader = face_mask_loader
        self._region_renderer: Any = None
        self.transform = transform
        self.targets: tuple[str, ...] = ()
        self.on_bad_sample = on_bad_sample
        self.cache = cache if row_loader is not None else None
        if self.cache is not None and len(self.cache) != len(manifest):
            raise ValueError(f"a cache of {len(self.cache)} rows for {len(manifest)} rows")
        self._labels = manifest.frame["label"].to_numpy(dtype=np.int64)
        self._landmarks: np.ndarray | None = None
        self.provide_landmarks = bool(getattr(transform, "uses_landmarks", False))
        if hasattr(transform, "bind"):
            transform.bind(self)  # e.g. Face X-ray's blends pick donors among these rows

    def __len__(self) -> int:
        return len(self.manifest)

    @property
    def stored_landmarks(self) -> np.ndarray:
        """float32 (N, 68, 2) landmarks of every row in its stored image's pixels (NaN where
        the row has none, or the manifest no `landmarks68` column); read on first use."""
        if self._landmarks is None:
            marks = np.full((len(self.manifest), N_LANDMARKS, 2), np.nan, dtype=np.float32)
            if self.landmark_loader is not None:
                for i in range(len(self.manifest)):
                    points = self.landmark_loader(self.row(i))
                    if points is not None:
                        marks[i] = points
            elif LANDMARKS_COLUMN in self.manifest.frame.columns:
                for i, text in enumerate(self.manifest.frame[LANDMARKS_COLUMN].tolist()):
                    where = f"row {i + 1} of manifest {self.manifest.name}"
                    points = parse_landmarks(text, where)
                    if points is not None:
                        marks[i] = points
            self._landmarks = marks
        return self._landmarks

    def landmarks_at(
        self, index: int, stored_size: tuple[int, int], size: tuple[int, int]
    ) -> torch.Tensor:
        """float (68, 2) landmarks of row `index` in an image of (H, W) `size`, given the
        (H, W) of the stored image they refer to (NaN when the row has none)."""
        marks = self.stored_landmarks[index]
        scale = np.array([size[1] / stored_size[1], size[0] / stored_size[0]], np.float32)
        return torch.from_numpy(marks * scale)

    @property
    def labels(self) -> np.ndarray:
        return self._labels

    def row(self, index: int) -> dict[str, Any]:
        """The manifest row `index` as a dict."""
        return self.manifest.frame.iloc[index].to_dict()

    def load(self, index: int) -> np.ndarray:
        """uint8 (H,W,C) pixels of row `index`."""
        if self.row_loader is not None:
            if self.cache is not None:
                return self.cache.get(index, lambda: self.render(index))
            return self.render(index)
        return load_image(self.manifest.abspath(index), channels=self.channels)

    def request_targets(self, targets: Sequence[str]) -> None:
        """Add these per-row targets (names in `TARGETS`) to every sample from now on."""
        unknown = sorted(set(targets) - set(TARGETS))
        if unknown:
            raise ConfigError(
                f"no dataset can provide the target(s) {unknown}; known targets: {list(TARGETS)}"
            )
        self.targets = tuple(dict.fromkeys(targets))

    def load_mask(self, index: int) -> np.ndarray | None:
        """The blend mask (H, W) in [0, 1] of row `index`: zeros for a real face, None when
        the row is a fake whose mask is unknown."""
        row = self.row(index)
        if self.mask_loader is not None:
            return self.mask_loader(row)
        if self._labels[index] == 0:
            return np.zeros((1, 1), np.float32)
        relative = row.get(MASK_COLUMN)
        if not isinstance(relative, str) or not relative or self.manifest.root is None:
            return None
        return read_mask(self.manifest.root / relative)

    def load_face_mask(self, index: int, size: int = 64) -> np.ndarray | None:
        """The face region (H, W) in [0, 1] of row `index` (what a face swap replaces), or
        None when the data knows none: the loader's, else the row's `face_mask` file, else,
        for a file of the built-in synthetic faces (`synth_*` columns), the renderer's inner
        face at `size` pixels."""
        row = self.row(index)
        if self.face_mask_loader is not None:
            return self.face_mask_loader(row)
        relative = row.get(FACE_MASK_COLUMN)
        if isinstance(relative, str) and relative and self.manifest.root is not None:
            return read_mask(self.manifest.root / relative)
        from fakearena.data.synthetic import SyntheticRenderer, is_synthetic_row

        if not is_synthetic_row(row):
            return None
        if self._region_renderer is None or self._region_renderer.size != size:
            self._region_renderer = SyntheticRenderer(size)
        return self._region_renderer.render_face_region_row(row)

    def render(self, index: int) -> np.ndarray:
        """uint8 (H,W,C) pixels of row `index` drawn by the row loader."""
        image = self.row_loader(self.row(index))  # type: ignore[misc]
        if self.channels == 1 and image.shape[2] == 3:
            image = (image @ np.array([0.299, 0.587, 0.114])).round().astype(np.uint8)[..., None]
        return image

    def __getitem__(self, index: int) -> dict[str, Any] | None:
        try:
            image = self.load(index)
            mask = self.load_mask(index) if "mask" in self.targets else None
            face = None
            if "face_mask" in self.targets:
                face = self.load_face_mask(index, int(image.shape[0]))
        except DataError as error:
            if self.on_bad_sample == "skip":
                return {"skipped": index}
            raise DataError(
                f"{error} (row {index + 1} of manifest {self.manifest.name}; "
                "set data.on_bad_sample=skip to skip such rows and list them in results.json)"
            ) from error
        if image.ndim != 3 or image.shape[2] != self.channels:
            raise DataError(
                f"row {index + 1} of manifest {self.manifest.name} has an image of shape "
                f"{image.shape}; expected {self.channels} channel(s)"
            )
        if self.transform is not None:  # augmentations work on float images
            tensor = to_tensor(image, self.image_size)
        else:
            tensor = to_uint8_tensor(image, self.image_size)
        sample: dict[str, Any] = {
            "image": tensor,
            "label": torch.tensor(self._labels[index]),
            "index": torch.tensor(index),
        }
        if "mask" in self.targets:
            sample["mask"] = mask_tensor(mask, tuple(sample["image"].shape[-2:]))
            sample["has_mask"] = torch.tensor(mask is not None)
        if self.provide_landmarks:
            size = tuple(tensor.shape[-2:])
            sample["landmarks"] = self.landmarks_at(index, image.shape[:2], size)
        if "face_mask" in self.targets:
            sample["face_mask"] = mask_tensor(face, tuple(sample["image"].shape[-2:]))
            sample["has_face_mask"] = torch.tensor(face is not None)
        if self.transform is not None:
            sample = apply_transform(self.transform, sample)
            sample.pop("landmarks", None)
        return sample


def mask_tensor(mask: np.ndarray | None, size: tuple[int, int]) -> torch.Tensor:
    """A blend mask as float (1, H, W) of `size` (bilinear, antialiased); None gives zeros."""
    if mask is None:
        return torch.zeros(1, *size)
    tensor = torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32))[None]
    if tuple(tensor.shape[-2:]) != tuple(size):
        tensor = F.interpolate(
            tensor[None], size=size, mode="bilinear", align_corners=False, antialias=True
        )[0]
    return tensor.clamp(0.0, 1.0)


def collate_samples(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack samples into a batch; rows skipped under `on_bad_sample=skip` go to `skipped`."""
    good = [s for s in samples if "skipped" not in s]
    skipped = [s["skipped"] for s in samples if "skipped" in s]
    batch: dict[str, Any] = default_collate(good) if good else {}
    batch["skipped"] = torch.tensor(skipped, dtype=torch.long)
    return batch
