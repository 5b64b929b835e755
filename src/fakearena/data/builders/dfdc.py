"""DFDC (Deepfake Detection Challenge): part folders with metadata.json -> a manifest.

Each part `dfdc_train_part_<k>/` holds videos and `metadata.json` mapping file name to
`{"label": "REAL"|"FAKE", "original": "<real>.mp4" (fakes), "split": ...}`. Splits are by
part, so a fake and its original (always in the same part) never cross splits; by default
parts 0-39 train, 40-44 val, 45-49 test. A fake's identity is its original video, so every
face-swap of one real clip groups with it.

Copies are often partial (a few parts, a zip extracted halfway): the builder takes the videos
that are there and lists, per part, the ones its metadata.json names but the folder lacks
(`DfdcMissing`); `on_missing="error"` refuses an incomplete copy instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
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
ON_MISSING = ("skip", "error")


@dataclass
class DfdcMissing:
    """Videos that the parts' metadata.json files list but the copy lacks.

    Attributes:
        listed: part folder name -> videos its metadata.json lists.
        missing: part folder name -> file names listed there but absent (sorted).
        splits: part folder name -> the split its videos go to.
        metadata: part folder name -> its metadata.json.
    """

    listed: dict[str, int] = field(default_factory=dict)
    missing: dict[str, list[str]] = field(default_factory=dict)
    splits: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def total_missing(self) -> int:
        return sum(len(names) for names in self.missing.values())

    @property
    def total_listed(self) -> int:
        return sum(self.listed.values())

    def incomplete(self) -> dict[str, list[str]]:
        """Part -> missing files, for the parts that miss any."""
        return {part: names for part, names in self.missing.items() if names}

    def summary(self) -> str:
        """One line: how many listed videos are missing, and from which parts."""
        incomplete = self.incomplete()
        if not incomplete:
            return (
                f"dfdc: all {self.total_listed} videos listed in {len(self.listed)} part(s) found"
            )
        shown = ", ".join(f"{part} {len(names)}" for part, names in list(incomplete.items())[:4])
        more = f", ... ({len(incomplete) - 4} more)" if len(incomplete) > 4 else ""
        return (
            f"dfdc: {self.total_missing} of {self.total_listed} listed videos are missing "
            f"in {len(incomplete)} of {len(self.listed)} part(s) ({shown}{more}); built from "
            "the videos present"
        )

    def report(self) -> dict[str, Any]:
        """The JSON report written beside the manifest."""
        return {
            "dataset": "dfdc",
            "totals": {
                "parts": len(self.listed),
                "incomplete_parts": len(self.incomplete()),
                "listed": self.total_listed,
                "present": self.total_listed - self.total_missing,
                "missing": self.total_missing,
            },
            "parts": {
                part: {
                    "metadata": self.metadata[part],
                    "split": self.splits[part],
                    "listed": self.listed[part],
                    "present": self.listed[part] - len(self.missing[part]),
                    "missing": self.missing[part],
                }
                for part in self.listed
            },
        }


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
    on_missing: str = "skip",
) -> tuple[Manifest, DfdcMissing]:
    """The DFDC video-level manifest of the videos present, split by part number.

    Args:
        root: the folder holding the part folders (or one part folder itself).
        val_parts: part numbers for validation (default 40-44).
        test_parts: part numbers for testing (default 45-49); every other part trains.
        on_missing: "skip" builds from the videos present and lists the absent ones in the
            returned `DfdcMissing`; "error" raises a DataError naming every incomplete part.

    Returns:
        The manifest and what its metadata.json files list but the copy lacks.
    """
    if on_missing not in ON_MISSING:
        raise ConfigError(f"on_missing={on_missing!r}: choose one of {list(ON_MISSING)}")
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
    absent = DfdcMissing()
    for part in parts:
        number = _part_number(part)
        split = "test" if number in test else "val" if number in val else "train"
        metadata = _read_metadata(part / "metadata.json")
        missing = sorted(name for name in metadata if not (part / name).is_file())
        absent.listed[part.name] = len(metadata)
        absent.missing[part.name] = missing
        absent.splits[part.name] = split
        absent.metadata[part.name] = str(part / "metadata.json")
        skipped = set(missing)
        for name, meta in sorted(metadata.items()):
            label_text = str(meta.get("label", "")).upper() if isinstance(meta, dict) else ""
            if label_text not in ("REAL", "FAKE"):
                raise DataError(
                    f"dfdc: {part / 'metadata.json'} entry {name!r} has label "
                    f"{meta.get('label') if isinstance(meta, dict) else meta!r}; expected REAL "
                    "or FAKE"
                )
            if name in skipped:
                continue
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
    incomplete = absent.incomplete()
    if incomplete and on_missing == "error":
        listing = "; ".join(
            f"{absent.metadata[part]}: {len(names)} missing, e.g. {names[:3]}"
            for part, names in incomplete.items()
        )
        raise DataError(
            f"dfdc: {absent.total_missing} video(s) listed in the parts' metadata.json are "
            f"missing ({listing}); re-extract those parts' zips, or build from the videos "
            "present with on_missing=skip"
        )
    if not rows and absent.total_listed:
        raise DataError(
            f"dfdc: none of the {absent.total_listed} videos listed in the metadata.json of "
            f"{', '.join(absent.listed)} is present under {root}; extract the parts' videos "
            "beside their metadata.json"
        )
    manifest = video_manifest(
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
            "missing_videos": {part: len(names) for part, names in incomplete.items()},
        },
    )
    return manifest, absent
