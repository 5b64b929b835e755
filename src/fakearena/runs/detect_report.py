"""What `fakearena detect` found per input, its verdicts, and how they are shown and written.

A verdict is the mean fake probability of an input's faces against the threshold; one within
`uncertain` of the threshold is called uncertain (it leans one way, but not far enough to
trust). A photo with several faces also gets a line per face.
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

    @property
    def frames_with_faces(self) -> int:
        return len({row["frame"] for row in self.rows})

    @property
    def mean_prob(self) -> float | None:
        return float(np.mean([r["prob"] for r in self.rows])) if self.rows else None

    def verdict(self, verdicts: Verdicts) -> str:
        if self.error:
            return "unreadable"
        if not self.rows:
            return "no face"
        return verdicts.of(self.mean_prob)  # type: ignore[arg-type]

    def verdict_text(self, verdicts: Verdicts) -> str:
        if self.error or not self.rows:
            return self.verdict(verdicts).upper()
        return verdicts.text(self.mean_prob)  # type: ignore[arg-type]


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
            "mean_prob": r.mean_prob,
            "verdict": r.verdict(verdicts),
            "frames": [{**row, "verdict": verdicts.of(row["prob"])} for row in r.rows],
        }
        if r.error:
            item["error"] = r.error
        items.append(item)
    return items


def verdict_table(results: list[InputResult], verdicts: Verdicts, root: Path) -> str:
    """A fixed-width table: one line per input, plus one per face of a photo with several."""
    lines: list[tuple[str, str, str, str, str]] = []
    for r in results:
        prob = "-" if r.mean_prob is None else f"{r.mean_prob:.3f}"
        name = _display_name(r.path, root)
        lines.append(
            (name, str(r.frames_scanned), str(len(r.rows)), prob, r.verdict_text(verdicts))
        )
        if r.kind == "image" and len(r.rows) > 1:
            for row in r.rows:
                box = f"({row['x1']:.0f}, {row['y1']:.0f}, {row['x2']:.0f}, {row['y2']:.0f})"
                label = f"  face {row['face'] + 1}: box {box}"
                lines.append((label, "", "", f"{row['prob']:.3f}", verdicts.text(row["prob"])))
    width = max(12, *(len(line[0]) for line in lines))
    header = f"{'input':<{width}}  {'frames':>6}  {'faces':>5}  {'P(fake)':>7}  verdict"
    return "\n".join(
        [header] + [f"{n:<{width}}  {f:>6}  {k:>5}  {p:>7}  {v}" for n, f, k, p, v in lines]
    )


def _display_name(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if root.is_dir() and path != root else path.name
