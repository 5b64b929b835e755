"""Any folder: `real/` and `fake/` subfolders of images or videos, or a CSV of path,label.

Splits: one split for everything (`split=test`, the default), or `split=auto`, which assigns
whole videos/images to train/val/test by a seeded hash of their id (80/10/10 by default).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd

from fakearena.data.builders.common import relative, require_root, video_manifest
from fakearena.data.manifest import SPLITS, Manifest, parse_label
from fakearena.data.media import is_image_file, is_video_file
from fakearena.errors import ConfigError, DataError

LAYOUT = """  <root>/real/**/*.{mp4,avi,mov,...,png,jpg,...}
  <root>/fake/**/*.{...}
or csv=<file>.csv with columns path,label (real/fake/0/1) and optionally split, video_id,
identity, source (paths relative to the CSV's folder)"""


def _split_of(video_id: str, split: str, seed: int, fractions: tuple[float, float]) -> str:
    if split != "auto":
        return split
    digest = hashlib.sha256(f"{seed}:{video_id}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    val, test = fractions
    return "test" if u < test else "val" if u < test + val else "train"


def build_folder(
    root: str | Path | None = None,
    *,
    csv: str | Path | None = None,
    name: str | None = None,
    split: str = "test",
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
) -> Manifest:
    """A video-level manifest of a real/fake folder tree or of a CSV."""
    if split not in (*SPLITS, "auto"):
        raise ConfigError(f"split={split!r}: choose one of {[*SPLITS, 'auto']}")
    fractions = (float(val_fraction), float(test_fraction))
    if csv:
        return _from_csv(Path(csv).expanduser(), name, split, seed, fractions)
    root = require_root(root, "folder", LAYOUT)
    name = name or root.name
    rows: list[dict[str, Any]] = []
    for label_name in ("real", "fake"):
        folder = root / label_name
        if not folder.is_dir():
            raise DataError(f"folder: {folder} not found; the root must be laid out as:\n{LAYOUT}")
        for path in sorted(folder.rglob("*")):
            if path.name.startswith(".") or not (is_video_file(path) or is_image_file(path)):
                continue
            video_id = f"{name}/{path.relative_to(root).with_suffix('').as_posix()}"
            rows.append(
                {
                    "path": relative(path, root),
                    "label": parse_label(label_name),
                    "split": _split_of(video_id, split, seed, fractions),
                    "video_id": video_id,
                    "identity": "",
                    "source": label_name,
                }
            )
    return video_manifest(
        rows,
        name=name,
        root=root,
        description=f"real/fake folders of {root}",
        license="",
        citation="",
        provenance={"builder": "folder", "split": split, "seed": seed},
    )


def _from_csv(
    csv: Path, name: str | None, split: str, seed: int, fractions: tuple[float, float]
) -> Manifest:
    if not csv.is_file():
        raise DataError(f"folder: CSV {csv} not found; give csv=<file>.csv with path,label columns")
    table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    missing = [c for c in ("path", "label") if c not in table.columns]
    if missing:
        raise DataError(f"folder: {csv} lacks column(s) {missing}; it needs path and label")
    root = csv.parent.resolve()
    name = name or csv.stem
    rows = []
    for number, record in enumerate(table.to_dict("records"), 1):
        path = root / record["path"]
        if not path.is_file():
            raise DataError(f"folder: {csv} row {number}: {path} not found")
        try:
            label = parse_label(record["label"])
        except ConfigError as exc:
            raise DataError(f"folder: {csv} row {number}: {exc}") from exc
        video_id = (
            record.get("video_id") or f"{name}/{Path(record['path']).with_suffix('').as_posix()}"
        )
        rows.append(
            {
                "path": relative(path, root),
                "label": label,
                "split": record.get("split") or _split_of(video_id, split, seed, fractions),
                "video_id": video_id,
                "identity": record.get("identity", ""),
                "source": record.get("source") or ("real" if label == 0 else "fake"),
            }
        )
    return video_manifest(
        rows,
        name=name,
        root=root,
        description=f"listed in {csv}",
        license="",
        citation="",
        provenance={"builder": "folder", "csv": str(csv)},
    )
