"""Following one person through a video: the face of each frame that continues the track.

The track starts on the largest face of the first frame that has one. In each later frame it
takes the face that overlaps the last tracked box most (intersection over union >=
`min_iou`); when no face overlaps, the person is lost for that frame. After `patience` frames
lost in a row the track starts again on the largest face (a cut, or the person walked off and
back). Faces below `min_prob` are never taken.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from fakearena.faces.detect import Face


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes (0 when either is empty)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area_a = max(0.0, a[2] - a[0]) * max(0.0, a[3] - a[1])
    area_b = max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


@dataclass
class FaceTrack:
    """The state of one tracked person (see the module doc)."""

    min_iou: float = 0.2
    patience: int = 5
    min_prob: float = 0.9
    last_box: np.ndarray | None = None
    lost: int = 0
    restarts: int = field(default=0)

    def follow(self, faces: Sequence[Face]) -> Face | None:
        """The tracked person's face in this frame, or None when they are not in it."""
        faces = [f for f in faces if f.prob >= self.min_prob]
        chosen = None
        if self.last_box is not None and faces:
            overlaps = [box_iou(self.last_box, f.box) for f in faces]
            best = int(np.argmax(overlaps))
            if overlaps[best] >= self.min_iou:
                chosen = faces[best]
        restart = self.last_box is None or self.lost >= self.patience
        if chosen is None and restart and faces:
            chosen = max(faces, key=lambda f: f.area)
            self.restarts += self.last_box is not None
        if chosen is None:
            self.lost += 1
            return None
        self.last_box, self.lost = np.asarray(chosen.box, dtype=np.float64), 0
        return chosen
