"""Head pose and expression from 68-point landmarks: the pose and expression errors of swaps.

Head pose: a perspective-n-point fit (OpenCV's `solvePnP`) of six landmarks of the iBUG 68
scheme (nose tip 30, chin 8, outer eye corners 36 and 45, mouth corners 48 and 54) to a generic
3-D face of those six points, with a pinhole camera of focal length = image width and the
principal point at the image centre. The rotation gives yaw (about the vertical axis), pitch
(about the horizontal axis) and roll (in the image plane), in degrees; a frontal face is
(0, 0, 0). The generic face fixes the angles' scale only approximately (every head differs
from it), so errors between two faces of the same image size are what it is good for.

Expression: the inner-face landmarks (17-67: brows, nose, eyes, mouth; the jaw line is
left out, it follows the head shape more than the expression) of the swap, aligned to the
target's by the similarity (scale, rotation, translation) that fits them best (Umeyama 1991),
then the mean point distance, divided by the target's outer-eye-corner distance. In-plane
pose and face size are removed; out-of-plane pose is not (compare faces of similar pose).

Pose and expression errors of a swap compare it with its target (the face it replaced): a swap
should keep the target's pose and expression.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fakearena.errors import DataError

# iBUG 68-point indices of the six pose points and the generic 3-D face they are fitted to
# (millimetre-like units; x right, y up, z towards the camera; nose tip at the origin)
POSE_POINTS = (30, 8, 36, 45, 48, 54)
GENERIC_FACE = np.array(
    [
        [0.0, 0.0, 0.0],  # nose tip
        [0.0, -330.0, -65.0],  # chin
        [-225.0, 170.0, -135.0],  # left eye, outer corner (image left)
        [225.0, 170.0, -135.0],  # right eye, outer corner
        [-150.0, -150.0, -125.0],  # mouth, left corner
        [150.0, -150.0, -125.0],  # mouth, right corner
    ]
)
INNER_FACE = slice(17, 68)
OUTER_EYE_CORNERS = (36, 45)


def check_landmarks(landmarks: Any) -> np.ndarray:
    """(68, 2) float64 landmarks, or a DataError naming the shape."""
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape != (68, 2) or not np.all(np.isfinite(points)):
        raise DataError(f"expected 68 finite (x, y) landmarks, got shape {points.shape}")
    return points


def camera_matrix(image_size: tuple[int, int]) -> np.ndarray:
    """The pinhole camera of a (width, height) image: focal = width, centre = middle."""
    width, height = image_size
    return np.array([[width, 0.0, width / 2.0], [0.0, width, height / 2.0], [0.0, 0.0, 1.0]])


def euler_angles(rotation: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of a rotation matrix R = Rz(roll) Ry(yaw) Rx(pitch)."""
    yaw = np.degrees(np.arcsin(np.clip(-rotation[2, 0], -1.0, 1.0)))
    pitch = np.degrees(np.arctan2(rotation[2, 1], rotation[2, 2]))
    roll = np.degrees(np.arctan2(rotation[1, 0], rotation[0, 0]))
    return float(yaw), float(pitch), float(roll)


def head_pose(landmarks: Any, image_size: tuple[int, int]) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of the face whose 68 landmarks are given (image pixels,
    y down), from a PnP fit of the generic face (see the module doc)."""
    import cv2

    points = check_landmarks(landmarks)[list(POSE_POINTS)]
    # the model has y up; image rows go down: flip the model so that a frontal face is (0,0,0)
    model = GENERIC_FACE * np.array([1.0, -1.0, -1.0])
    ok, rvec, _ = cv2.solvePnP(
        model, points, camera_matrix(image_size), np.zeros(4), flags=cv2.SOLVEPNP_ITERATIVE
    )
    if not ok:
        raise DataError("head pose: the landmarks do not fit a face (solvePnP failed)")
    rotation, _ = cv2.Rodrigues(rvec)
    return euler_angles(rotation)


def similarity_align(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """`source` points mapped by the similarity transform that best fits them to `target`
    (least squares; Umeyama 1991, reflection excluded)."""
    mu_s, mu_t = source.mean(axis=0), target.mean(axis=0)
    s, t = source - mu_s, target - mu_t
    covariance = t.T @ s / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1.0
    rotation = u @ sign @ vt
    scale = np.trace(np.diag(singular) @ sign) / s.var(axis=0).sum()
    return scale * s @ rotation.T + mu_t


def expression_error(target_landmarks: Any, swap_landmarks: Any) -> float:
    """Mean inner-face landmark distance after similarity alignment, in units of the target's
    outer-eye-corner distance (0: the same expression up to in-plane pose and size)."""
    target = check_landmarks(target_landmarks)
    swap = check_landmarks(swap_landmarks)
    eyes = np.linalg.norm(target[OUTER_EYE_CORNERS[0]] - target[OUTER_EYE_CORNERS[1]])
    if eyes <= 0:
        raise DataError("expression error: the target's eye corners coincide")
    aligned = similarity_align(swap[INNER_FACE], target[INNER_FACE])
    return float(np.mean(np.linalg.norm(aligned - target[INNER_FACE], axis=1)) / eyes)


def pose_error(
    target_landmarks: Any, swap_landmarks: Any, image_size: tuple[int, int]
) -> dict[str, float]:
    """Absolute yaw, pitch and roll differences (degrees) between target and swap, and their
    Euclidean norm (`pose_error`, as the swap papers report it)."""
    target = np.array(head_pose(target_landmarks, image_size))
    swap = np.array(head_pose(swap_landmarks, image_size))
    diff = np.abs(target - swap)
    diff = np.minimum(diff, 360.0 - diff)  # angles wrap around
    return {
        "yaw_error": float(diff[0]),
        "pitch_error": float(diff[1]),
        "roll_error": float(diff[2]),
        "pose_error": float(np.linalg.norm(diff)),
    }
