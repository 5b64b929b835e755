"""DFDC (Deepfake Detection Challenge): part folders with metadata.json -> a manifest.

Each part `dfdc_train_part_<k>/` holds videos and `metadata.json` mapping file name to
`{"label": "REAL"|"FAKE", "original": "<real>.mp4" (fakes), "split": ...}`. Splits are by
part, so a fake and its original (always in the same part) never cross splits; by default
parts 0-39 train, 40-44 val, 45-49 test. A fake's identity is its original video, so every
face-swap of one real clip groups with it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fakearena.data.builders.common import relative, require_root, video_manifest
from fakearena.data.manifest import Manifest
from fakearena.errors import ConfigError, DataError

LAYOUT = """  <root>/dfdc_train_part_0/metadata.json, <root>/dfdc_train_part_0/*.mp4
  <root>/dfdc_train_part_1/...   (one folder per downloaded part; the zip folders as they are)"""
LICENSE = "DFDC Dataset License Agreement (Meta): research only, no redistribution"
CITATION = "Dolhansky et al., The DeepFake Detection Challenge (DFDC) Dataset, arXiv:2006.07397"
DEFAULT_VAL_PARTS = tuple(range(40, 45))
DEFAULT_TEST_PARTS = tuple(range(45, 50))
_PART = re.compile(r"(\d+)$")


def _part_number(folder: Path) -> int:
    match = _PART.search(folder.name)
    if match is None:
        raise DataError(
            f"dfdc: part folder {folder} has no number at the end of its name "
            "(expected dfdc_train_part_<k>); rename it"
        )
    return int(match.group(1))


def _read_metadata(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"dfdc: {path} is not readable JSON ({exc}); re-extract the part") from exc
    if not isinstance(data, dict):
        raise DataError(f"dfdc: {path} must map video file names to their metadata")
    return data


def build_dfdc(
    root: str | Path | None,
    *,
    val_parts: list[int] | None = None,
    test_parts: list[int] | None = None,
) -> Manifest:
    """The DFDC video-level manifest, split by part number."""
    root = require_root(root, "dfdc", LAYOUT)
    val = set(DEFAULT_VAL_PARTS if val_parts is None else (int(p) for p in val_parts))
    test = set(DEFAULT_TEST_PARTS if test_parts is None else (int(p) for p in test_parts))
    if val & test:
        raise ConfigError(f"dfdc: parts {sorted(val & test)} are in both val_parts and test_parts")
    parts = sorted((p.parent for p in root.glob("*/metadata.json")), key=lambda p: p.name)
    if (root / "metadata.json").is_file():
        parts.insert(0, root)  # root is itself one part
    if not parts:
        raise DataError(
            f"dfdc: no <part>/metadata.json under {root}; the root must be laid out as:\n{LAYOUT}"
        )
    rows: list[dict[str, Any]] = []
    for part in parts:
        number = _part_number(part)
        split = "test" if number in test else "val" if number in val else "train"
        metadata = _read_metadata(part / "metadata.json")
        missing = [name for name in metadata if not (part / name).is_file()]
        if missing:
            raise DataError(
                f"dfdc: {len(missing)} video(s) listed in {part / 'metadata.json'} are missing, "
                f"e.g. {missing[:3]}; re-extract the part's zip"
            )
        for name, meta in sorted(metadata.items()):
            label_text = str(meta.get("label", "")).upper() if isinstance(meta, dict) else ""
            if label_text not in ("REAL", "FAKE"):
                raise DataError(
                    f"dfdc: {part / 'metadata.json'} entry {name!r} has label "
                    f"{meta.get('label') if isinstance(meta, dict) else meta!r}; expected REAL "
                    "or FAKE"
                )
            label = int(label_text == "FAKE")
            original = Path(str(meta.get("original") or name)).stem if label else Path(name).stem
            rows.append(
                {
                    "path": relative(part / name, root),
                    "label": label,
                    "split": split,
                    "video_id": f"dfdc/{part.name}/{Path(name).stem}",
                    "identity": f"dfdc/{original}",
                    "source": "real" if label == 0 else "dfdc/fake",
                }
            )
    return video_manifest(
        rows,
        name="dfdc",
        root=root,
        description="DFDC training parts, split by part",
        license=LICENSE,
        citation=CITATION,
        provenance={
            "builder": "dfdc",
            "parts": [p.name for p in parts],
            "val_parts": sorted(val),
            "test_parts": sorted(test),
        },
    )
