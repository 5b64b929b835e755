"""What every dataset builder shares: the checked-in split lists, layout errors, manifests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from fakearena.data.manifest import Manifest, ManifestCard
from fakearena.errors import DataError


def data_manifests_dir() -> Path:
    """The folder of checked-in split lists and dataset cards (`data_manifests/`)."""
    package_dir = Path(__file__).resolve().parents[2]  # src/fakearena
    candidates = (package_dir / "data_manifests", package_dir.parents[1] / "data_manifests")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise DataError(
        "fakearena cannot find its data_manifests folder (looked in "
        + ", ".join(str(c) for c in candidates)
        + "); reinstall the package with `pip install .` from the repository root"
    )


def require_root(root: str | Path | None, dataset: str, layout: str) -> Path:
    """The dataset root as an absolute path, or a DataError showing the expected layout."""
    if root is None or str(root) == "":
        raise DataError(
            f"`fakearena data build {dataset}` needs root=DIR, a folder laid out as:\n{layout}"
        )
    path = Path(root).expanduser()
    if not path.is_dir():
        raise DataError(
            f"{dataset} root {path} is not a folder; give the folder laid out as:\n{layout}"
        )
    return path.resolve()


def layout_error(dataset: str, root: Path, missing: str, layout: str) -> DataError:
    return DataError(
        f"{dataset}: {missing} not found under {root}; the root must be laid out as:\n{layout}"
    )


def list_videos(folder: Path, extensions: Sequence[str] = (".mp4",)) -> list[Path]:
    """Video files directly in `folder`, sorted by name."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in extensions and not p.name.startswith(".")
    )


def relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def video_manifest(
    rows: list[dict[str, Any]],
    *,
    name: str,
    root: Path,
    description: str,
    license: str,
    citation: str,
    provenance: dict[str, Any],
) -> Manifest:
    """A video-level manifest: one row per video at frame 0, paths relative to the root."""
    if not rows:
        raise DataError(f"{name}: no videos found under {root}; check root= and the layout")
    frame = pd.DataFrame.from_records(rows)
    frame["frame"] = 0
    duplicated = frame["video_id"][frame["video_id"].duplicated()].tolist()
    if duplicated:
        raise DataError(f"{name}: video ids {duplicated[:5]} are repeated under {root}")
    card = ManifestCard(
        name=name,
        root=str(root),
        description=description,
        license=license,
        citation=citation,
        provenance=provenance,
    )
    return Manifest(frame=frame, card=card, root=root)
