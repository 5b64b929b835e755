"""Celeb-DF (v2): real and synthesised celebrity videos -> a video-level manifest.

Real: `Celeb-real/id<P>_<clip>.mp4` and `YouTube-real/<n>.mp4`; fake:
`Celeb-synthesis/id<T>_id<S>_<clip>.mp4`, made from the real clip `id<T>_<clip>` with the face
of person S. The official test list (`List_of_testing_videos.txt`, checked in under
`data_manifests/celebdf_v2/`) has lines `<label> <folder>/<video>.mp4` where **1 means real
and 0 fake** (the opposite of our labels). Everything else is train, with a val split carved by
identity: a fake goes with its target person (whose clip it was made from), so no person, and
no clip with its fakes, crosses train and val. YouTube-real videos have no person id; each is
its own group.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from fakearena.data.builders.common import (
    data_manifests_dir,
    layout_error,
    list_videos,
    relative,
    require_root,
    video_manifest,
)
from fakearena.data.manifest import Manifest
from fakearena.errors import ConfigError, DataError

FOLDERS = {"Celeb-real": 0, "YouTube-real": 0, "Celeb-synthesis": 1}
LAYOUT = """  <root>/Celeb-real/id0_0000.mp4 ...
  <root>/YouTube-real/00000.mp4 ...
  <root>/Celeb-synthesis/id0_id1_0000.mp4 ...
  (<root>/List_of_testing_videos.txt is optional: the official list ships with fakearena)"""
LICENSE = "Celeb-DF Terms of Use: research only, no redistribution (see the dataset card)"
CITATION = (
    "Li et al., Celeb-DF: A Large-scale Challenging Dataset for DeepFake Forensics, CVPR 2020"
)
_REAL = re.compile(r"^(id\d+)_(\d+)$")
_FAKE = re.compile(r"^(id\d+)_(id\d+)_(\d+)$")


def load_test_list(path: Path | None = None) -> dict[str, int]:
    """Map `<folder>/<video>.mp4` to our label (0 real, 1 fake) from the official test list."""
    path = path or data_manifests_dir() / "celebdf_v2" / "List_of_testing_videos.txt"
    if not path.is_file():
        raise DataError(f"Celeb-DF test list {path} is missing; restore data_manifests/celebdf_v2/")
    tests: dict[str, int] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or parts[0] not in ("0", "1"):
            raise DataError(f"{path} line {number}: expected '<1|0> <folder>/<video>.mp4'")
        tests[parts[1]] = 1 - int(parts[0])  # the file says 1 = real
    return tests


def _identity(folder: str, stem: str) -> str:
    if folder == "YouTube-real":
        return f"celebdf/youtube/{stem}"
    match = (_REAL if folder == "Celeb-real" else _FAKE).match(stem)
    if match is None:
        return f"celebdf/{folder}/{stem}"  # an unexpected name: its own group
    return f"celebdf/{match.group(1)}"  # the person in the clip (the target for fakes)


def build_celebdf(
    root: str | Path | None,
    *,
    val_fraction: float = 0.1,
    seed: int = 0,
    test_list: Path | None = None,
) -> Manifest:
    """The Celeb-DF v2 video-level manifest with the official test split and an identity val."""
    root = require_root(root, "celebdf_v2", LAYOUT)
    if not 0 <= val_fraction < 1:
        raise ConfigError(f"val_fraction={val_fraction}: give a fraction in [0, 1)")
    for folder in FOLDERS:
        if not (root / folder).is_dir():
            raise layout_error("celebdf_v2", root, f"{folder}/", LAYOUT)
    tests = load_test_list(test_list)
    rows: list[dict[str, Any]] = []
    for folder, label in FOLDERS.items():
        for video in list_videos(root / folder):
            key = relative(video, root)
            if key in tests and tests[key] != label:
                raise DataError(
                    f"celebdf_v2: the test list labels {key} "
                    f"{'real' if tests[key] == 0 else 'fake'}, but its folder says otherwise; "
                    "the list must be the official one (1 = real, 0 = fake)"
                )
            rows.append(
                {
                    "path": key,
                    "label": label,
                    "split": "test" if key in tests else "train",
                    "video_id": f"celebdf_v2/{folder}/{video.stem}",
                    "identity": _identity(folder, video.stem),
                    "source": "real" if label == 0 else "celebdf_v2/Celeb-synthesis",
                }
            )
    found = {row["path"] for row in rows}
    missing_tests = sorted(k for k in tests if k not in found)
    train_ids = sorted({r["identity"] for r in rows if r["split"] == "train"})
    rng = np.random.default_rng(seed)
    n_val = round(val_fraction * len(train_ids))
    val_ids = set(rng.permutation(train_ids)[:n_val].tolist()) if n_val else set()
    for row in rows:
        if row["split"] == "train" and row["identity"] in val_ids:
            row["split"] = "val"
    return video_manifest(
        rows,
        name="celebdf_v2",
        root=root,
        description="Celeb-DF v2: official test list; train with a val split carved by identity",
        license=LICENSE,
        citation=CITATION,
        provenance={
            "builder": "celebdf_v2",
            "val_fraction": val_fraction,
            "seed": seed,
            "test_videos_missing_on_disk": missing_tests,
        },
    )
