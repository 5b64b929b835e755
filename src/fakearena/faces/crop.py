"""One face's crop and its 68 landmarks in crop pixels (what `faces extract` writes per face)."""

from __future__ import annotations

import numpy as np

from fakearena.data.landmarks import five_points
from fakearena.faces.detect import Face, alignment_matrix, transform_points, warp_affine
from fakearena.faces.landmarks import LandmarkDetector
from fakearena.faces.options import DEEPFAKEBENCH_POINTS, ExtractOptions

# dlib's predictor always answers inside a box; its answer counts as failed when its 5 points
# lie this far (mean, as a share of the box's larger side) from MTCNN's own 5 points.
LANDMARK_TOLERANCE = 0.15


def landmarks_agree(face: Face, marks: np.ndarray, tolerance: float = LANDMARK_TOLERANCE) -> bool:
    """Whether the 68 landmarks put eyes, nose tip and mouth corners where MTCNN did."""
    side = max(float(face.box[2] - face.box[0]), float(face.box[3] - face.box[1]), 1.0)
    gap = np.linalg.norm(five_points(marks) - np.asarray(face.landmarks), axis=1).mean()
    return bool(gap <= tolerance * side)


def crop_face(
    frame: np.ndarray,
    face: Face,
    options: ExtractOptions,
    landmarker: LandmarkDetector | None,
) -> tuple[np.ndarray, np.ndarray | None] | None:
    """The aligned crop of `face` and its 68 landmarks in crop pixels (None when they fail).

    None when the face cannot be cropped (crop=deepfakebench without landmarks).
    """
    marks = landmarker(frame, face.box) if landmarker is not None else None
    if marks is not None and not landmarks_agree(face, marks):
        marks = None
    if options.crop == "deepfakebench":
        if marks is None:
            return None
        face = Face(box=face.box, landmarks=marks[list(DEEPFAKEBENCH_POINTS)], prob=face.prob)
    matrix = alignment_matrix(face, options.size, options.align, options.margin)
    crop = warp_affine(frame, matrix, options.size)
    crop_marks = None if marks is None else transform_points(matrix, marks).astype(np.float32)
    return crop, crop_marks
