"""GAN data: the training people's real faces, judged against held-out faces of the same people.

A GAN learns the real faces of the training split. Detection data split by person, so the
manifest's val/test rows show *other* people: there even a perfect generator of the training
people scores precision 0.06-0.08 and 3.2x the FID floor (the arena's faces,
`benchmarks/results/gan_quality/README.md`). This module (`reference=people`, task=gan's
default) judges the GAN against what it learns instead:

- train: the real (label 0) train-split rows, minus the held-out ones;
- val / test (the headline reference, `val/fid` picks the checkpoint): held-out real faces of
  the *same* people, disjoint from the training rows: the val/test rows of
  `holdout_manifests` (further shots of the training people, e.g. the arena's extra renders),
  or else `val_fraction` / `test_fraction` of each training person's rows (whole videos when
  the person has at least 3, see `fakearena.data.identities.holdout_splits`);
- `unseen_people` (with `unseen_people=true`): the manifest's own val/test real rows, the people
  the GAN never saw in identity-disjoint data: the second reference, reported beside the
  first (`<stage>/unseen_people/<metric>`).

`reference=split` keeps the manifest's split column as the only reference (the old protocol).
`evaluation_sets(split)` names the loaders of `val_dataloader()` / `test_dataloader()` in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
from torch.utils.data import DataLoader

from fakearena.data.datamodule import FaceDataModule, read_all, union_of
from fakearena.data.datasets import ManifestDataset, collate_samples
from fakearena.data.identities import holdout_splits
from fakearena.data.manifest import Manifest, union_manifests
from fakearena.errors import ConfigError, DataError

REFERENCES = ("people", "split")
UNSEEN = "unseen_people"


@dataclass(frozen=True)
class EvaluationSet:
    """One reference of an evaluation split: its name ("" for the headline) and what it is."""

    name: str
    description: str


class GANDataModule(FaceDataModule):
    """`FaceDataModule` for task=gan: training people's faces, same-people references.

    Args:
        reference: "people" (held-out faces of the training people) or "split" (the
            manifest's val/test rows).
        holdout_manifests: manifests of further real faces of the training people whose
            val/test rows are the references (empty: hold out rows of each training person).
        val_fraction: share of each training person's rows held out for validation.
        test_fraction: share held out for testing.
        split_seed: seed of the held-out choice.
        unseen_people: also judge against the manifest's own val/test real rows.
        **kwargs: the `FaceDataModule` options.
    """

    def __init__(
        self,
        *,
        reference: str = "people",
        holdout_manifests: Sequence[str] | None = None,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        split_seed: int = 0,
        unseen_people: bool = True,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if reference not in REFERENCES:
            raise ConfigError(f"data.reference={reference!r}; use one of {list(REFERENCES)}")
        self.reference = reference
        self.holdout_paths = list(holdout_manifests or [])
        self.val_fraction = float(val_fraction)
        self.test_fraction = float(test_fraction)
        self.split_seed = int(split_seed)
        self.unseen_people = bool(unseen_people)
        self._source: Manifest | None = None
        self._people: Manifest | None = None
        self._holdouts: list[Manifest] = []
        self._unseen: dict[str, ManifestDataset] = {}

    @property
    def source_manifest(self) -> Manifest:
        """All rows of the configured data, with the manifest's own split column."""
        if self._source is None:
            self._source = super().manifest
        return self._source

    @property
    def training_people(self) -> list[str]:
        """Identities of the real train-split rows ("" stands for rows without one)."""
        train = self.source_manifest.select(split="train", label=0).frame
        return sorted(train["identity"].unique().tolist())

    @property
    def manifest(self) -> Manifest:
        """Rows this module trains and judges on: train rows plus the same-people references."""
        if self.reference == "split":
            return self.source_manifest
        if self._people is None:
            self._people = self._people_manifest()
        return self._people

    def _people_manifest(self) -> Manifest:
        source = self.source_manifest
        where = f"data {self.name} ({source.name})"
        train = source.select(split="train", label=0)
        if len(train) == 0:
            raise DataError(
                f"{where} has no real (label 0) train rows: a GAN learns real faces; check "
                "the manifest's split and label columns"
            )
        if not self.holdout_paths:
            frame = train.frame.copy()
            frame["split"] = holdout_splits(
                frame, self.val_fraction, self.test_fraction, self.split_seed, where
            ).to_numpy()
            return replace(train, frame=frame)
        if source.root is None:
            raise DataError(
                f"{where} is rendered in memory, so data.holdout_manifests (files) cannot join "
                "it; write the faces first (`fakearena data synth`) and use data=manifest, or "
                "drop data.holdout_manifests to hold out rows of each training person"
            )
        self._holdouts = read_all(self.holdout_paths)
        held = union_of(self._holdouts).select(split=["val", "test"], label=0)
        check_holdout(train.frame, held.frame, where, self.holdout_paths)
        return union_manifests([train, held], name=f"{source.name}+people_holdout")

    def evaluation_sets(self, split: str) -> list[EvaluationSet]:
        """The references of an evaluation split, in the order of its loaders."""
        if split not in ("val", "test"):
            raise ConfigError(f"evaluation split {split!r}; use val or test")
        if self.reference == "split":
            return [EvaluationSet("", f"{split} split of the data, label 0")]
        how = (
            f"{split} rows of {', '.join(m.name for m in self._holdouts) or 'the holdout'}"
            if self.holdout_paths
            else f"{split}_fraction of each training person's real train rows, held out"
        )
        sets = [EvaluationSet("", f"held-out real faces of the training people ({how})")]
        if self._has_unseen(split):
            sets.append(
                EvaluationSet(
                    UNSEEN,
                    f"the data's own {split} split, label 0 (people the GAN never saw when "
                    "the splits are by identity)",
                )
            )
        return sets

    def _has_unseen(self, split: str) -> bool:
        return self.unseen_people and len(self.source_manifest.select(split=split, label=0)) > 0

    def unseen_dataset(self, split: str) -> ManifestDataset:
        """The manifest's own real rows of an evaluation split (the `unseen_people` set)."""
        if split not in self._unseen:
            rows = self.source_manifest.select(split=split, label=0)
            self._unseen[split] = self.rows_dataset(rows)
        return self._unseen[split]

    def _evaluation_loaders(self, split: str) -> DataLoader | list[DataLoader]:
        first = self._loader(split, shuffle=False)
        if self.reference == "split" or not self._has_unseen(split):
            return first
        unseen = DataLoader(
            self.unseen_dataset(split),
            batch_size=self.batch_size,
            shuffle=False,
            num_workers=self.num_workers,
            collate_fn=collate_samples,
            persistent_workers=self.num_workers > 0,
        )
        return [first, unseen]

    def val_dataloader(self) -> DataLoader | list[DataLoader]:
        return self._evaluation_loaders("val")

    def test_dataloader(self) -> DataLoader | list[DataLoader]:
        return self._evaluation_loaders("test")

    def references(self, split: str | None = None) -> list[dict[str, Any]]:
        """The source manifest (and holdout manifests) for results.json, with the protocol."""
        reference = self.source_manifest.reference()
        reference["gan_reference"] = self.reference
        if self.reference == "people":
            _ = self.manifest  # reads the holdout manifests
            reference["training_people"] = self.training_people
            reference["holdout"] = (
                [m.reference() for m in self._holdouts]
                if self.holdout_paths
                else {
                    "val_fraction": self.val_fraction,
                    "test_fraction": self.test_fraction,
                    "split_seed": self.split_seed,
                }
            )
        if split is not None:
            rows = self.manifest.frame
            reference["split"] = split
            reference["split_rows"] = int((rows["split"] == split).sum())
            if split in ("val", "test") and self.reference == "people" and self._has_unseen(split):
                reference[f"{UNSEEN}_rows"] = len(self.unseen_dataset(split))
        return [reference]


def check_holdout(
    train: pd.DataFrame, held: pd.DataFrame, where: str, paths: Sequence[str]
) -> None:
    """A DataError unless the held-out rows show the training people and no training row."""
    named = f"data.holdout_manifests={list(paths)}"
    for split in ("val", "test"):
        if not (held["split"] == split).any():
            raise DataError(
                f"{named} has no real {split} rows; give the held-out faces of the training "
                "people val and test rows"
            )
    strangers = sorted(set(held["identity"]) - set(train["identity"]))
    if strangers:
        raise DataError(
            f"{named} holds people who are not in the train split of {where}: "
            f"{strangers[:5]}; the holdout must show the training people only"
        )
    shared = sorted(set(held["video_id"]) & set(train["video_id"]))
    if shared:
        raise DataError(
            f"{named} repeats training rows of {where} (video ids {shared[:3]}); held-out "
            "faces must be other images than the ones the GAN trains on"
        )
