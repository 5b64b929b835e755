"""Face detection (MTCNN on a downscaled frame) and 5-point alignment to a fixed template.

`detect_faces(image)` gives every face as a `Face` (box, 5 landmarks, probability) in the
pixel coordinates of the full image; `align_face(image, face, size, mode)` cuts the face out as
a square uint8 crop: warped by a similarity transform that puts the landmarks on an
ArcFace-style template (`mode="similarity"`), or the detection box plus a margin
(`mode="box"`). Coordinates are continuous pixel coordinates: the top-left corner of the image
is (0, 0) and pixel (row i, column j) covers [j, j+1) x [i, i+1).

MTCNN comes from facenet-pytorch 2.5.3, whose three small networks ship inside the wheel; their
SHA-256 is checked before loading. Detection runs on a copy of the frame downscaled to
`detect_size` pixels on its long side and the results are mapped back: on CPU, the cost of
MTCNN grows with the pixel count, and faces in 720p video are large enough to be found at 640.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from fakearena.errors import ConfigError, DataError
from fakearena.faces.options import ALIGN_MODES, DEFAULT_DETECT_SIZE, DEFAULT_MARGIN, SELECT_MODES
from fakearena.utils.io import sha256_file
from fakearena.utils.parallel import resolve_device

# Pixel long side of the image MTCNN sees (see benchmarks/faces.py for the measurement).

# facenet-pytorch 2.5.3 data/{pnet,rnet,onet}.pt
MTCNN_WEIGHTS_SHA256 = {
    "pnet.pt": "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f",
    "rnet.pt": "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86",
    "onet.pt": "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d",
}

# The 5-point template of ArcFace (insightface) for 112x112 crops: left eye, right eye, nose
# tip, left and right mouth corners, as seen in the image. MTCNN gives landmarks in this order.
ARCFACE_TEMPLATE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)


@dataclass(frozen=True)
class Face:
    """One detected face in full-image pixel coordinates.

    Attributes:
        box: (4,) x1, y1, x2, y2.
        landmarks: (5, 2) x, y of left eye, right eye, nose, left and right mouth corners.
        prob: MTCNN's face probability in [0, 1].
    """

    box: np.ndarray
    landmarks: np.ndarray
    prob: float

    @property
    def area(self) -> float:
        return float(max(0.0, self.box[2] - self.box[0]) * max(0.0, self.box[3] - self.box[1]))


def mtcnn_weights_dir() -> Path:
    """The folder of facenet-pytorch's MTCNN weight files."""
    import facenet_pytorch

    return Path(facenet_pytorch.__file__).resolve().parent / "data"


def verify_mtcnn_weights() -> None:
    """Check the SHA-256 of the MTCNN weight files shipped in facenet-pytorch.

    Raises:
        DataError: when a file is missing or differs from facenet-pytorch 2.5.3's.
    """
    folder = mtcnn_weights_dir()
    for name, expected in MTCNN_WEIGHTS_SHA256.items():
        path = folder / name
        if not path.is_file() or sha256_file(path) != expected:
            raise DataError(
                f"MTCNN weights {path} are missing or not those of facenet-pytorch 2.5.3 "
                f"(SHA-256 {expected}); reinstall it: pip install --force-reinstall "
                "facenet-pytorch==2.5.3"
            )


class FaceDetector:
    """MTCNN on a downscaled copy of each frame, with results mapped back to full resolution.

    Args:
        device: "auto" (CUDA when present, else the CPU), "cpu", "cuda", "cuda:1", ...
        detect_size: long side in pixels of the image MTCNN sees; larger frames are
            downscaled (antialiased), smaller ones are used as they are. 0: full resolution.
        min_face_size: smallest face MTCNN looks for, in pixels of that detection image.
        min_prob: faces with a lower probability are dropped.
        thresholds: MTCNN's three stage thresholds.
    """

    def __init__(
        self,
        *,
        device: str = "auto",
        detect_size: int = DEFAULT_DETECT_SIZE,
        min_face_size: int = 20,
        min_prob: float = 0.9,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
    ) -> None:
        if detect_size < 0:
            raise ConfigError(f"detect_size={detect_size}: give a long side in pixels (0: full)")
        if detect_size and detect_size < 48:
            raise ConfigError(f"detect_size={detect_size} is too small for MTCNN; use >= 48")
        if min_face_size < 12:
            raise ConfigError(f"min_face_size={min_face_size}: MTCNN needs >= 12 pixels")
        self.device = resolve_device(str(device))
        verify_mtcnn_weights()
        from facenet_pytorch import MTCNN

        self.detect_size = int(detect_size)
        self.min_prob = float(min_prob)
        self.mtcnn = MTCNN(
            min_face_size=int(min_face_size),
            thresholds=list(thresholds),
            select_largest=False,
            keep_all=True,
            post_process=False,
            device=self.device,
        )
        if self.device.type == "cpu":
            for stage in ("pnet", "rnet", "onet"):
                setattr(self.mtcnn, stage, _ChannelsLast(getattr(self.mtcnn, stage)))

    def _prepare(self, images: np.ndarray) -> tuple[torch.Tensor, float, float]:
        """(N,H,W,3) uint8 -> float (N,h,w,3) on the device, and the x/y scale factors."""
        height, width = images.shape[1:3]
        long_side = max(height, width)
        if not self.detect_size or long_side <= self.detect_size:
            batch = torch.from_numpy(np.ascontiguousarray(images)).to(self.device)
            return batch.float(), 1.0, 1.0
        scale = self.detect_size / long_side
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        if self.device.type == "cpu":
            # PIL's antialiased uint8 resize is ~10x faster than torch's on CPU.
            small = np.stack(
                [
                    np.asarray(Image.fromarray(im).resize((new_w, new_h), Image.BILINEAR))
                    for im in images
                ]
            )
            batch = torch.from_numpy(small).float()
        else:
            batch = (
                torch.nn.functional.interpolate(
                    torch.from_numpy(np.ascontiguousarray(images))
                    .to(self.device)
                    .permute(0, 3, 1, 2)
                    .float(),
                    size=(new_h, new_w),
                    mode="bilinear",
                    antialias=True,
                    align_corners=False,
                )
                .permute(0, 2, 3, 1)
                .contiguous()
            )
        return batch, new_w / width, new_h / height

    def detect_batch(self, images: list[np.ndarray] | np.ndarray) -> list[list[Face]]:
        """Faces of each image (all the same size), each list sorted by probability.

        On CPU the frames go through MTCNN one at a time (batching does not help there); on a
        GPU they go as one batch.
        """
        images = [_check_image(image) for image in images]
        if not images:
            return []
        if self.device.type == "cpu" or len({im.shape for im in images}) > 1:
            return [self._detect(np.stack([image]))[0] for image in images]
        return self._detect(np.stack(images))

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in one RGB uint8 HxWx3 image, sorted by probability (highest first)."""
        return self._detect(np.stack([_check_image(image)]))[0]

    def _detect(self, images: np.ndarray) -> list[list[Face]]:
        batch, sx, sy = self._prepare(images)
        with torch.inference_mode():
            boxes, probs, points = self.mtcnn.detect(batch, landmarks=True)
        scale_xy = np.array([sx, sy], dtype=np.float64)
        results = []
        for image_boxes, image_probs, image_points in zip(boxes, probs, points):
            faces = []
            if image_boxes is not None:
                for box, prob, marks in zip(image_boxes, image_probs, image_points):
                    if prob is None or float(prob) < self.min_prob:
                        continue
                    box = np.asarray(box, dtype=np.float64).reshape(2, 2) / scale_xy
                    marks = np.asarray(marks, dtype=np.float64).reshape(5, 2) / scale_xy
                    faces.append(Face(box=box.reshape(4), landmarks=marks, prob=float(prob)))
            faces.sort(key=lambda f: -f.prob)
            results.append(faces)
        return results


class _ChannelsLast(torch.nn.Module):
    """One MTCNN stage run on channels_last tensors: oneDNN's fast CPU path for its convs and
    max-pools (measured 1.7x for P-Net, 3.3x for R-Net and O-Net; same outputs to ~1e-6)."""

    def __init__(self, stage: torch.nn.Module):
        super().__init__()
        self.stage = stage.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor):
        return self.stage(x.contiguous(memory_format=torch.channels_last))


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise DataError(
            f"expected an RGB uint8 image of shape HxWx3, got {image.dtype} {image.shape}; "
            "convert it first (grey or RGBA images: PIL's .convert('RGB'))"
        )
    return image


_DEFAULT_DETECTORS: dict[tuple, FaceDetector] = {}
_DEFAULT_LOCK = threading.Lock()


def default_detector(device: str = "auto", detect_size: int = DEFAULT_DETECT_SIZE) -> FaceDetector:
    """A FaceDetector shared per (device, detect_size) within the process."""
    key = (str(device), int(detect_size))
    with _DEFAULT_LOCK:
        if key not in _DEFAULT_DETECTORS:
            _DEFAULT_DETECTORS[key] = FaceDetector(device=device, detect_size=detect_size)
        return _DEFAULT_DETECTORS[key]


def detect_faces(
    image: np.ndarray,
    *,
    detector: FaceDetector | None = None,
    device: str = "auto",
    detect_size: int = DEFAULT_DETECT_SIZE,
) -> list[Face]:
    """Every face in an RGB uint8 HxWx3 image, most probable first."""
    detector = detector or default_detector(device, detect_size)
    return detector.detect(image)


def select_faces(
    faces: list[Face], select: str = "largest", multi_face: bool = False
) -> list[Face]:
    """The faces to keep: all of them (multi_face, largest first) or the one `select` picks."""
    if select not in SELECT_MODES:
        raise ConfigError(f"select={select!r}: choose one of {list(SELECT_MODES)}")
    if not faces:
        return []
    key = (lambda f: -f.area) if select == "largest" else (lambda f: -f.prob)
    ordered = sorted(faces, key=key)
    return ordered if multi_face else ordered[:1]


def umeyama(src: np.ndarray, dst: np.ndarray, estimate_scale: bool = True) -> np.ndarray:
    """Least-squares similarity transform (Umeyama 1991) taking points `src` onto `dst`.

    Args:
        src: (N, 2) points.
        dst: (N, 2) points.
        estimate_scale: False gives a rigid transform (rotation + translation).

    Returns:
        (2, 3) matrix M with dst ~= M[:, :2] @ src + M[:, 2].
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[0] < 2:
        raise ValueError(
            f"umeyama needs two (N>=2, d) arrays of one shape, got {src.shape}, {dst.shape}"
        )
    n, dim = src.shape
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.T @ src_c / n
    u, singular, vt = np.linalg.svd(covariance)
    signs = np.ones(dim)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        signs[-1] = -1.0  # a reflection is the best fit: flip the weakest axis instead
    rotation = u @ np.diag(signs) @ vt
    src_var = (src_c**2).sum() / n
    scale = float(singular @ signs / src_var) if estimate_scale and src_var > 0 else 1.0
    translation = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, translation[:, None]])


def template_landmarks(size: int, margin: float = DEFAULT_MARGIN) -> np.ndarray:
    """The 5 template points for a `size` x `size` crop.

    The ArcFace 112 template is shrunk about the crop centre by 1 / (1 + 2 * margin), so
    `margin` is the share of the face's width added as context on each side (0: ArcFace's
    own tight framing).
    """
    if margin < 0:
        raise ConfigError(f"margin={margin}: give a fraction >= 0 (e.g. 0.15)")
    unit = ARCFACE_TEMPLATE_112 / 112.0
    return ((unit - 0.5) / (1.0 + 2.0 * margin) + 0.5) * size


def alignment_matrix(
    face: Face, size: int, mode: str = "similarity", margin: float = DEFAULT_MARGIN
) -> np.ndarray:
    """The (2, 3) matrix taking full-image coordinates to crop coordinates."""
    if mode == "similarity":
        return umeyama(face.landmarks, template_landmarks(size, margin))
    if mode == "box":
        x1, y1, x2, y2 = (float(v) for v in face.box)
        side = max(x2 - x1, y2 - y1) * (1.0 + 2.0 * margin)
        if side <= 0:
            raise DataError(f"face box {face.box.tolist()} is empty; it cannot be cropped")
        scale = size / side
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        return np.array([[scale, 0.0, size / 2 - scale * cx], [0.0, scale, size / 2 - scale * cy]])
    raise ConfigError(f"align={mode!r}: choose one of {list(ALIGN_MODES)}")


def warp_affine(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """`size` x `size` crop of `image` under the (2, 3) image-to-crop `matrix` (bilinear).

    Outside the image is black. When the crop shrinks the face by more than 2x, the image is
    first box-reduced by an integer factor so the result is not aliased.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    pil = Image.fromarray(image)
    linear = matrix[:, :2]
    scale = float(np.sqrt(abs(np.linalg.det(linear))))
    factor = int(np.floor(1.0 / scale)) if scale > 0 else 1
    if factor >= 2:
        pil = pil.reduce(factor)
        # Reduced-image coordinates are full-image coordinates / factor.
        matrix = np.hstack([linear * factor, matrix[:, 2:]])
    full = np.vstack([matrix, [0.0, 0.0, 1.0]])
    inverse = np.linalg.inv(full)[:2].reshape(-1)
    out = pil.transform(
        (size, size), Image.Transform.AFFINE, data=tuple(inverse), resample=Image.BILINEAR
    )
    return np.asarray(out, dtype=np.uint8)


def align_face(
    image: np.ndarray,
    face: Face,
    size: int = 256,
    mode: str = "similarity",
    margin: float = DEFAULT_MARGIN,
) -> np.ndarray:
    """The face as a `size` x `size` RGB uint8 crop (see the module docstring for the modes)."""
    if size < 8:
        raise ConfigError(f"size={size}: give a crop side of at least 8 pixels (e.g. 256)")
    image = _check_image(image)
    return warp_affine(image, alignment_matrix(face, size, mode, margin), size)


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a (2, 3) affine matrix to (N, 2) points."""
    points = np.asarray(points, dtype=np.float64)
    return points @ np.asarray(matrix)[:, :2].T + np.asarray(matrix)[:, 2]
