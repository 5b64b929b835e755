"""The one DataModule: manifests (real and fake sets together) or the built-in synthetic faces.

`data=manifest data.manifests=[real.csv,fakes.csv]` points any command at any data; the rows'
`split` column decides train/val/test. Samples are dicts (see `fakearena.data.datasets`).

Feeding an accelerator: rendered synthetic rows are kept in a shared `RowCache` (drawn once per
run, not once per epoch); images travel as uint8 and become float on the device
(`fakearena.tasks.base.Task.on_after_batch_transfer`); batches are pinned when the trainer runs
on CUDA; workers persist between epochs; `num_workers: auto` sizes them from the CPU cores.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

from fakearena.data.datasets import ManifestDataset, RowLoader, collate_samples
from fakearena.data.manifest import (
    MASK_COLUMN,
    SPLITS,
    Manifest,
    parse_label,
    read_manifest,
    union_manifests,
)
from fakearena.data.manifest_file import data_manifest_csv
from fakearena.data.row_cache import RowCache
from fakearena.data.transforms.sample import SampleTransform
from fakearena.errors import ConfigError, DataError
from fakearena.utils.parallel import num_workers_value


def load_manifests(paths: Sequence[str | Path], name: str | None = None) -> Manifest:
    """Read one or several manifests as one (union of their rows)."""
    return union_of(read_all(paths), name)


def read_all(paths: Sequence[str | Path]) -> list[Manifest]:
    """Each manifest of `paths`, read and validated."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if not paths:
        raise ConfigError(
            "no manifests given; set data.manifests=[path/to/a.csv,...] "
            "or use data=synthetic for the built-in faces"
        )
    return [read_manifest(p) for p in paths]


def union_of(manifests: list[Manifest], name: str | None = None) -> Manifest:
    """The manifests as one: the manifest itself when there is one."""
    return manifests[0] if len(manifests) == 1 else union_manifests(manifests, name=name)


def upscale_warning(manifests: Sequence[Manifest], image_size: int, data: str) -> str | None:
    """A sentence when `image_size` enlarges the images its manifests' cards say they have."""
    smaller = {m.name: int(m.card.image_size) for m in manifests if m.card.image_size}
    smaller = {name: size for name, size in smaller.items() if size < image_size}
    if not smaller:
        return None
    shown = ", ".join(f"{name} {size} px" for name, size in smaller.items())
    factor = image_size / min(smaller.values())
    return (
        f"data {data}: resizing to {image_size} px upscales its images ({shown}, as their "
        f"card says) by up to {factor:.3g}x, so the network sees interpolated pixels; train "
        f"at data.image_size={max(smaller.values())}, or extract the faces again with "
        f"size={image_size}"
    )


class SyntheticSource(NamedTuple):
    """Synthetic rows and what draws them: the image, the blend mask (zeros for reals), the
    68 landmarks and the face region (the face-swap mask target) of a row."""

    manifest: Manifest
    rows: RowLoader
    masks: RowLoader
    landmarks: Callable[[Mapping[str, Any]], np.ndarray | None]
    face_regions: RowLoader


def synthetic_source(
    options: Mapping[str, Any], image_size: int, name: str = "synthetic"
) -> SyntheticSource:
    """The in-memory synthetic manifest and the renderer's loaders of its rows."""
    from fakearena.data.synthetic import SyntheticRenderer, synthetic_manifest

    options = dict(options)
    seed = int(options.pop("seed", 0))
    manifest = synthetic_manifest(seed=seed, size=image_size, name=name, **options)
    renderer = SyntheticRenderer(size=image_size, seed=seed)
    return SyntheticSource(
        manifest,
        rows=renderer.render_row,
        masks=renderer.render_mask_row,
        landmarks=renderer.landmarks_row,
        face_regions=renderer.render_face_region_row,
    )


class FaceDataModule(L.LightningDataModule):
    """Train/val/test loaders over manifests or synthetic faces.

    Args:
        name: short name of the data (used in metric keys and reports).
        manifests: manifest paths whose rows are used together.
        synthetic: options of `synthetic_manifest` (used when `manifests` is empty).
        image_size: side length images are resized to.
        channels: 3 (RGB) or 1 (grayscale).
        batch_size: per-device batch size.
        num_workers: DataLoader worker processes per training process, or "auto" (from the
            CPU cores: `fakearena.utils.parallel.default_num_workers`).
        balanced_sampling: draw training rows with equal total weight per label.
        sources: keep only rows of these sources (e.g. [real, blend/synthetic]).
        train_labels: keep only rows of these labels in the train split ([0]: reals only, the
            recipe of SBI and Face X-ray); val and test keep every row.
        on_bad_sample: "error" or "skip" for unreadable images.
        train_transform: augmentation of training samples (`augment=`): a `SampleTransform`
            or a callable on the image tensor.
        cache_rendered: keep rendered (synthetic) rows in a shared uint8 cache; costs
            rows x image_size^2 x channels bytes (6,000 faces at 128 px: 295 MB).
        pin_memory: "auto" (when the trainer runs on CUDA), true or false.
        prefetch_factor: batches each worker prepares ahead (with workers only).
        frames_per_video: at most this many frames of each video, spread evenly over its
            rows (the cross-dataset protocol fixes it; DeepfakeBench uses 32); None: all.
    """

    def __init__(
        self,
        *,
        name: str = "data",
        manifests: Sequence[str] | None = None,
        synthetic: Mapping[str, Any] | None = None,
        image_size: int = 64,
        channels: int = 3,
        batch_size: int = 32,
        num_workers: int | str = 0,
        balanced_sampling: bool = False,
        sources: Sequence[str] | None = None,
        train_labels: Sequence[int] | None = None,
        on_bad_sample: str = "error",
        train_transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        cache_rendered: bool = True,
        pin_memory: bool | str = "auto",
        prefetch_factor: int = 2,
        frames_per_video: int | None = None,
    ):
        super().__init__()
        if not manifests and synthetic is None:
            raise ConfigError(
                "the data config has neither manifests nor synthetic options; "
                "set data.manifests=[...] or use data=synthetic"
            )
        self.name = name
        self.manifest_paths = list(manifests or [])
        self.synthetic_options = dict(synthetic) if synthetic is not None else None
        self.image_size = int(image_size)
        self.channels = int(channels)
        self.batch_size = int(batch_size)
        self.num_workers_setting = num_workers
        num_workers_value(num_workers)  # a bad value fails here, not at the first loader
        if str(pin_memory) not in ("auto", "True", "False", "true", "false"):
            raise ConfigError(f"data.pin_memory={pin_memory!r}: give auto, true or false")
        self.pin_memory_setting = str(pin_memory).lower()
        self.prefetch_factor = int(prefetch_factor)
        if frames_per_video is not None and int(frames_per_video) <= 0:
            raise ConfigError(
                f"data.frames_per_video={frames_per_video}: give a positive count, or null "
                "for every frame of the manifests"
            )
        self.frames_per_video = None if frames_per_video is None else int(frames_per_video)
        self.cache_rendered = bool(cache_rendered)
        self.balanced_sampling = bool(balanced_sampling)
        self.sources = list(sources) if sources else None
        self.train_labels = _labels_option(train_labels)
        self.on_bad_sample = on_bad_sample
        self.train_transform = train_transform
        self._manifest: Manifest | None = None
        self._row_loader: RowLoader | None = None
        self._mask_loader: RowLoader | None = None
        self._landmark_loader: Callable[[Mapping[str, Any]], np.ndarray | None] | None = None
        self._face_mask_loader: RowLoader | None = None
        self._datasets: dict[str, Dataset] = {}
        self._training_targets: tuple[str, ...] = ()
        self.warnings: list[str] = []  # worth telling the user: said by the runs, recorded

    @property
    def num_workers(self) -> int:
        """DataLoader workers per process (`auto`: from the CPU cores and the trainer's devices)."""
        devices = getattr(self.trainer, "num_devices", 1) if self.trainer is not None else 1
        return num_workers_value(self.num_workers_setting, processes=int(devices or 1))

    @property
    def pin_memory(self) -> bool:
        """Whether loaders pin their batches (`auto`: the trainer's device is a GPU)."""
        if self.pin_memory_setting != "auto":
            return self.pin_memory_setting == "true"
        if self.trainer is None:
            return False
        return self.trainer.strategy.root_device.type == "cuda"

    def loader_options(self) -> dict[str, Any]:
        """Worker, pinning and prefetch options of every loader of this module."""
        workers = self.num_workers
        return {
            "num_workers": workers,
            "pin_memory": self.pin_memory,
            "persistent_workers": workers > 0,
            "prefetch_factor": self.prefetch_factor if workers > 0 else None,
        }

    @property
    def manifest(self) -> Manifest:
        """All rows (every split) this module serves, loaded on first use."""
        if self._manifest is None:
            if self.manifest_paths:
                self._check_manifests_exist()
                manifests = read_all(self.manifest_paths)
                warning = upscale_warning(manifests, self.image_size, self.name)
                self.warnings += [warning] if warning else []
                manifest = union_of(manifests)  # union named a+b+...
            else:
                source = synthetic_source(
                    self.synthetic_options or {}, self.image_size, name=self.name
                )
                manifest, self._row_loader, self._mask_loader = source[:3]
                self._landmark_loader = source.landmarks
                self._face_mask_loader = source.face_regions
            if self.sources is not None:
                manifest = manifest.select(source=self.sources)
                if len(manifest) == 0:
                    raise DataError(
                        f"no rows of data {self.name} have a source in {self.sources}; "
                        "check data.sources against `fakearena data validate`"
                    )
            if self.frames_per_video is not None and self.manifest_paths:
                manifest = manifest.frames_per_video(self.frames_per_video)
            self._manifest = manifest
        return self._manifest

    def _check_manifests_exist(self) -> None:
        """A missing manifest under the data folder is most often an unset FAKEARENA_DATA."""
        for path in self.manifest_paths:
            data_manifest_csv(path, self.name)

    def request_training_targets(self, targets: Sequence[str]) -> None:
        """Per-row targets (`fakearena.data.datasets.TARGETS`) the training samples must hold
        besides image and label, e.g. `mask` for a detector that learns blend boundaries."""
        self._training_targets = tuple(targets)
        if "mask" in self._training_targets:
            self._require_blend_masks()
        if "train" in self._datasets:
            self._datasets["train"].request_targets(self._training_targets)

    def _require_blend_masks(self) -> None:
        """Refuse to train a boundary head that would only ever see zeros: some training fake
        must carry a blend mask, or the training transform must make blended images."""
        rows = self.manifest.select(split="train").frame  # loads the rows (and mask renderer)
        if self._mask_loader is not None or getattr(self.train_transform, "makes_blend_masks", 0):
            return
        if MASK_COLUMN in rows.columns:
            masks = rows.loc[rows["label"] == 1, MASK_COLUMN].fillna("").astype(str)
            if (masks != "").any():
                return
        raise ConfigError(
            f"this detector learns blend boundaries (Face X-ray), but no training row of data "
            f"{self.name} has a blend mask (the manifests' mask column is empty or absent) and "
            "no blended-image generation is on, so its boundary head would only learn zeros; "
            "add augment=xray (blended images made from the real training faces; needs "
            "landmarks68, written by `fakearena faces extract`) or augment=sbi, or train on "
            "fakes whose manifest names their masks"
        )

    def augment_masks(self) -> dict[str, Any] | None:
        """What blend masks the training transform draws on this data (for results.json), or
        None when it draws none."""
        describe = getattr(self.train_transform, "describe_masks", None)
        return describe(self.dataset("train")) if describe is not None else None

    def dataset(self, split: str) -> Dataset:
        """The dataset of one split; an empty split is an error naming the data and split.

        A held-out split (val, test) is what the training transform makes of it
        (`SampleTransform.held_out`): itself, or with self-blended fakes added under SBI.
        """
        if split not in SPLITS:
            raise ConfigError(f"unknown split {split!r}; splits are {list(SPLITS)}")
        if split not in self._datasets:
            rows = self.manifest.select(split=split)
            if split == "train" and self.train_labels is not None:
                kept = rows.frame["label"].isin(self.train_labels)
                rows = replace(rows, frame=rows.frame[kept].reset_index(drop=True))
            if len(rows) == 0:
                raise DataError(
                    f"data {self.name} ({self.manifest.name}) has no rows in split {split!r}"
                    + (
                        f" with a label in data.train_labels={self.train_labels}"
                        if split == "train" and self.train_labels is not None
                        else ""
                    )
                    + "; every run needs train and val rows (and test rows to test): "
                    "fix the manifest's split column"
                )
            dataset = ManifestDataset(
                rows,
                image_size=self.image_size,
                channels=self.channels,
                row_loader=self._row_loader,
                mask_loader=self._mask_loader,
                landmark_loader=self._landmark_loader,
                face_mask_loader=self._face_mask_loader,
                transform=self.train_transform if split == "train" else None,
                on_bad_sample=self.on_bad_sample,
                cache=self._cache(len(rows)),
            )
            if split == "train":
                dataset.request_targets(self._training_targets)
            elif isinstance(self.train_transform, SampleTransform):
                dataset = self.train_transform.held_out(dataset)
            self._datasets[split] = dataset
        return self._datasets[split]

    def _cache(self, n: int) -> RowCache | None:
        """A cache for `n` rendered rows (synthetic data with cache_rendered), else None."""
        if self._row_loader is None or not self.cache_rendered:
            return None
        return RowCache(n, (self.image_size, self.image_size, self.channels))

    def rows_dataset(self, rows: Manifest, *, native_size: bool = False) -> ManifestDataset:
        """A dataset over any rows of this data (a selection, or every split at once).

        It reads them the way this module does (files, or the in-memory renderer of the
        synthetic source), without training augmentation; `native_size` keeps each image's
        own size instead of resizing to `image_size`.
        """
        _ = self.manifest  # loading the rows sets up the synthetic renderer
        return ManifestDataset(
            rows,
            image_size=None if native_size else self.image_size,
            channels=self.channels,
            row_loader=self._row_loader,
            mask_loader=self._mask_loader,
            face_mask_loader=self._face_mask_loader,
            on_bad_sample=self.on_bad_sample,
            cache=None if native_size else self._cache(len(rows)),
        )

    def setup(self, stage: str | None = None) -> None:
        if stage in (None, "fit"):
            self.dataset("train")
            self.dataset("val")
        if stage in (None, "validate"):
            self.dataset("val")
        if stage in (None, "test"):
            self.dataset("test")

    def _loader(self, split: str, shuffle: bool, sampler=None) -> DataLoader:
        return DataLoader(
            self.dataset(split),
            batch_size=self.batch_size,
            shuffle=shuffle if sampler is None else False,
            sampler=sampler,
            collate_fn=collate_samples,
            drop_last=False,
            **self.loader_options(),
        )

    def train_dataloader(self) -> DataLoader:
        sampler = None
        if self.balanced_sampling:
            labels = self.dataset("train").labels
            counts = np.bincount(labels, minlength=2).astype(np.float64)
            weights = 1.0 / counts[labels]
            generator = torch.Generator().manual_seed(int(torch.initial_seed()) % (2**63))
            sampler = WeightedRandomSampler(
                torch.as_tensor(weights), num_samples=len(labels), generator=generator
            )
        return self._loader("train", shuffle=True, sampler=sampler)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)

    def references(self, split: str | None = None) -> list[dict[str, Any]]:
        """Manifest references for results.json (with the split's row count when given)."""
        reference = self.manifest.reference()
        if split is not None:
            reference["split"] = split
            reference["split_rows"] = int((self.manifest.frame["split"] == split).sum())
        return [reference]


def _labels_option(labels: Sequence[Any] | None) -> list[int] | None:
    """`data.train_labels` as a list of 0/1 (None: every label)."""
    if labels is None:
        return None
    if isinstance(labels, (str, int)):
        labels = [labels]
    parsed = [parse_label(label) for label in labels]
    if not parsed:
        raise ConfigError("data.train_labels=[]: give [0] (reals only), [1], or null (all)")
    return sorted(set(parsed))
