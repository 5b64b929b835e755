"""Face extraction: videos and images in, aligned face crops plus a frame-level manifest out.

Layout of the output folder `out`:

- `<video_id>/<frame:06d>.jpg` (`.png`/`.webp` with `format=`; `_<k>` appended per face with
  `multi_face`): the crops;
- `.shards/<hash>.json`: one per finished video, written atomically after its crops; a rerun
  skips every video whose shard exists for the same options (resume); a rerun with other
  options (size, format, ...) is refused unless `overwrite` moves the folder aside;
- `<name>.csv` + `<name>.yaml`: the manifest, assembled from the shards at the end, so it only
  ever lists crops that exist;
- `<name>_report.json`: per video the frames sampled, the frames without a face and those whose
  face got no 68-point landmarks (listed, never dropped silently), videos with no face at all,
  videos that could not be read, and videos that are truncated (fewer readable frames than the
  container declares, or decoding that stopped before the last sampled frame).

Each crop's row carries MTCNN's box and 5 points (full-frame pixels) and, with `landmarks=true`
(default), dlib's 68 landmarks of the detected face in crop pixels (`landmarks68`,
`fakearena.data.landmarks`): predicted on the full frame inside MTCNN's box, then mapped by
the crop's alignment matrix (`fakearena.faces.crop`). Landmarks fail when their eyes, nose tip
and mouth corners stray from MTCNN's; such a face keeps its crop with an empty cell and its
frame is listed in the report. `crop=deepfakebench` aligns on DeepfakeBench's 5 dlib points
instead of MTCNN's (its faces without landmarks are not cropped, like faces not found).
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image, ImageOps, UnidentifiedImageError

from fakearena.data.landmarks import LANDMARKS_COLUMN, format_landmarks
from fakearena.data.manifest import Manifest, ManifestCard, write_manifest
from fakearena.errors import DataError
from fakearena.faces.crop import crop_face
from fakearena.faces.crop_folder import check_crop_folder
from fakearena.faces.detect import FaceDetector, select_faces
from fakearena.faces.inputs import SourceItem
from fakearena.faces.landmarks import LandmarkDetector
from fakearena.faces.options import ExtractOptions
from fakearena.faces.video import (
    probe_video,
    read_frames,
    sample_frame_indices,
    truncation_note,
)
from fakearena.utils.io import atomic_path, atomic_write_json

SHARD_DIR = ".shards"
SHARD_VERSION = 2


@dataclass
class ItemResult:
    """What extraction found in one item: manifest rows, frames without a face, status."""

    key: str
    video_id: str
    status: str  # ok | no_face | error
    frames_sampled: list[int] = field(default_factory=list)
    no_face_frames: list[int] = field(default_factory=list)
    no_landmark_frames: list[int] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    resumed: bool = False
    frames_declared: int = 0  # what the container's header says (videos; 0: unknown)
    frames_readable: int = 0  # frames whose packets can be read (videos)
    frames_wanted: int = 0  # sampled frame indices asked for

    def truncation(self) -> str:
        """A sentence when the video holds less than it says or decoding stopped early."""
        return truncation_note(
            self.frames_declared,
            self.frames_readable,
            len(self.frames_sampled),
            self.frames_wanted,
        )


def safe_relative_dir(video_id: str) -> str:
    """A relative folder name for a video id: safe characters, no empty or dot components."""
    parts = []
    for part in video_id.split("/"):
        part = re.sub(r"[^A-Za-z0-9._+=@-]", "_", part)
        if part in ("", ".", ".."):
            part = "_" * max(1, len(part))
        parts.append(part)
    return "/".join(parts)


def load_image_rgb(path: Path) -> np.ndarray:
    """An image file as RGB uint8 HxWx3, rotated as its EXIF orientation says."""
    try:
        with Image.open(path) as image:
            image.load()
            return np.array(ImageOps.exif_transpose(image).convert("RGB"), dtype=np.uint8)
    except FileNotFoundError as exc:
        raise DataError(f"image {path} not found; check the path or the manifest root") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"image {path} cannot be read ({exc}); replace or remove it") from exc


def _frames_of(
    item: SourceItem, options: ExtractOptions, result: ItemResult
) -> Iterator[tuple[int, np.ndarray]]:
    """The item's frames to detect faces in; notes in `result` how many a video holds."""
    if item.kind == "image":
        result.frames_wanted = 1
        yield item.frame, load_image_rgb(item.path)
        return
    info = probe_video(item.path)
    indices = sample_frame_indices(info.frame_count, options.frames_per_video, options.every)
    result.frames_declared, result.frames_readable = info.declared_frames, info.frame_count
    result.frames_wanted = len(indices)
    yield from read_frames(item.path, indices)


def _encode(crop: np.ndarray, options: ExtractOptions) -> bytes:
    buffer = io.BytesIO()
    if options.format == "png":
        Image.fromarray(crop).save(buffer, format="PNG", compress_level=1)
    elif options.format == "webp":
        Image.fromarray(crop).save(buffer, format="WEBP", quality=options.jpeg_quality)
    else:
        Image.fromarray(crop).save(buffer, format="JPEG", quality=options.jpeg_quality)
    return buffer.getvalue()


def _write_file(path: Path, data: bytes) -> None:
    # Atomic rename without fsync: crops are many and cheap to redo; the shard that lists them
    # is fsynced after them, so resume never trusts a crop that was not renamed into place.
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def _fmt(values: Iterable[float], digits: int) -> str:
    return " ".join(f"{float(v):.{digits}f}" for v in values)


def shard_path(out: Path, key: str) -> Path:
    return out / SHARD_DIR / (hashlib.sha1(key.encode("utf-8")).hexdigest()[:20] + ".json")


def load_done(out: Path, item: SourceItem, options: ExtractOptions) -> ItemResult | None:
    """The finished result of `item` from its shard, or None when it must be (re)done."""
    path = shard_path(out, item.key)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if (
        data.get("version") != SHARD_VERSION
        or data.get("key") != item.key
        or data.get("options") != options.signature()
    ):
        return None
    rows = data["rows"]
    if not all((out / row["path"]).is_file() for row in rows):
        return None
    return ItemResult(
        key=item.key,
        video_id=item.video_id,
        status=data["status"],
        frames_sampled=data["frames_sampled"],
        no_face_frames=data["no_face_frames"],
        no_landmark_frames=data["no_landmark_frames"],
        rows=rows,
        resumed=True,
        frames_declared=int(data.get("frames_declared", 0)),
        frames_readable=int(data.get("frames_readable", 0)),
        frames_wanted=int(data.get("frames_wanted", 0)),
    )


def extract_item(
    item: SourceItem,
    detector: FaceDetector,
    options: ExtractOptions,
    out: Path,
    landmarker: LandmarkDetector | None = None,
) -> ItemResult:
    """Detect, align and write the faces of one video or image, then its shard.

    A file that cannot be read gives status "error" (no shard: a rerun tries again).
    `landmarker` is required when `options.landmarks` is on.
    """
    if options.landmarks and landmarker is None:
        raise ValueError("options.landmarks is on: give a LandmarkDetector")
    result = ItemResult(key=item.key, video_id=item.video_id, status="ok")
    folder = safe_relative_dir(item.video_id)
    try:
        for index, frame in _frames_of(item, options, result):
            result.frames_sampled.append(index)
            faces = select_faces(detector.detect(frame), options.select, options.multi_face)
            if not faces:
                result.no_face_frames.append(index)
                continue
            for k, face in enumerate(faces):
                cropped = crop_face(frame, face, options, landmarker)
                failed = cropped is None or (options.landmarks and cropped[1] is None)
                if failed and index not in result.no_landmark_frames:
                    result.no_landmark_frames.append(index)
                if cropped is None:
                    continue
                crop, marks = cropped
                suffix = f"_{k}" if options.multi_face else ""
                relative = f"{folder}/{index:06d}{suffix}.{options.format}"
                data = _encode(crop, options)
                _write_file(out / relative, data)
                row = {
                    "path": relative,
                    "frame": index,
                    "face": k,
                    "box": _fmt(face.box, 1),
                    "landmarks": _fmt(face.landmarks.reshape(-1), 1),
                    "face_prob": round(face.prob, 5),
                    "sha256": hashlib.sha256(data).hexdigest(),
                }
                if options.landmarks:
                    row[LANDMARKS_COLUMN] = format_landmarks(marks)
                result.rows.append(row)
    except DataError as exc:
        return ItemResult(key=item.key, video_id=item.video_id, status="error", error=str(exc))
    if not result.rows:
        result.status = "no_face"
    atomic_write_json(
        shard_path(out, item.key),
        {
            "version": SHARD_VERSION,
            "key": item.key,
            "video_id": item.video_id,
            "options": options.signature(),
            "status": result.status,
            "frames_sampled": result.frames_sampled,
            "no_face_frames": result.no_face_frames,
            "no_landmark_frames": result.no_landmark_frames,
            "frames_declared": result.frames_declared,
            "frames_readable": result.frames_readable,
            "frames_wanted": result.frames_wanted,
            "rows": result.rows,
        },
    )
    return result


# Worker processes: one detector each, made once.
_WORKER: dict[str, Any] = {}


def _init_worker(options: ExtractOptions, out: Path, threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    _WORKER["options"] = options
    _WORKER["out"] = out
    _WORKER["detector"] = make_detector(options)
    _WORKER["landmarker"] = make_landmarker(options)


def _work(item: SourceItem) -> ItemResult:
    return extract_item(
        item, _WORKER["detector"], _WORKER["options"], _WORKER["out"], _WORKER["landmarker"]
    )


def make_landmarker(options: ExtractOptions) -> LandmarkDetector | None:
    """dlib's 68-point predictor when the options store landmarks, else None."""
    return LandmarkDetector() if options.landmarks else None


def make_detector(options: ExtractOptions) -> FaceDetector:
    return FaceDetector(
        device=options.device,
        detect_size=options.detect_size,
        min_face_size=options.min_face_size,
        min_prob=options.min_prob,
    )


def run_items(
    items: list[SourceItem],
    out: Path,
    options: ExtractOptions,
    *,
    workers: int = 1,
    progress: bool = True,
) -> list[ItemResult]:
    """Extract every item not already done; results in the order of `items`."""
    from tqdm import tqdm

    results: dict[str, ItemResult] = {}
    todo = []
    for item in items:
        done = load_done(out, item, options)
        if done is None:
            todo.append(item)
        else:
            results[item.key] = done
    bar = tqdm(
        total=len(items), initial=len(results), unit="video", desc="faces", disable=not progress
    )
    try:
        if todo and workers > 1:
            threads = max(1, (os.cpu_count() or 1) // workers)
            context = multiprocessing.get_context("spawn")
            with context.Pool(
                min(workers, len(todo)), _init_worker, (options, out, threads)
            ) as pool:
                for result in pool.imap_unordered(_work, todo):
                    results[result.key] = result
                    bar.update(1)
        elif todo:
            detector, landmarker = make_detector(options), make_landmarker(options)
            for item in todo:
                results[item.key] = extract_item(item, detector, options, out, landmarker)
                bar.update(1)
    finally:
        bar.close()
    return [results[item.key] for item in items]


def build_frame_manifest(
    items: list[SourceItem],
    results: list[ItemResult],
    out: Path,
    card: ManifestCard,
    landmarks: bool = True,
) -> Manifest:
    """The frame-level manifest of all crops written (root = `out`); `landmarks` adds the
    `landmarks68` column."""
    records = []
    for item, result in zip(items, results):
        for row in result.rows:
            records.append(
                {
                    "path": row["path"],
                    "label": item.label,
                    "split": item.split,
                    "video_id": item.video_id,
                    "frame": row["frame"],
                    "identity": item.identity,
                    "source": item.source,
                    "sha256": row["sha256"],
                    "face": row["face"],
                    "box": row["box"],
                    "landmarks": row["landmarks"],
                    "face_prob": row["face_prob"],
                    LANDMARKS_COLUMN: row.get(LANDMARKS_COLUMN, ""),
                }
            )
    columns = [
        "path", "label", "split", "video_id", "frame", "identity", "source", "sha256",
        "face", "box", "landmarks", "face_prob",
    ] + ([LANDMARKS_COLUMN] if landmarks else [])  # fmt: skip
    frame = pd.DataFrame.from_records(records, columns=columns)
    return Manifest(frame=frame, card=card, root=out.resolve())


def build_report(items: list[SourceItem], results: list[ItemResult]) -> dict[str, Any]:
    """Per-video counts, the frames without a face, and the videos with none or unreadable."""
    videos = {}
    for item, result in zip(items, results):
        videos[result.key] = {
            "video_id": item.video_id,
            "path": str(item.path),
            "status": result.status,
            "frames_sampled": len(result.frames_sampled),
            "frames_with_face": len(result.frames_sampled) - len(result.no_face_frames),
            "faces": len(result.rows),
            "no_face_frames": result.no_face_frames,
            "no_landmark_frames": result.no_landmark_frames,
            **({"error": result.error} if result.error else {}),
        }
        if item.kind == "video" and result.status != "error":
            videos[result.key].update(
                frames_in_container=result.frames_declared or result.frames_readable,
                frames_readable=result.frames_readable,
                truncated=bool(result.truncation()),
            )
            if result.truncation():
                videos[result.key]["truncation"] = result.truncation()
    return {
        "totals": {
            "videos": len(results),
            "videos_ok": sum(r.status == "ok" for r in results),
            "videos_without_face": sum(r.status == "no_face" for r in results),
            "videos_unreadable": sum(r.status == "error" for r in results),
            "frames_sampled": sum(len(r.frames_sampled) for r in results),
            "frames_without_face": sum(len(r.no_face_frames) for r in results),
            "frames_without_landmarks": sum(len(r.no_landmark_frames) for r in results),
            "faces": sum(len(r.rows) for r in results),
            "resumed": sum(r.resumed for r in results),
            "videos_truncated": sum(bool(r.truncation()) for r in results),
        },
        "videos_without_face": [r.video_id for r in results if r.status == "no_face"],
        "videos_unreadable": {r.video_id: r.error for r in results if r.status == "error"},
        "videos_truncated": {r.video_id: r.truncation() for r in results if r.truncation()},
        "videos": videos,
    }


@dataclass
class ExtractionSummary:
    """Where the manifest and report went, and the totals of the report."""

    manifest_path: Path
    report_path: Path
    totals: dict[str, Any]
    unreadable: dict[str, str]
    without_face: list[str]
    truncated: dict[str, str] = field(default_factory=dict)


def extract_faces(
    items: list[SourceItem],
    out: str | os.PathLike[str],
    options: ExtractOptions,
    *,
    name: str = "faces",
    card: ManifestCard | None = None,
    workers: int = 1,
    progress: bool = True,
    overwrite: bool = False,
) -> ExtractionSummary:
    """Extract faces from `items` into `out` and write `<name>.csv` and `<name>_report.json`.

    A folder holding crops made with other options is refused (`overwrite`: moved aside).
    """
    options.check()
    if not items:
        raise DataError("nothing to extract: the input holds no video or image files")
    keys = [item.key for item in items]
    if len(set(keys)) != len(keys):
        repeated = sorted({k for k in keys if keys.count(k) > 1})[:5]
        raise DataError(f"the input repeats video id(s) {repeated}; each video must appear once")
    folders = {}
    for item in items:
        folder = safe_relative_dir(item.video_id)
        other = folders.setdefault(folder, item.video_id)
        if other != item.video_id:
            raise DataError(
                f"video ids {other!r} and {item.video_id!r} map to the same folder {folder!r}; "
                "rename one of them"
            )
    out = Path(out)
    check_crop_folder(out, out / SHARD_DIR, options, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    results = run_items(items, out, options, workers=workers, progress=progress)
    card = card or ManifestCard(name=name)
    manifest = build_frame_manifest(items, results, out, card, options.landmarks)
    manifest_path = write_manifest(manifest, out / f"{name}.csv")
    report = build_report(items, results)
    report_path = atomic_write_json(out / f"{name}_report.json", report)
    return ExtractionSummary(
        manifest_path=manifest_path,
        report_path=Path(report_path),
        totals=report["totals"],
        unreadable=report["videos_unreadable"],
        without_face=report["videos_without_face"],
        truncated=report["videos_truncated"],
    )
