"""Real faces of a few chosen people, split per person, in identity-balanced batches.

The face-swap autoencoder learns one decoder per identity, so it needs, for each chosen
person, training *and* validation faces of that person. Detection manifests split by person
(no one appears in two splits), so by default (`holdout=identity`) this module pools each
person's real rows from every split and holds out a seeded fraction of them (whole videos
when the person has at least three, else single frames) as the autoencoder's val and test
rows; `holdout=manifest` keeps the manifest's own split column instead. Samples carry
`identity`: the position of the row's person in `identity_names`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

from fakearena.data.datamodule import FaceDataModule
from fakearena.data.datasets import ManifestDataset, collate_samples
from fakearena.data.identity_batches import IdentityBatchSampler
from fakearena.data.manifest import SPLITS, Manifest
from fakearena.errors import ConfigError, DataError

HOLDOUTS = ("identity", "manifest")
__all__ = ["IdentityBatchSampler", "IdentityDataModule", "IdentityDataset"]


class IdentityDataset(Dataset):
    """A split's `ManifestDataset` whose samples also carry the person's code (`identity`)."""

    def __init__(self, base: ManifestDataset, codes: np.ndarray):
        self.base = base
        self.codes = codes.astype(np.int64)
        self.manifest = base.manifest

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = self.base[index]
        if "skipped" not in sample:
            sample["identity"] = torch.tensor(self.codes[index])
        return sample


def resolve_identities(
    frame: pd.DataFrame, identities: Sequence[str] | None, n_identities: int, where: str
) -> list[str]:
    """The chosen people: `identities` checked against the real rows, or the first n sorted."""
    if int(n_identities) < 2:
        raise ConfigError(
            f"task.n_identities={n_identities}: a face swap needs at least two identities"
        )
    counts = frame.loc[(frame["label"] == 0) & (frame["identity"] != ""), "identity"]
    available = sorted(counts.unique().tolist())
    shown = ", ".join(available[:20]) + (" ..." if len(available) > 20 else "")
    if identities is None:
        if len(available) < int(n_identities):
            raise DataError(
                f"{where} has real rows of {len(available)} identit(y/ies) ({shown or 'none'}) "
                f"but task.n_identities={n_identities}; a face swap needs at least two people "
                "with a non-empty identity column"
            )
        return available[: int(n_identities)]
    names = [str(name) for name in identities]
    if len(names) != int(n_identities):
        raise ConfigError(
            f"task.identities lists {len(names)} people but task.n_identities={n_identities}; "
            f"set task.n_identities={len(names)} (it sizes the decoders)"
        )
    if len(set(names)) != len(names):
        raise ConfigError(f"task.identities={names} repeats a name; list each person once")
    missing = [name for name in names if name not in set(available)]
    if missing:
        raise DataError(
            f"identit(y/ies) {missing} have no real (label 0) rows in {where}; "
            f"identities with real rows: {shown or 'none'}"
        )
    return names


def holdout_splits(
    frame: pd.DataFrame, val_fraction: float, test_fraction: float, seed: int, where: str
) -> pd.Series:
    """Per-identity train/val/test assignment of `frame`'s rows (whole videos when possible)."""
    if not (0 < val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ConfigError(
            f"data.val_fraction={val_fraction}, data.test_fraction={test_fraction}: "
            "need 0 < val, 0 <= test and val + test < 1"
        )
    splits = pd.Series("train", index=frame.index)
    rng = np.random.default_rng(seed)
    for name, rows in frame.groupby("identity", sort=True):
        videos = sorted(rows["video_id"].unique())
        units = videos if len(videos) >= 3 else list(rows.index)
        if len(units) < 3:
            raise DataError(
                f"identity {name} has {len(rows)} real row(s) in {where}; holding out val and "
                "test faces needs at least 3 (add images of this person or pick another)"
            )
        order = rng.permutation(len(units))
        n_val = max(1, round(val_fraction * len(units)))
        n_test = max(1, round(test_fraction * len(units))) if test_fraction > 0 else 0
        n_val = min(n_val, len(units) - 1 - n_test)
        for rank, position in enumerate(order[: n_val + n_test]):
            unit = units[position]
            split = "val" if rank < n_val else "test"
            mask = rows["video_id"] == unit if len(videos) >= 3 else rows.index == unit
            splits[rows.index[np.asarray(mask)]] = split
    return splits


class IdentityDataModule(FaceDataModule):
    """`FaceDataModule` restricted to the real faces of the chosen identities.

    Args:
        identities: names from the manifest's identity column (None: the first
            `n_identities` in sorted order).
        n_identities: how many people (the number of decoders); at least 2.
        holdout: "identity" (per-person held-out rows) or "manifest" (the split column).
        val_fraction: share of each person's rows (or videos) held out for validation.
        test_fraction: share held out for testing.
        split_seed: seed of the held-out choice.
        epoch_size: training faces drawn per epoch (None: as many as there are training
            rows); more makes fewer, longer epochs, so validation and checkpoints cost less
            of a short run.
        people_per_batch: people in a training batch, each giving `batch_size //
            people_per_batch` faces, in turns so all are visited equally
            (`fakearena.data.identity_batches`; None: all people, one share each).
        **kwargs: the `FaceDataModule` options.
    """

    def __init__(
        self,
        *,
        identities: Sequence[str] | None = None,
        n_identities: int = 2,
        holdout: str = "identity",
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        split_seed: int = 0,
        epoch_size: int | None = None,
        people_per_batch: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if epoch_size is not None and int(epoch_size) < 1:
            raise ConfigError(f"data.epoch_size={epoch_size} must be a positive number of faces")
        if holdout not in HOLDOUTS:
            raise ConfigError(f"data.holdout={holdout!r}; use one of {list(HOLDOUTS)}")
        self.requested_identities = list(identities) if identities is not None else None
        self.n_identities = int(n_identities)
        self.holdout = holdout
        self.val_fraction = float(val_fraction)
        self.test_fraction = float(test_fraction)
        self.split_seed = int(split_seed)
        self.epoch_size = None if epoch_size is None else int(epoch_size)
        if people_per_batch is not None and not 1 <= int(people_per_batch) <= int(n_identities):
            raise ConfigError(
                f"data.people_per_batch={people_per_batch}: give a number of people from 1 to "
                f"task.n_identities={n_identities} (null: all of them in every batch)"
            )
        self.people_per_batch = None if people_per_batch is None else int(people_per_batch)
        self.identity_names: list[str] = []
        self._source: Manifest | None = None
        self._chosen: Manifest | None = None
        self._identity_datasets: dict[str, IdentityDataset] = {}

    @property
    def source_manifest(self) -> Manifest:
        """All rows of the configured data (before choosing people and splits)."""
        if self._source is None:
            self._source = super().manifest
        return self._source

    @property
    def manifest(self) -> Manifest:
        """Real rows of the chosen identities with the autoencoder's split in `split`."""
        if self._chosen is None:
            source = self.source_manifest
            where = f"data {self.name} ({source.name})"
            frame = source.frame
            self.identity_names = resolve_identities(
                frame, self.requested_identities, self.n_identities, where
            )
            chosen = frame[(frame["label"] == 0) & frame["identity"].isin(self.identity_names)]
            chosen = chosen.copy()
            chosen["manifest_split"] = chosen["split"]
            if self.holdout == "identity":
                chosen["split"] = holdout_splits(
                    chosen, self.val_fraction, self.test_fraction, self.split_seed, where
                )
            else:
                self._check_manifest_splits(chosen, where)
            self._chosen = replace(source, frame=chosen.reset_index(drop=True))
        return self._chosen

    def _check_manifest_splits(self, frame: pd.DataFrame, where: str) -> None:
        for name in self.identity_names:
            present = set(frame.loc[frame["identity"] == name, "split"])
            missing = [s for s in ("train", "val") if s not in present]
            if missing:
                raise DataError(
                    f"identity {name} has no real rows in split(s) {missing} of {where}; "
                    "each person needs train and val faces: use data.holdout=identity to hold "
                    "out part of each person's rows, or pick other task.identities"
                )

    def dataset(self, split: str) -> IdentityDataset:
        if split not in SPLITS:
            raise ConfigError(f"unknown split {split!r}; splits are {list(SPLITS)}")
        if split not in self._identity_datasets:
            base = super().dataset(split)
            codes = base.manifest.frame["identity"].map(self.identity_names.index).to_numpy()
            missing = sorted(set(range(len(self.identity_names))) - set(codes.tolist()))
            if missing:
                raise DataError(
                    f"identit(y/ies) {[self.identity_names[i] for i in missing]} have no real "
                    f"rows in split {split!r} of data {self.name}; every chosen person needs "
                    "faces in every split (data.holdout=identity holds some out per person)"
                )
            self._identity_datasets[split] = IdentityDataset(base, codes)
        return self._identity_datasets[split]

    def train_dataloader(self) -> DataLoader:
        dataset = self.dataset("train")
        counts = np.bincount(dataset.codes, minlength=len(self.identity_names))
        weights = 1.0 / counts[dataset.codes].astype(np.float64)
        seed = int(torch.initial_seed()) % (2**63)
        sampler = WeightedRandomSampler(
            torch.as_tensor(weights),
            num_samples=self.epoch_size or len(dataset),
            generator=torch.Generator().manual_seed(seed),
        )
        batches = IdentityBatchSampler(
            sampler,
            self.batch_size,
            False,
            dataset.codes,
            people_per_batch=self.people_per_batch,
            seed=seed,
        )
        return DataLoader(
            dataset,
            batch_sampler=batches,
            collate_fn=collate_samples,
            **self.loader_options(),
        )

    def references(self, split: str | None = None) -> list[dict[str, Any]]:
        reference = self.source_manifest.reference()
        reference.update(
            identities=list(self.identity_names),
            holdout=self.holdout,
            rows_used=len(self.manifest),
        )
        if split is not None:
            reference["split"] = split
            reference["split_rows"] = int((self.manifest.frame["split"] == split).sum())
        return [reference]
