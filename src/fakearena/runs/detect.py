"""`fakearena detect PATH ckpt=...`: fake probabilities for a video, an image or a folder.

Faces are found with MTCNN (`fakearena.faces.detect`), aligned like `fakearena faces extract`
crops them, resized to the detector's training size and scored; a progress bar counts the
frames. Each input's verdict is the fake probability of its most suspicious face (per frame,
averaged over frames), with the mean over all faces beside it (uncertain near the threshold; a
photo with several faces gets a line per face, see `detect_report`). A file that cannot be read
is listed and skipped: the others are still scored; a truncated video is scored on the frames
it holds, with a warning (as `faces extract` gives). The run folder gets
detections.csv (one row per face: input, frame index, box, face probability, fake
probability) and detections.json (the per-input summary with its frames and errors).

Exit codes: 0; 1 when some input could not be read; 2 when no input holds a face.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from omegaconf import DictConfig, OmegaConf
from PIL import Image

from fakearena.data.datasets import to_tensor
from fakearena.data.media import IMAGE_SUFFIXES, is_video_file, load_image
from fakearena.errors import ConfigError, DataError
from fakearena.runs.detect_report import (
    CSV_COLUMNS,
    InputResult,
    Verdicts,
    summary,
    verdict_table,
)
from fakearena.tasks.checkpoints import resolve_checkpoint, restore_task
from fakearena.utils.io import atomic_path, atomic_write_json
from fakearena.utils.parallel import resolve_device
from fakearena.utils.quiet import quiet_third_party

NO_FACE_EXIT_CODE = 2
UNREADABLE_EXIT_CODE = 1


def list_inputs(path: Path) -> list[tuple[Path, str]]:
    """The images and videos to score: the file itself, or those inside a folder (sorted)."""

    def kind(p: Path) -> str | None:
        if is_video_file(p):
            return "video"
        return "image" if p.suffix.lower() in IMAGE_SUFFIXES else None

    if path.is_file():
        if kind(path) is None:
            raise DataError(
                f"{path} is neither an image ({', '.join(IMAGE_SUFFIXES)}) nor a video; "
                "give an image, a video or a folder of them"
            )
        return [(path, kind(path))]  # type: ignore[list-item]
    if path.is_dir():
        found = [(p, kind(p)) for p in sorted(path.rglob("*")) if p.is_file() and kind(p)]
        if not found:
            raise DataError(f"folder {path} holds no image or video files")
        return found  # type: ignore[return-value]
    raise DataError(f"input {path} does not exist; give a video, an image or a folder")


def planned_frames(path: Path, kind: str, cfg: DictConfig) -> tuple[list[int], Any]:
    """The frame indices detect will score in an input (an image is frame 0), and the video's
    `VideoInfo` (None for an image).

    Raises:
        DataError: a video that cannot be opened or holds no frames.
    """
    if kind == "image":
        return [0], None
    from fakearena.faces.video import probe_video, sample_frame_indices

    info = probe_video(path)
    indices = sample_frame_indices(info.frame_count, int(cfg.frames_per_video), int(cfg.every))
    return indices, info


def frames_of(path: Path, kind: str, wanted: list[int]):
    """(frame index, RGB uint8 frame) pairs of an input: the wanted video frames or the image."""
    if kind == "image":
        yield 0, load_image(path)
        return
    from fakearena.faces.video import read_frames

    yield from read_frames(path, wanted)


class FaceScorer:
    """Finds, aligns and scores faces with one detector checkpoint."""

    def __init__(self, cfg: DictConfig):
        from fakearena.faces.detect import FaceDetector

        self.cfg = cfg
        self.device = resolve_device(cfg.device)
        self.checkpoint = resolve_checkpoint(cfg.ckpt)
        self.task = restore_task(self.checkpoint, expected_task="detect").to(self.device)
        spec = self.task.hparams.get("data_spec") or {}
        if not spec:
            raise ConfigError(
                f"{self.checkpoint} does not record the image size it was trained at; "
                "retrain it with this version of fakearena"
            )
        self.image_size, self.channels = int(spec["image_size"]), int(spec["channels"])
        self.faces = FaceDetector(
            device=str(self.device),
            detect_size=int(cfg.detect_size),
            min_prob=float(cfg.min_face_prob),
        )

    def crops(self, frame: np.ndarray) -> list[tuple[Any, torch.Tensor]]:
        """(face, network input) for the faces of one frame."""
        from fakearena.faces.detect import align_face, select_faces

        faces = self.faces.detect(frame)
        if not self.cfg.all_faces:
            faces = select_faces(faces, "largest", multi_face=False)
        out = []
        for face in faces:
            crop = align_face(
                frame, face, int(self.cfg.crop_size), str(self.cfg.align), float(self.cfg.margin)
            )
            if self.channels == 1:  # the grayscale conversion training images got (PIL "L")
                crop = np.asarray(Image.fromarray(crop).convert("L"))[:, :, None]
            out.append((face, to_tensor(np.array(crop), self.image_size)))
        return out

    @torch.inference_mode()
    def score(self, images: list[torch.Tensor]) -> np.ndarray:
        probs = []
        for start in range(0, len(images), int(self.cfg.batch_size)):
            batch = torch.stack(images[start : start + int(self.cfg.batch_size)])
            logits = self.task(batch.to(self.device))
            probs.append(torch.sigmoid(logits.float()).cpu().numpy().astype(np.float64))
        return np.concatenate(probs) if probs else np.empty(0)

    def scan(self, path: Path, kind: str, wanted: list[int], bar: Any) -> InputResult:
        """Find and score the faces of the `wanted` frames of one input, advancing `bar`."""
        result = InputResult(path=path, kind=kind)
        pending: list[tuple[int, int, Any, torch.Tensor]] = []
        for index, frame in frames_of(path, kind, wanted):
            result.frames_scanned += 1
            bar.update(1)
            for k, (face, tensor) in enumerate(self.crops(frame)):
                pending.append((index, k, face, tensor))
        probs = self.score([p[3] for p in pending])
        for (index, k, face, _), prob in zip(pending, probs):
            x1, y1, x2, y2 = (round(float(v), 2) for v in face.box)
            result.rows.append(
                {
                    "input": str(path),
                    "frame": int(index),
                    "face": k,
                    "x1": x1,
                    "y1": y1,
                    "x2": x2,
                    "y2": y2,
                    "face_prob": round(float(face.prob), 6),
                    "prob": float(prob),
                }
            )
        return result


def scan_all(
    scorer: FaceScorer, inputs: list[tuple[Path, str]], cfg: DictConfig
) -> list[InputResult]:
    """Scan every input with a progress bar over the frames; a file that cannot be read is
    kept as an InputResult with its error, and the others are still scanned."""
    from tqdm import tqdm

    from fakearena.faces.video import truncation_note

    plans: list[tuple[list[int], Any] | DataError] = []
    for path, kind in inputs:
        try:
            plans.append(planned_frames(path, kind, cfg))
        except DataError as error:
            plans.append(error)
    total = sum(len(p[0]) for p in plans if not isinstance(p, DataError))
    results = []
    with tqdm(total=total, unit="frame", desc="detect", disable=not cfg.progress) as bar:
        for (path, kind), plan in zip(inputs, plans):
            if isinstance(plan, DataError):
                results.append(InputResult(path=path, kind=kind, error=str(plan)))
                continue
            wanted, info = plan
            done = bar.n
            try:
                result = scorer.scan(path, kind, wanted, bar)
            except DataError as error:
                result = InputResult(path=path, kind=kind, error=str(error))
            if info is not None and not result.error:
                result.truncation = truncation_note(
                    info.declared_frames, info.frame_count, result.frames_scanned, len(wanted)
                )
            results.append(result)
            bar.update(done + len(wanted) - bar.n)  # frames a short video did not give
    return results


def run(cfg: DictConfig) -> int:
    """Score the input; returns 0, or exits with code 1 when some input could not be read
    (after scoring the others) and 2 when no face was found anywhere."""
    quiet_third_party()
    for key in ("input", "ckpt"):
        if OmegaConf.is_missing(cfg, key) or cfg.get(key) in (None, ""):
            raise ConfigError(
                f"detect needs {key}=...: fakearena detect PATH ckpt=<train run folder or .ckpt>"
            )
    if not 0.0 <= float(cfg.threshold) <= 1.0:
        raise ConfigError(f"threshold={cfg.threshold}: give a probability in [0, 1]")
    if not 0.0 <= float(cfg.uncertain) < 0.5:
        raise ConfigError(f"uncertain={cfg.uncertain}: give a margin in [0, 0.5) (0: never)")
    verdicts = Verdicts(float(cfg.threshold), float(cfg.uncertain))
    source = Path(str(cfg.input)).expanduser()
    inputs = list_inputs(source)
    scorer = FaceScorer(cfg)
    results = scan_all(scorer, inputs, cfg)
    unreadable = [r for r in results if r.error]
    if len(unreadable) == len(results):
        raise DataError(
            f"none of the {len(results)} input(s) under {source} could be read: "
            f"{unreadable[0].path}: {unreadable[0].error}"
        )
    items = summary(results, verdicts)
    run_dir = Path(cfg.paths.output_dir)
    rows = [row for r in results for row in r.rows]
    with atomic_path(run_dir / "detections.csv") as tmp:
        pd.DataFrame(rows, columns=list(CSV_COLUMNS)).to_csv(tmp, index=False)
    atomic_write_json(
        run_dir / "detections.json",
        {
            "input": str(source),
            "checkpoint": str(scorer.checkpoint.resolve()),
            "detector": scorer.task.hparams.get("net_name"),
            "threshold": float(cfg.threshold),
            "uncertain": float(cfg.uncertain),
            "results": items,
            "unreadable": {str(r.path): r.error for r in unreadable},
        },
    )
    print(verdict_table(results, verdicts, source))
    print(f"written to {run_dir}")
    for r in unreadable:
        print(f"fakearena: could not read {r.path}: {r.error}", file=sys.stderr)
    truncated = [r for r in results if r.truncation]
    if truncated:
        print(
            f"fakearena: warning: {len(truncated)} video(s) are truncated (listed in "
            f"{run_dir / 'detections.json'}): {truncated[0].path}: {truncated[0].truncation}",
            file=sys.stderr,
        )
    if not rows:
        print(
            f"fakearena: no face found in {source} ({sum(r.frames_scanned for r in results)} "
            f"frame(s) scanned, MTCNN face probability >= {cfg.min_face_prob}); nothing to "
            "score. Give frames where a face is visible, or lower min_face_prob",
            file=sys.stderr,
        )
        raise SystemExit(NO_FACE_EXIT_CODE)
    if unreadable:
        print(
            f"fakearena: {len(unreadable)} of {len(results)} input(s) could not be read "
            f"(listed above and in {run_dir / 'detections.json'}); the others were scored",
            file=sys.stderr,
        )
        raise SystemExit(UNREADABLE_EXIT_CODE)
    return 0
