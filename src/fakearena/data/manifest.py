"""Manifests: every set of images in fakearena is a CSV of rows plus a YAML card beside it.

Schema (DESIGN.md): `path, label, split, video_id, frame, identity, source` are required,
`sha256` is optional, extra columns (boxes, landmarks, detection probability) are kept. The
optional `mask` column names the blend mask of a blended fake (`fakearena.data.masks`), a path
relative to the root like `path`; empty when unknown.
A manifest's identity is the SHA-256 of its canonical CSV text; a manifest written by
`write_manifest` has exactly those bytes on disk, so `sha256sum name.csv` gives the same hash.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from fakearena.data.landmarks import LANDMARKS_COLUMN, invalid_landmark_rows
from fakearena.data.manifest_file import manifest_csv
from fakearena.errors import ConfigError, ManifestError
from fakearena.utils.io import atomic_write_text, sha256_bytes

REQUIRED_COLUMNS: tuple[str, ...] = (
    "path",
    "label",
    "split",
    "video_id",
    "frame",
    "identity",
    "source",
)
OPTIONAL_COLUMNS: tuple[str, ...] = ("sha256",)
MASK_COLUMN = "mask"
# Columns holding file paths relative to the manifest root (moved together by a union).
ROOT_RELATIVE_COLUMNS: tuple[str, ...] = ("path", MASK_COLUMN)
COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
SPLITS: tuple[str, ...] = ("train", "val", "test")
LABELS = {0: "real", 1: "fake"}


def parse_label(value: Any) -> int:
    """0/1/real/fake as 0 or 1 (a ConfigError names the accepted values)."""
    text = str(value).strip().lower()
    if text in ("0", "real"):
        return 0
    if text in ("1", "fake"):
        return 1
    raise ConfigError(f"label={value!r}: give real, fake, 0 or 1")


CARD_KEYS = ("name", "root", "description", "image_size", "license", "citation", "provenance")


@dataclass
class ManifestCard:
    """The YAML card beside a manifest CSV: what the rows are and how they were made."""

    name: str
    root: str = "."
    description: str = ""
    image_size: int | None = None
    license: str = ""
    citation: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in CARD_KEYS}

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> ManifestCard:
        unknown = sorted(set(data) - set(CARD_KEYS))
        if unknown:
            raise ManifestError(
                where, [f"unknown card key(s) {unknown}; allowed keys are {list(CARD_KEYS)}"]
            )
        if "name" not in data:
            raise ManifestError(where, ["the card has no 'name'; add `name: <manifest name>`"])
        return cls(**{k: data[k] for k in CARD_KEYS if k in data and data[k] is not None})


@dataclass
class Manifest:
    """Rows of the schema plus the card and the absolute folder the row paths are relative to.

    `root` is None for in-memory sources (the built-in synthetic faces) whose pixels are
    rendered, not read.
    """

    frame: pd.DataFrame
    card: ManifestCard
    root: Path | None
    csv_path: Path | None = None

    def __post_init__(self) -> None:
        self.frame = _normalise_frame(self.frame)

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def sha256(self) -> str:
        """Content identity: SHA-256 of the canonical CSV text of the rows."""
        return sha256_bytes(to_csv_text(self.frame).encode("utf-8"))

    def abspath(self, row: int) -> Path:
        """Absolute path of row `row` (positional index)."""
        if self.root is None:
            raise ManifestError(self.name, ["this manifest is in memory and has no files"])
        return self.root / self.frame["path"].iat[row]

    def select(
        self,
        split: str | Sequence[str] | None = None,
        label: int | None = None,
        source: str | Sequence[str] | None = None,
    ) -> Manifest:
        """Rows of the given split(s), label and source(s), as a new manifest (index reset)."""
        mask = pd.Series(True, index=self.frame.index)
        if split is not None:
            mask &= self.frame["split"].isin([split] if isinstance(split, str) else split)
        if label is not None:
            mask &= self.frame["label"] == int(label)
        if source is not None:
            mask &= self.frame["source"].isin([source] if isinstance(source, str) else source)
        return replace(self, frame=self.frame[mask].reset_index(drop=True))

    def frames_per_video(self, count: int) -> Manifest:
        """At most `count` rows per video: the frames at the centres of `count` equal segments
        of the video's frames in order (as `faces extract` samples a video); videos with fewer
        rows keep them all. Rows keep their order."""
        if count <= 0:
            raise ManifestError(self.name, [f"frames_per_video={count}: give a positive count"])
        order = self.frame.sort_values(["video_id", "frame"], kind="stable")
        kept: list[Any] = []
        for _, rows in order.groupby("video_id", sort=False):
            total = len(rows)
            if total <= count:
                kept += list(rows.index)
                continue
            centres = np.floor((np.arange(count) + 0.5) * total / count).astype(int)
            kept += list(rows.index[np.unique(centres)])
        return replace(self, frame=self.frame.loc[sorted(kept)].reset_index(drop=True))

    def summary(self) -> pd.DataFrame:
        """Row counts per split x label x source."""
        counts = self.frame.groupby(["split", "label", "source"]).size().rename("rows")
        return counts.reset_index()

    def reference(self) -> dict[str, Any]:
        """What a result record stores about this manifest."""
        return {
            "name": self.name,
            "sha256": self.sha256,
            "path": str(self.csv_path) if self.csv_path else None,
            "rows": len(self),
        }


def _normalise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    for column in COLUMNS:
        if column not in frame.columns and column in ("identity", "sha256"):
            frame[column] = ""
    if "label" in frame.columns:
        frame["label"] = frame["label"].astype(int)
    if "frame" in frame.columns:
        frame["frame"] = frame["frame"].astype(int)
    text_columns = ("path", "split", "video_id", "identity", "source", "sha256", MASK_COLUMN)
    for column in (*text_columns, LANDMARKS_COLUMN):
        if column in frame.columns:
            frame[column] = frame[column].fillna("").astype(str)
    ordered = [c for c in COLUMNS if c in frame.columns]
    extras = [c for c in frame.columns if c not in COLUMNS]
    return frame[ordered + extras].reset_index(drop=True)


def to_csv_text(frame: pd.DataFrame) -> str:
    """The canonical CSV text of a frame (schema column order, LF line endings, no index)."""
    buffer = io.StringIO()
    _normalise_frame(frame).to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def is_safe_relative_path(path: str) -> bool:
    """True when `path` is a relative POSIX path that stays inside its root."""
    if not path or path.startswith("/") or "\\" in path or (len(path) > 1 and path[1] == ":"):
        return False
    normalised = posixpath.normpath(path)
    return not (normalised == ".." or normalised.startswith("../") or normalised == ".")


def validate_frame(
    frame: pd.DataFrame,
    *,
    root: Path | None = None,
    check_files: bool = False,
) -> list[str]:
    """Every schema problem in `frame`, as sentences naming the row and the fix ([] if valid).

    Row numbers are 1-based data rows; the CSV line is the row number + 1 (header).
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        return [
            f"missing column(s) {missing}; the header must contain {list(REQUIRED_COLUMNS)} "
            "(identity may be empty, sha256 is optional)"
        ]
    problems: list[str] = []

    def rows_of(mask: pd.Series) -> list[int]:
        return [int(i) + 1 for i in frame.index[mask.to_numpy()]]

    def report(mask: pd.Series, what: str) -> None:
        rows = rows_of(mask)
        if rows:
            shown = ", ".join(str(r) for r in rows[:5]) + (" ..." if len(rows) > 5 else "")
            problems.append(f"row(s) {shown} ({len(rows)} in all): {what}")

    label = pd.to_numeric(frame["label"], errors="coerce")
    report(~label.isin([0, 1]), "label must be 0 (real) or 1 (fake)")
    report(~frame["split"].astype(str).isin(SPLITS), f"split must be one of {list(SPLITS)}")
    frame_index = pd.to_numeric(frame["frame"], errors="coerce")
    report(
        frame_index.isna() | (frame_index < 0) | (frame_index % 1 != 0),
        "frame must be an integer >= 0 (0 for still images)",
    )
    paths = frame["path"].fillna("").astype(str)
    unsafe = ~paths.map(is_safe_relative_path)
    report(
        unsafe,
        "path must be relative to the manifest root, use '/' separators and not leave the root "
        "(no absolute paths, no '..'); move the files under the root or change the card's root",
    )
    report(frame["video_id"].fillna("").astype(str) == "", "video_id is empty; use the file's id")
    report(frame["source"].fillna("").astype(str) == "", "source is empty (e.g. real, gan/dcgan)")
    if MASK_COLUMN in frame.columns:
        masks = frame[MASK_COLUMN].fillna("").astype(str)
        report(
            (masks != "") & ~masks.map(is_safe_relative_path),
            "mask must be empty or a path relative to the manifest root, like path",
        )
    if LANDMARKS_COLUMN in frame.columns:
        bad = pd.Series(False, index=frame.index)
        bad.iloc[invalid_landmark_rows(frame[LANDMARKS_COLUMN])] = True
        report(
            bad,
            f"{LANDMARKS_COLUMN} must be empty or 136 finite numbers x0 y0 ... x67 y67 (crop "
            "pixels); extract the faces again or clear the cell",
        )
    duplicated = paths.duplicated(keep="first") & (paths != "")
    report(duplicated, "duplicate path (each image appears once; remove the repeated rows)")
    if not problems:
        per_video = frame.groupby(frame["video_id"].astype(str))["label"].nunique()
        mixed = per_video[per_video > 1].index.tolist()
        if mixed:
            problems.append(
                f"video_id(s) {mixed[:5]} have rows labelled both real and fake; "
                "a video is one label: give the fake frames their own video_id"
            )
    if check_files and root is not None and not problems:
        exists = paths.map(lambda p: (root / p).is_file())
        report(~exists, f"file not found under root {root}; fix the path or the card's root")
    return problems


def _resolve_root(root: str, card_dir: Path, where: str) -> Path:
    for name in re.findall(r"\$\{oc\.env:([A-Za-z_][A-Za-z0-9_]*)\}", root):
        if name in os.environ and not os.environ[name].strip():  # "" would make "/<rest>"
            raise ManifestError(
                where,
                [
                    f"card root {root!r} names the environment variable {name}, which is set "
                    f"but empty; export {name}=<the folder it stands for> or write the folder "
                    "in the card"
                ],
            )
    if "${" in root:
        from omegaconf import OmegaConf

        try:
            root = str(OmegaConf.create({"root": root}).root)
        except Exception as exc:
            raise ManifestError(
                where,
                [
                    f"card root {root!r} cannot be resolved ({exc}); set the environment variable "
                    "it names (e.g. FAKEARENA_DATA) or write the folder in the card"
                ],
            ) from exc
    resolved = Path(os.path.expanduser(root))
    if not resolved.is_absolute():
        resolved = card_dir / resolved
    return resolved.resolve()


def card_path_for(csv_path: Path) -> Path:
    """The card that belongs to `csv_path` (same stem, .yaml)."""
    return csv_path.with_suffix(".yaml")


def read_manifest(path: str | os.PathLike[str], *, check_files: bool = False) -> Manifest:
    """Read and validate a manifest given its `.csv` or its `.yaml` card.

    Without a card, the root is the CSV's folder and the name is the file stem.

    Raises:
        ManifestError: listing every schema problem, naming file, rows and fix.
    """
    path = Path(path)
    csv_path = manifest_csv(path)
    card_file = card_path_for(csv_path)
    if card_file.is_file():
        try:
            card_data = yaml.safe_load(card_file.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ManifestError(card_file, [f"the card is not valid YAML: {exc}"]) from exc
        if not isinstance(card_data, dict):
            raise ManifestError(card_file, ["the card must be a YAML mapping of key: value"])
        card = ManifestCard.from_dict(card_data, str(card_file))
    else:
        card = ManifestCard(name=csv_path.stem, root=".")
    root = _resolve_root(str(card.root), csv_path.parent.resolve(), str(card_file))
    try:
        frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ManifestError(csv_path, [f"not a readable CSV file ({exc})"]) from exc
    problems = validate_frame(frame, root=root, check_files=check_files)
    if problems:
        raise ManifestError(csv_path, problems)
    return Manifest(frame=frame, card=card, root=root, csv_path=csv_path.resolve())


def write_manifest(
    manifest: Manifest, csv_path: str | os.PathLike[str], *, relative_root: bool = True
) -> Path:
    """Validate and write `manifest` as `csv_path` plus its card, each atomically.

    The card's root is written relative to the card when `relative_root` and the root lies
    under the card's folder, so a dataset folder can be moved as a whole.
    """
    csv_path = Path(csv_path)
    problems = validate_frame(manifest.frame, root=manifest.root)
    if problems:
        raise ManifestError(csv_path, problems)
    card = manifest.card.to_dict()
    if manifest.root is not None:
        root = manifest.root.resolve()
        folder = csv_path.parent.resolve()
        if relative_root and (root == folder or folder in root.parents):
            card["root"] = os.path.relpath(root, folder)
        else:
            card["root"] = str(root)
    # The CSV first, then the card: a reader never finds a card pointing at missing rows.
    atomic_write_text(csv_path, to_csv_text(manifest.frame))
    atomic_write_text(card_path_for(csv_path), yaml.safe_dump(card, sort_keys=False))
    return csv_path


def union_manifests(manifests: Iterable[Manifest], name: str | None = None) -> Manifest:
    """All rows of several manifests as one, with paths re-expressed from a common root.

    Raises:
        ManifestError: when the union repeats a file or mixes in-memory and on-disk manifests.
    """
    manifests = list(manifests)
    if not manifests:
        raise ManifestError("<union>", ["no manifests given"])
    roots = [m.root for m in manifests]
    if any(r is None for r in roots):
        if not all(r is None for r in roots):
            raise ManifestError("<union>", ["cannot mix in-memory and on-disk manifests"])
        common = None
        frames = [m.frame for m in manifests]
    else:
        common = Path(os.path.commonpath([str(r) for r in roots]))
        frames = []
        for m in manifests:
            prefix = os.path.relpath(m.root, common)
            frame = m.frame.copy()
            if prefix != ".":
                for column in ROOT_RELATIVE_COLUMNS:
                    if column in frame.columns:
                        frame[column] = [
                            posixpath.join(Path(prefix).as_posix(), p) if p else p
                            for p in frame[column].fillna("").astype(str)
                        ]
            frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    card = ManifestCard(
        name=name or "+".join(m.name for m in manifests),
        description="union of " + ", ".join(m.name for m in manifests),
        provenance={"union_of": [m.reference() for m in manifests]},
    )
    problems = validate_frame(frame)
    if problems:
        raise ManifestError(card.name, problems)
    return Manifest(frame=frame, card=card, root=common)
