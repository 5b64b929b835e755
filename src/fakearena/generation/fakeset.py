"""Writing a fake set: image files, split assignment, manifest and card, resumable.

A generation run writes `images/<index>.png` one file at a time (atomically), then the
manifest (`<name>.csv` + `<name>.yaml`) once all images exist. A state file written at the
start (`.generate.json`) pins what is being generated (checkpoint hash, seed, n, splits); an
interrupted run started again with the same settings only makes the missing images, and
one with other settings is refused rather than mixed in. Under several processes (a
`Shard`), every rank checks the folder, rank 0 claims it, each rank writes the images it owns
and rank 0 writes the manifest once all ranks are done.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from fakearena.data.manifest import (
    SPLITS,
    Manifest,
    ManifestCard,
    card_path_for,
    write_manifest,
)
from fakearena.errors import ConfigError
from fakearena.utils.io import atomic_path, atomic_write_json, sha256_file
from fakearena.utils.parallel import Shard

STATE_FILE = ".generate.json"


@dataclass(frozen=True)
class CheckpointInfo:
    """The generator checkpoint a fake set comes from."""

    path: Path
    sha256: str
    task: str


def split_assignment(n: int, split: str | Mapping[str, float]) -> list[str]:
    """The split of each of `n` images: one split name for all, or fractions per split.

    Fractions (e.g. `{train: 0.7, val: 0.15, test: 0.15}`) are assigned in index order as
    contiguous blocks (images are i.i.d. draws, so blocks are as random as a shuffle) and
    rounded so the counts add up to n.
    """
    if isinstance(split, str):
        if split not in SPLITS:
            raise ConfigError(f"split={split!r}; use one of {list(SPLITS)} or fractions per split")
        return [split] * n
    fractions = {str(k): float(v) for k, v in dict(split).items()}
    unknown = sorted(set(fractions) - set(SPLITS))
    if unknown or not fractions or any(v < 0 for v in fractions.values()):
        raise ConfigError(
            f"split={fractions}: give non-negative fractions for splits among {list(SPLITS)}, "
            "e.g. split='{train: 0.7, val: 0.15, test: 0.15}'"
        )
    total = sum(fractions.values())
    if total <= 0:
        raise ConfigError(f"split={fractions}: the fractions add up to 0")
    names = [s for s in SPLITS if s in fractions]
    bounds = np.round(np.cumsum([fractions[s] / total for s in names]) * n).astype(int)
    counts = np.diff(np.concatenate([[0], bounds]))
    return [name for name, count in zip(names, counts) for _ in range(int(count))]


class FakeSetWriter:
    """Files and manifest of one fake set in `out_dir` (see the module docstring).

    Args:
        out_dir: folder of the set (images under `images/`, manifest at the top).
        name: manifest name (file stem).
        source: the `source` column, e.g. `gan/dcgan`.
        video_id_prefix: video ids are `<prefix>/<index>`.
        splits: the split of each image (its length is n).
        settings: what defines the set (checkpoint hash, seed, n, ...), pinned for resuming.
        overwrite: start over when `out_dir` holds a set made with other settings.
        shard: this process's share when generating with several processes (default: all).
    """

    def __init__(
        self,
        out_dir: str | os.PathLike[str],
        *,
        name: str,
        source: str,
        video_id_prefix: str,
        splits: Sequence[str],
        settings: Mapping[str, Any],
        overwrite: bool = False,
        shard: Shard | None = None,
    ):
        self.out_dir = Path(out_dir)
        self.name = name
        self.source = source
        self.video_id_prefix = video_id_prefix
        self.splits = list(splits)
        self.settings = json.loads(json.dumps(dict(settings), default=str))
        self.images_dir = self.out_dir / "images"
        self.shard = shard or Shard()
        # every rank checks (so all fail alike), then rank 0 alone claims the folder
        previous = self._check(overwrite)
        if self.shard.is_main:
            self._claim(previous)
        self.shard.barrier()

    @property
    def n(self) -> int:
        return len(self.splits)

    @property
    def csv_path(self) -> Path:
        return self.out_dir / f"{self.name}.csv"

    def relative_path(self, index: int) -> str:
        return f"images/{index:06d}.png"

    def _check(self, overwrite: bool) -> dict[str, Any] | None:
        """Refuse a folder holding another set; returns the settings of a set to replace."""
        state_path = self.out_dir / STATE_FILE
        if state_path.is_file():
            previous = json.loads(state_path.read_text(encoding="utf-8"))
            if previous == self.settings:
                return None
            if not overwrite:
                changed = sorted(
                    k
                    for k in set(previous) | set(self.settings)
                    if previous.get(k) != self.settings.get(k)
                )
                raise ConfigError(
                    f"{self.out_dir} holds a fake set generated with other settings "
                    f"(different {', '.join(changed)}); choose another out=DIR, or pass "
                    "overwrite=true to replace it"
                )
            return previous
        if self.images_dir.is_dir() and any(self.images_dir.iterdir()) and not overwrite:
            raise ConfigError(
                f"{self.images_dir} already holds files not made by `fakearena generate`; "
                "choose an empty out=DIR or pass overwrite=true"
            )
        return None

    def _claim(self, previous: dict[str, Any] | None) -> None:
        if previous is not None:
            # the old manifest goes first: it must never point at deleted or new files
            for name in {self.name, str(previous.get("name") or self.name)}:
                csv_path = self.out_dir / f"{Path(name).name}.csv"
                for path in (csv_path, card_path_for(csv_path)):
                    path.unlink(missing_ok=True)
            for path in self.images_dir.glob("*.png"):
                path.unlink()
        self.images_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.out_dir / STATE_FILE, self.settings)

    def missing(self) -> list[int]:
        """Indices whose image file does not exist yet (all of them on a fresh run)."""
        return [i for i in range(self.n) if not (self.out_dir / self.relative_path(i)).is_file()]

    def todo(self) -> list[int]:
        """The missing indices this process makes (`index % world_size == rank`)."""
        return self.shard.select(self.missing())

    def write_image(self, index: int, image: np.ndarray) -> None:
        """Save uint8 (H, W, C) pixels as the PNG of `index`, atomically."""
        pixels = image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image
        with atomic_path(self.out_dir / self.relative_path(index)) as tmp:
            Image.fromarray(np.ascontiguousarray(pixels)).save(tmp, format="PNG")

    def finish(self, *, image_size: int, description: str, provenance: Mapping[str, Any]):
        """Write the manifest and card once every image exists; returns the CSV path.

        With several processes every rank waits for the others; rank 0 writes the manifest.
        """
        self.shard.barrier()
        missing = self.missing()
        if missing:
            raise ConfigError(
                f"{len(missing)} image(s) of {self.out_dir} are missing (first: "
                f"{self.relative_path(missing[0])}); run the same command again to finish"
            )
        if self.shard.is_main:  # the other ranks only wait for it
            rows = [
                {
                    "path": self.relative_path(i),
                    "label": 1,
                    "split": self.splits[i],
                    "video_id": f"{self.video_id_prefix}/{i}",
                    "frame": 0,
                    "identity": "",
                    "source": self.source,
                    "sha256": sha256_file(self.out_dir / self.relative_path(i)),
                }
                for i in range(self.n)
            ]
            card = ManifestCard(
                name=self.name,
                description=description,
                image_size=int(image_size),
                provenance=dict(provenance),
            )
            manifest = Manifest(pd.DataFrame(rows), card, self.out_dir.resolve())
            write_manifest(manifest, self.csv_path)
        self.shard.barrier()
        return self.csv_path
