"""What `fakearena detect` found per input, its verdicts, and how they are shown and written.

A verdict is an input's fake probability against the threshold; one within `uncertain` of the
threshold is called uncertain (it leans one way, but not far enough to trust). An input's
probability is that of its most suspicious face: the highest face probability of each frame,
averaged over the frames (one face per frame: the plain mean), so one fake face in a group
photo is not diluted by the real ones; the mean over all faces is shown beside it. A photo with
several faces also gets a line per face.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

CSV_COLUMNS = ("input", "frame", "face", "x1", "y1", "x2", "y2", "face_prob", "prob")


@dataclass(frozen=True)
class Verdicts:
    """How probabilities become words: `prob >= threshold` is fake, unless uncertain."""

    threshold: float = 0.5
    uncertain: float = 0.1  # half-width of the uncertain band around the threshold (0: none)

    def of(self, prob: float) -> str:
        """ "fake", "real", or "uncertain" when `prob` lies within `uncertain` of the threshold."""
        if abs(prob - self.threshold) < self.uncertain - 1e-12:  # 0.6 - 0.5 < 0.1 in floats
            return "uncertain"
        return "fake" if prob >= self.threshold else "real"

    def text(self, prob: float) -> str:
        """The verdict as printed: `FAKE`, `REAL`, `UNCERTAIN (leans fake)`."""
        verdict = self.of(prob)
        if verdict != "uncertain":
            return verdict.upper()
        return f"UNCERTAIN (leans {'fake' if prob >= self.threshold else 'real'})"


@dataclass
class InputResult:
    """What detect found in one input file (or why it could not read it)."""

    path: Path
    kind: str  # "video" or "image"
    frames_scanned: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""  # set when the file could not be read
    truncation: str = ""  # set when a video holds fewer frames than it declares

    @property
    def frames_with_faces(self) -> int:
        return len({row["frame"] for row in self.rows})

    @property
    def mean_prob(self) -> float | None:
        """The mean fake probability over all faces of all frames."""
        return float(np.mean([r["prob"] for r in self.rows])) if self.rows else None

    @property
    def prob(self) -> float | None:
        """The verdict's probability: per frame its most suspicious face, averaged over frames."""
        if not self.rows:
            return None
        highest: dict[int, float] = {}
        for row in self.rows:
            highest[row["frame"]] = max(highest.get(row["frame"], 0.0), float(row["prob"]))
        return float(np.mean(list(highest.values())))

    @property
    def several_faces(self) -> bool:
        """Whether some frame holds more than one face (then prob and mean_prob differ)."""
        return len(self.rows) > self.frames_with_faces

    def most_suspicious_face(self) -> int | None:
        """Index in `rows` of the face with the highest probability (None without faces)."""
        if not self.rows:
            return None
        return int(np.argmax([r["prob"] for r in self.rows]))

    def verdict(self, verdicts: Verdicts) -> str:
        if self.error:
            return "unreadable"
        if not self.rows:
            return "no face"
        return verdicts.of(self.prob)  # type: ignore[arg-type]

    def verdict_text(self, verdicts: Verdicts) -> str:
        if self.error or not self.rows:
            return self.verdict(verdicts).upper()
        return verdicts.text(self.prob)  # type: ignore[arg-type]


def summary(results: list[InputResult], verdicts: Verdicts) -> list[dict[str, Any]]:
    """Per-input verdicts with their faces, as written to detections.json."""
    items = []
    for r in results:
        item: dict[str, Any] = {
            "input": str(r.path),
            "kind": r.kind,
            "frames_scanned": r.frames_scanned,
            "frames_with_faces": r.frames_with_faces,
            "faces": len(r.rows),
            "prob": r.prob,
            "prob_is": "the most suspicious face per frame, averaged over frames",
            "mean_prob": r.mean_prob,
            "verdict": r.verdict(verdicts),
            "frames": [{**row, "verdict": verdicts.of(row["prob"])} for row in r.rows],
        }
        if r.several_faces:
            item["most_suspicious_face"] = r.most_suspicious_face()
        if r.error:
            item["error"] = r.error
        if r.truncation:
            item["truncation"] = r.truncation
        items.append(item)
    return items


def verdict_table(results: list[InputResult], verdicts: Verdicts, root: Path) -> str:
    """A fixed-width table: one line per input, plus one per face of a photo with several.

    P(fake) is the verdict's probability (`InputResult.prob`), `mean` the mean over all faces;
    the most suspicious face of a group photo is marked.
    """
    lines: list[tuple[str, ...]] = []
    for r in results:
        prob = "-" if r.prob is None else f"{r.prob:.3f}"
        mean = "-" if r.mean_prob is None else f"{r.mean_prob:.3f}"
        name = _display_name(r.path, root)
        lines.append(
            (name, str(r.frames_scanned), str(len(r.rows)), prob, mean, r.verdict_text(verdicts))
        )
        if r.kind == "image" and len(r.rows) > 1:
            top = r.most_suspicious_face()
            for k, row in enumerate(r.rows):
                box = f"({row['x1']:.0f}, {row['y1']:.0f}, {row['x2']:.0f}, {row['y2']:.0f})"
                label = f"  face {row['face'] + 1}: box {box}"
                mark = "  <- most suspicious" if k == top else ""
                verdict = verdicts.text(row["prob"]) + mark
                lines.append((label, "", "", f"{row['prob']:.3f}", "", verdict))
    width = max(12, *(len(line[0]) for line in lines))
    names = ("input", "frames", "faces", "P(fake)", "mean")
    header = "{:<{w}}  {:>6}  {:>5}  {:>7}  {:>6}  verdict".format(*names, w=width)
    table = [header] + [
        f"{n:<{width}}  {f:>6}  {k:>5}  {p:>7}  {m:>6}  {v}" for n, f, k, p, m, v in lines
    ]
    if any(r.several_faces for r in results):
        table.append(
            "P(fake) of an input with several faces in a frame is its most suspicious face's "
            "(per frame, averaged over frames); mean: over all its faces"
        )
    return "\n".join(table)


def _display_name(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if root.is_dir() and path != root else path.name
