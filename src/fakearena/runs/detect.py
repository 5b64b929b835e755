"""`fakearena detect PATH ckpt=...`: fake probabilities for a video, an image or a folder.

Faces are found with MTCNN (`fakearena.faces.detect`), aligned like `fakearena faces extract`
crops them, resized to the detector's training size and scored. Each input's verdict is the
mean fake probability of its faces. The run folder gets detections.csv (one row per face:
input, frame index, box, face probability, fake probability) and detections.json (the
per-input summary with its frames). When no input holds a face the command says so and exits
with code 2.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
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
from fakearena.tasks.checkpoints import resolve_checkpoint, restore_task
from fakearena.utils.io import atomic_path, atomic_write_json
from fakearena.utils.parallel import resolve_device
from fakearena.utils.quiet import quiet_third_party

NO_FACE_EXIT_CODE = 2
CSV_COLUMNS = ("input", "frame", "face", "x1", "y1", "x2", "y2", "face_prob", "prob")


@dataclass
class InputResult:
    """What detect found in one input file."""

    path: Path
    kind: str  # "video" or "image"
    frames_scanned: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def frames_with_faces(self) -> int:
        return len({row["frame"] for row in self.rows})

    @property
    def mean_prob(self) -> float | None:
        return float(np.mean([r["prob"] for r in self.rows])) if self.rows else None

    def verdict(self, threshold: float) -> str:
        if not self.rows:
            return "no face"
        return "fake" if self.mean_prob >= threshold else "real"  # type: ignore[operator]


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


def frames_of(path: Path, kind: str, cfg: DictConfig):
    """(frame index, RGB uint8 frame) pairs of an input: sampled video frames or the image."""
    if kind == "image":
        yield 0, load_image(path)
        return
    from fakearena.faces.video import probe_video, read_frames, sample_frame_indices

    info = probe_video(path)
    wanted = sample_frame_indices(info.frame_count, int(cfg.frames_per_video), int(cfg.every))
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

    def scan(self, path: Path, kind: str) -> InputResult:
        result = InputResult(path=path, kind=kind)
        pending: list[tuple[int, int, Any, torch.Tensor]] = []
        for index, frame in frames_of(path, kind, self.cfg):
            result.frames_scanned += 1
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


def summary(results: list[InputResult], threshold: float) -> list[dict[str, Any]]:
    """Per-input verdicts, as written to detections.json."""
    return [
        {
            "input": str(r.path),
            "kind": r.kind,
            "frames_scanned": r.frames_scanned,
            "frames_with_faces": r.frames_with_faces,
            "faces": len(r.rows),
            "mean_prob": r.mean_prob,
            "verdict": r.verdict(threshold),
            "frames": r.rows,
        }
        for r in results
    ]


def verdict_table(items: list[dict[str, Any]], root: Path) -> str:
    """A short fixed-width table of the verdicts."""
    names = [_display_name(Path(item["input"]), root) for item in items]
    width = max(12, *(len(n) for n in names))
    lines = [f"{'input':<{width}}  {'frames':>6}  {'faces':>5}  {'P(fake)':>7}  verdict"]
    for name, item in zip(names, items):
        prob = "-" if item["mean_prob"] is None else f"{item['mean_prob']:.3f}"
        lines.append(
            f"{name:<{width}}  {item['frames_scanned']:>6}  {item['faces']:>5}  {prob:>7}  "
            f"{item['verdict'].upper()}"
        )
    return "\n".join(lines)


def _display_name(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if root.is_dir() and path != root else path.name


def run(cfg: DictConfig) -> int:
    """Score the input; returns 0, or exits with code 2 when no face was found anywhere."""
    quiet_third_party()
    for key in ("input", "ckpt"):
        if OmegaConf.is_missing(cfg, key) or cfg.get(key) in (None, ""):
            raise ConfigError(
                f"detect needs {key}=...: fakearena detect PATH ckpt=<train run folder or .ckpt>"
            )
    if not 0.0 <= float(cfg.threshold) <= 1.0:
        raise ConfigError(f"threshold={cfg.threshold}: give a probability in [0, 1]")
    source = Path(str(cfg.input)).expanduser()
    inputs = list_inputs(source)
    scorer = FaceScorer(cfg)
    results = [scorer.scan(path, kind) for path, kind in inputs]
    items = summary(results, float(cfg.threshold))
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
            "results": items,
        },
    )
    print(verdict_table(items, source))
    print(f"written to {run_dir}")
    if not rows:
        print(
            f"fakearena: no face found in {source} ({sum(r.frames_scanned for r in results)} "
            f"frame(s) scanned, MTCNN face probability >= {cfg.min_face_prob}); nothing to "
            "score. Give frames where a face is visible, or lower min_face_prob",
            file=sys.stderr,
        )
        raise SystemExit(NO_FACE_EXIT_CODE)
    return 0
