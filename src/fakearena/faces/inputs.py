"""What `faces extract input=...` means: a video, an image, a folder of them, or a manifest."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fakearena.data.manifest import SPLITS, parse_label, read_manifest
from fakearena.data.media import IMAGE_SUFFIXES, is_image_file, is_video_file
from fakearena.errors import ConfigError, DataError


@dataclass(frozen=True)
class SourceItem:
    """One video or image to extract faces from, with the manifest fields its rows get."""

    path: Path
    kind: str  # "video" or "image"
    video_id: str
    label: int
    split: str
    identity: str = ""
    source: str = "real"
    frame: int = 0  # frame index of a still image taken from a frame-level manifest

    @property
    def key(self) -> str:
        return self.video_id if self.kind == "video" else f"{self.video_id}#{self.frame}"


def _kind(path: Path, where: str) -> str:
    if is_video_file(path):
        return "video"
    if is_image_file(path):
        return "image"
    raise DataError(
        f"{where}: {path} is neither a video ({', '.join(('.mp4', '.avi', '.mov', '...'))}) nor "
        f"an image ({', '.join(IMAGE_SUFFIXES)}); remove it or convert it"
    )


def resolve_inputs(
    input_path: str | os.PathLike[str],
    *,
    label: Any = None,
    split: str | None = None,
    source: str | None = None,
) -> tuple[list[SourceItem], str, dict[str, Any]]:
    """The items to extract, a default manifest name, and a description of the input (for a
    manifest also its card's license and citation, which the crops inherit).

    A manifest (`.csv` or its `.yaml` card) gives label, split, video_id, identity and source
    per row; any other input takes them from `label` (default real), `split` (default test)
    and `source` (default: real or fake, as the label).

    Raises:
        DataError: for a missing input, an empty folder, or a file of an unknown type.
        ConfigError: for label/split/source given with a manifest, or bad values.
    """
    path = Path(input_path).expanduser()
    if path.is_file() and path.suffix.lower() in (".csv", ".yaml", ".yml"):
        given = {k: v for k, v in (("label", label), ("split", split), ("source", source)) if v}
        if given:
            raise ConfigError(
                f"{sorted(given)} apply to video/image/folder inputs; the rows of manifest "
                f"{path} carry their own label, split and source: drop those options"
            )
        return _from_manifest(path)
    value = parse_label("real" if label is None else label)
    split = split or "test"
    if split not in SPLITS:
        raise ConfigError(f"split={split!r}: choose one of {list(SPLITS)}")
    source = source or ("real" if value == 0 else "fake")
    fields = {"label": value, "split": split, "source": source}
    if path.is_file():
        item = SourceItem(
            path=path.resolve(), kind=_kind(path, "input"), video_id=path.stem, **fields
        )
        return [item], path.stem, {"input": str(path.resolve()), "type": item.kind}
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and not p.name.startswith(".") and (is_video_file(p) or is_image_file(p))
        )
        if not files:
            raise DataError(
                f"folder {path} holds no video ({', '.join(('.mp4', '.avi', '.mov'))}, ...) or "
                f"image ({', '.join(IMAGE_SUFFIXES)}) files; point input= at the media"
            )
        items = [
            SourceItem(
                path=p.resolve(),
                kind=_kind(p, "input"),
                video_id=p.relative_to(path).with_suffix("").as_posix(),
                **fields,
            )
            for p in files
        ]
        return (
            items,
            path.resolve().name or "faces",
            {"input": str(path.resolve()), "type": "folder"},
        )
    raise DataError(
        f"input {path} not found; give a video, an image, a folder of them, or a video-level "
        "manifest (.csv) such as one written by `fakearena data build`"
    )


def _from_manifest(path: Path) -> tuple[list[SourceItem], str, dict[str, Any]]:
    manifest = read_manifest(path)
    if manifest.root is None:
        raise DataError(f"manifest {path} has no root folder; its card must name one")
    items = []
    seen: dict[str, int] = {}
    frame = manifest.frame
    for row in range(len(frame)):
        where = f"manifest {manifest.csv_path} row {row + 1}"
        file = manifest.root / frame["path"].iat[row]
        kind = _kind(file, where)
        video_id = frame["video_id"].iat[row]
        if kind == "video":
            if video_id in seen:
                raise DataError(
                    f"{where}: video_id {video_id!r} is repeated (first at row "
                    f"{seen[video_id]}); a video-level manifest has one row per video"
                )
            seen[video_id] = row + 1
        items.append(
            SourceItem(
                path=file,
                kind=kind,
                video_id=video_id,
                label=int(frame["label"].iat[row]),
                split=frame["split"].iat[row],
                identity=frame["identity"].iat[row],
                source=frame["source"].iat[row],
                frame=int(frame["frame"].iat[row]) if kind == "image" else 0,
            )
        )
    missing = [str(item.path) for item in items if not item.path.is_file()]
    if missing:
        raise DataError(
            f"manifest {manifest.csv_path}: {len(missing)} file(s) not found under its root "
            f"{manifest.root}, e.g. {missing[:3]}; fix the card's root (the dataset folder) or "
            "rebuild the manifest"
        )
    reference = {
        "input": str(manifest.csv_path),
        "type": "manifest",
        **manifest.reference(),
        "license": manifest.card.license,
        "citation": manifest.card.citation,
    }
    return items, manifest.name, reference
