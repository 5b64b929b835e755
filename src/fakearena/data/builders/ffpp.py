"""FaceForensics++: the official layout and splits -> a video-level manifest.

Real videos `original_sequences/youtube/<c>/videos/<id>.mp4`; fakes
`manipulated_sequences/<Method>/<c>/videos/<target>_<source>.mp4`. The official split lists
(`data_manifests/ffpp/{train,val,test}.json`) hold pairs `[a, b]`: the real videos a and b and
the fakes `a_b` and `b_a` belong to that split. Video ids are `ffpp/<Method|youtube>/<c>/<name>`
so the same pair under different methods stays distinct.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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

METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures", "FaceShifter")
# Methods that put the source person's face into the target video; the others re-enact the
# target's own face, so the person seen stays the target.
SWAP_METHODS = ("Deepfakes", "FaceSwap", "FaceShifter")
COMPRESSIONS = {"c0": ("c0", "raw"), "raw": ("c0", "raw"), "c23": ("c23",), "c40": ("c40",)}

LAYOUT = """  <root>/original_sequences/youtube/<c>/videos/000.mp4 ... 999.mp4
  <root>/manipulated_sequences/<Method>/<c>/videos/000_003.mp4 ... (<target>_<source>.mp4)
with <c> one of c23, c40, raw (c0) and <Method> among Deepfakes, Face2Face, FaceSwap,
NeuralTextures, FaceShifter (download with the official FaceForensics++ script: -d all -c c23)"""

LICENSE = "FaceForensics++ Terms of Use: research only, no redistribution (see the dataset card)"
CITATION = (
    "Rossler et al., FaceForensics++: Learning to Detect Manipulated Facial Images, ICCV 2019"
)


def load_splits(folder: Path | None = None) -> dict[str, str]:
    """Map each real video id ('000') and fake pair name ('000_003') to its official split."""
    folder = folder or data_manifests_dir() / "ffpp"
    splits: dict[str, str] = {}
    for split in ("train", "val", "test"):
        path = folder / f"{split}.json"
        if not path.is_file():
            raise DataError(f"FF++ split list {path} is missing; restore data_manifests/ffpp/")
        for pair in json.loads(path.read_text(encoding="utf-8")):
            a, b = (str(x) for x in pair)
            for name in (a, b, f"{a}_{b}", f"{b}_{a}"):
                if splits.setdefault(name, split) != split:
                    raise DataError(f"FF++ split lists put {name} in two splits ({path})")
    return splits


def _videos_dir(base: Path, compression: str) -> Path | None:
    for folder in COMPRESSIONS[compression]:
        candidate = base / folder / "videos"
        if candidate.is_dir():
            return candidate
    return None


def compressions_present(root: Path) -> list[str]:
    """The compressions (c0, c23, c40) whose real videos folder exists under `root`."""
    youtube = root / "original_sequences" / "youtube"
    return [c for c in ("c0", "c23", "c40") if _videos_dir(youtube, c) is not None]


def _compression_error(root: Path, compression: str) -> DataError | None:
    """The asked compression is absent but others exist: say which, and how to ask for them."""
    present = compressions_present(root)
    if not present:
        return None
    c = COMPRESSIONS[compression][0]
    options = " or ".join(f"compression={p}" for p in present)
    return DataError(
        f"ffpp: compression={compression} asks for original_sequences/youtube/{c}/videos, "
        f"which {root} does not have; this copy holds {', '.join(present)}: pass {options} "
        f"(or download {c} with the official FaceForensics++ script: -c {c})"
    )


def build_ffpp(
    root: str | Path | None,
    *,
    compression: str = "c23",
    methods: list[str] | None = None,
    splits_dir: Path | None = None,
) -> Manifest:
    """The FF++ video-level manifest for one compression.

    `methods=None` takes every method present; a method named explicitly must be present.
    Videos outside the official split lists are left out (the build report counts them).
    """
    root = require_root(root, "ffpp", LAYOUT)
    if compression not in COMPRESSIONS:
        raise ConfigError(f"compression={compression!r}: choose one of c0 (raw), c23, c40")
    c = COMPRESSIONS[compression][0]
    unknown = [m for m in methods or [] if m not in METHODS]
    if unknown:
        raise ConfigError(f"methods: unknown FF++ method(s) {unknown}; known: {list(METHODS)}")
    splits = load_splits(splits_dir)
    real_dir = _videos_dir(root / "original_sequences" / "youtube", compression)
    if real_dir is None:
        raise _compression_error(root, compression) or layout_error(
            "ffpp", root, f"original_sequences/youtube/{c}/videos", LAYOUT
        )
    rows: list[dict[str, Any]] = []
    unlisted: list[str] = []
    for video in list_videos(real_dir):
        split = splits.get(video.stem)
        if split is None:
            unlisted.append(relative(video, root))
            continue
        rows.append(
            {
                "path": relative(video, root),
                "label": 0,
                "split": split,
                "video_id": f"ffpp/youtube/{c}/{video.stem}",
                "identity": f"ffpp/{video.stem}",
                "source": "real",
            }
        )
    used_methods = []
    for method in methods or METHODS:
        fake_dir = _videos_dir(root / "manipulated_sequences" / method, compression)
        if fake_dir is None:
            if methods:
                raise layout_error(
                    "ffpp", root, f"manipulated_sequences/{method}/{c}/videos", LAYOUT
                )
            continue
        used_methods.append(method)
        for video in list_videos(fake_dir):
            parts = video.stem.split("_")
            split = splits.get(video.stem)
            if len(parts) != 2 or split is None:
                unlisted.append(relative(video, root))
                continue
            target, source = parts
            person = source if method in SWAP_METHODS else target
            rows.append(
                {
                    "path": relative(video, root),
                    "label": 1,
                    "split": split,
                    "video_id": f"ffpp/{method}/{c}/{video.stem}",
                    "identity": f"ffpp/{person}",
                    "source": f"ffpp/{method}",
                }
            )
    if not used_methods:
        raise layout_error("ffpp", root, f"manipulated_sequences/<Method>/{c}/videos", LAYOUT)
    return video_manifest(
        rows,
        name=f"ffpp_{c}",
        root=root,
        description=f"FaceForensics++ {c}: youtube originals + {', '.join(used_methods)}, "
        "official splits",
        license=LICENSE,
        citation=CITATION,
        provenance={
            "builder": "ffpp",
            "compression": c,
            "methods": used_methods,
            "left_out_not_in_official_splits": unlisted,
        },
    )
