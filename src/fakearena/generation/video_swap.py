"""Converting a video with a face-swap checkpoint: every frame's face swapped, pasted back.

As faceswap's and DeepFaceLab's `convert`: frames are decoded in order; MTCNN finds the faces;
one person is followed through the video (`fakearena.faces.tracking`); their face is aligned to
the crop the swap model was trained on (the 5-point similarity of `fakearena faces extract`,
`size` and `margin`), swapped to the donor identity and blended into the crop by the run's
paste-back recipe (`task.blend`: the mask and colour transfer, `fakearena.generation.swapper`);
the crop goes back into the frame through the same mask, warped by the inverse alignment, so
pixels outside the mask keep the source frame's values exactly. A frame where the person is not
found is passed through unchanged and counted. The result is an H.264 mp4 at the source's frame
rate and size with its audio copied (`fakearena.faces.video_writer`).

The output folder holds `<stem>.mp4`, `frames.csv` (per frame: swapped or why not, the face box
and detection probability, the mask file), `masks/<frame>.png` (the paste-back mask in frame
pixels, 255 = swapped pixel; only for swapped frames) and a one-row video manifest
`<name>.csv` + card (label 1, the target and donor identities) that `fakearena faces extract`
reads to make face crops for `fakearena evaluate`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from fakearena.data.manifest import Manifest, ManifestCard, write_manifest
from fakearena.errors import ConfigError, DataError
from fakearena.faces.detect import FaceDetector, alignment_matrix
from fakearena.faces.detect import warp_affine as crop_face
from fakearena.faces.tracking import FaceTrack
from fakearena.faces.video import probe_video, read_frames
from fakearena.faces.video_writer import VideoWriter
from fakearena.generation.swapper import Swapper
from fakearena.utils.io import atomic_write_png, sha256_file


@dataclass(frozen=True)
class ConvertOptions:
    """How faces are found and cut (as the swap model's training crops were) and written."""

    size: int = 64
    margin: float = 0.15
    align: str = "similarity"
    detect_size: int = 640
    min_prob: float = 0.9
    batch_frames: int = 8
    crf: int = 18
    device: str = "cpu"


def center_matrix(matrix: np.ndarray) -> np.ndarray:
    """A frame-to-crop (2, 3) matrix in continuous pixel coordinates (pixel (i, j) covers
    [j, j+1) x [i, i+1)) as OpenCV's, whose pixel centres are integers."""
    linear, shift = matrix[:, :2], matrix[:, 2]
    return np.hstack([linear, (shift + linear @ np.array([0.5, 0.5]) - 0.5)[:, None]])


def paste_back(
    frame: np.ndarray, crop: np.ndarray, mask: np.ndarray, matrix: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """`crop` (a face cut from `frame` by the frame-to-crop `matrix`, then changed) put back
    into `frame` through `mask` (float, crop pixels). Returns the new frame and the mask in
    frame pixels (float32); where it is 0 the frame is untouched."""
    import cv2

    height, width = frame.shape[:2]
    size = crop.shape[0]
    to_crop = center_matrix(np.asarray(matrix, dtype=np.float64))
    to_frame = cv2.invertAffineTransform(to_crop)
    corners = np.array([[0, 0], [size - 1, 0], [0, size - 1], [size - 1, size - 1]], float)
    points = corners @ to_frame[:, :2].T + to_frame[:, 2]
    x0, y0 = np.maximum(np.floor(points.min(axis=0)).astype(int) - 1, 0)
    x1 = min(int(np.ceil(points[:, 0].max())) + 2, width)
    y1 = min(int(np.ceil(points[:, 1].max())) + 2, height)
    full_mask = np.zeros((height, width), np.float32)
    if x1 <= x0 or y1 <= y0:  # the crop lies outside the frame
        return frame, full_mask
    # the same map on the region of interest only: frame (x, y) = roi (x - x0, y - y0)
    roi_to_crop = to_crop.copy()
    roi_to_crop[:, 2] += to_crop[:, :2] @ np.array([x0, y0], float)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    shape = (x1 - x0, y1 - y0)
    face = cv2.warpAffine(crop, roi_to_crop, shape, flags=flags, borderMode=cv2.BORDER_REPLICATE)
    weight = cv2.warpAffine(
        mask.astype(np.float32), roi_to_crop, shape, flags=flags, borderValue=0.0
    )
    region = frame[y0:y1, x0:x1].astype(np.float32)
    blended = region + weight[..., None] * (face.astype(np.float32) - region)
    out = frame.copy()
    out[y0:y1, x0:x1] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    full_mask[y0:y1, x0:x1] = weight
    return out, full_mask


def _batches(video: Path, size: int) -> Iterator[list[tuple[int, np.ndarray]]]:
    batch: list[tuple[int, np.ndarray]] = []
    for item in read_frames(video):
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def donor_code(task: Any, donor: str) -> int:
    """The index of `donor` among the swap run's identities, or a ConfigError listing them."""
    names = list(task.identity_names)
    if donor not in names:
        raise ConfigError(
            f"donor={donor!r} is not a person of this face-swap checkpoint; it swaps to one of "
            f"{names}"
        )
    return names.index(donor)


def convert_video(
    task: Any,
    video: str | Path,
    out_dir: str | Path,
    *,
    donor: str,
    target: str = "",
    name: str | None = None,
    options: ConvertOptions = ConvertOptions(),
    blend: dict[str, Any] | None = None,
    provenance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Swap the tracked person of `video` to `donor` in every frame; write the folder described
    in the module doc. Returns a summary (frames, swapped, passed through, paths, seconds).

    Raises:
        DataError: the video cannot be read, or no frame holds a face.
        ConfigError: an unknown donor.
    """
    start = time.perf_counter()
    video, out_dir = Path(video), Path(out_dir)
    code = donor_code(task, donor)
    info = probe_video(video)
    swapper = Swapper(task, blend)
    crop_mask = swapper.mask(options.size, options.size)
    detector = FaceDetector(device=options.device, detect_size=options.detect_size)
    track = FaceTrack(min_prob=options.min_prob)
    stem = name or f"{video.stem}_to_{donor}"
    rows: list[dict[str, Any]] = []
    bar = tqdm(total=info.frame_count, desc=f"convert {video.name}", unit="frame")
    with VideoWriter(out_dir / f"{stem}.mp4", video, crf=options.crf) as writer, bar:
        for batch in _batches(video, options.batch_frames):
            found = detector.detect_batch([frame for _, frame in batch])
            for (index, frame), faces in zip(batch, found):
                face = track.follow(faces)
                row: dict[str, Any] = {"frame": index, "swapped": face is not None}
                if face is None:
                    row["reason"] = "no face" if not faces else "tracked person not found"
                    writer.write(frame)
                else:
                    matrix = alignment_matrix(face, options.size, options.align, options.margin)
                    crop = crop_face(frame, matrix, options.size)
                    fake = swapper([crop], code)[0]
                    frame, mask = paste_back(frame, fake, crop_mask, matrix)
                    mask_path = f"masks/{index:06d}.png"
                    atomic_write_png(out_dir / mask_path, np.rint(mask * 255.0).astype(np.uint8))
                    row.update(
                        box=" ".join(f"{v:.1f}" for v in face.box),
                        prob=round(float(face.prob), 4),
                        mask=mask_path,
                    )
                    writer.write(frame)
                rows.append(row)
                bar.update(1)
    frames = pd.DataFrame(rows)
    frames.to_csv(out_dir / "frames.csv", index=False)
    swapped = int(frames["swapped"].sum()) if len(frames) else 0
    if swapped == 0:
        raise DataError(
            f"no frame of {video} has a face to swap (min_prob={options.min_prob}); the video "
            f"was copied unchanged to {out_dir / f'{stem}.mp4'}. Check that it shows a face"
        )
    summary = {
        "video": str(video),
        "output": str(out_dir / f"{stem}.mp4"),
        "frames": len(frames),
        "swapped": swapped,
        "passed_through": len(frames) - swapped,
        "track_restarts": track.restarts,
        "fps": info.fps,
        "size": [info.width, info.height],
        "audio_packets": writer.audio_packets,
        "seconds": round(time.perf_counter() - start, 1),
    }
    write_video_manifest(
        out_dir, stem, task, donor=donor, target=target, summary=summary, provenance=provenance
    )
    return summary


def write_video_manifest(
    out_dir: Path,
    stem: str,
    task: Any,
    *,
    donor: str,
    target: str,
    summary: dict[str, Any],
    provenance: dict[str, Any] | None,
) -> Path:
    """The one-row manifest of the converted video (label 1, split test), with its card."""
    generator = str(task.hparams.get("net_name") or "faceswap")
    video = out_dir / f"{stem}.mp4"
    frame = pd.DataFrame(
        [
            {
                "path": video.name,
                "label": 1,
                "split": "test",
                "video_id": f"convert/{generator}/{stem}",
                "frame": 0,
                "identity": target,
                "source": f"faceswap/{generator}",
                "sha256": sha256_file(video),
                "donor": donor,
                "source_video": summary["video"],
            }
        ]
    )
    card = ManifestCard(
        name=stem,
        root=".",
        description=(
            f"{summary['video']} with its tracked person swapped to {donor} in "
            f"{summary['swapped']} of {summary['frames']} frames (the rest passed through)"
        ),
        image_size=None,
        license="as the source video",
        provenance={**(provenance or {}), "convert": summary, "donor": donor, "target": target},
    )
    return write_manifest(Manifest(frame, card, out_dir.resolve()), out_dir / f"{stem}.csv")
