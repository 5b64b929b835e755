"""Random traits of a synthetic person (`Identity`) and of one photo of them (`Shot`).

Lengths are in face units (the face ellipse is centred at (0, 0), half-height about 0.55,
`u` to the image's right, `v` down); colours are RGB in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_SKIN_LIGHT = np.array([0.96, 0.80, 0.69], np.float32)
_SKIN_DARK = np.array([0.36, 0.23, 0.16], np.float32)
_HAIR = np.array(
    [
        [0.08, 0.07, 0.07],
        [0.30, 0.19, 0.11],
        [0.55, 0.38, 0.20],
        [0.85, 0.72, 0.45],
        [0.60, 0.25, 0.10],
        [0.62, 0.62, 0.62],
    ],
    np.float32,
)
_IRIS = np.array(
    [
        [0.35, 0.20, 0.10],
        [0.20, 0.40, 0.65],
        [0.25, 0.45, 0.25],
        [0.45, 0.45, 0.50],
        [0.50, 0.38, 0.18],
    ],
    np.float32,
)


@dataclass(frozen=True)
class Identity:
    """What stays fixed for one person: shape, colours and feature geometry (face units)."""

    face_a: float  # half-width of the face
    face_b: float  # half-height of the face
    jaw: float  # how much narrower the chin is than the cheeks (0..0.35)
    skin: np.ndarray  # RGB in [0, 1]
    hair: np.ndarray
    hair_volume: float  # hair outline radius relative to the face
    hair_length: float  # how far below the eyes the hair falls (0 = short)
    hairline: float  # height of the hairline (fraction of face_b above the centre)
    parting: float  # asymmetry of the fringe
    bald: bool
    ear: float
    eye_x: float
    eye_y: float
    eye_w: float
    eye_h: float
    iris: np.ndarray
    iris_r: float
    brow_y: float
    brow_w: float
    brow_t: float
    brow_tilt: float
    brow: np.ndarray
    nose_y: float
    nose_w: float
    mouth_y: float
    mouth_w: float
    mouth_h: float
    lips: np.ndarray
    blush: np.ndarray
    blush_strength: float
    beard: float  # 0 = none, else darkness of the stubble around the jaw
    beard_colour: np.ndarray  # RGB of the stubble (a shade of the hair; a swap keeps it)


@dataclass(frozen=True)
class Shot:
    """What changes between images of a person: pose, expression, light, scene and camera."""

    cx: float
    cy: float
    scale: float
    angle: float  # in-plane rotation, radians
    yaw: float  # horizontal shift of the inner features, face units (a cheap head turn)
    mouth_open: float
    smile: float
    eye_open: float
    gaze_u: float
    gaze_v: float
    brow_raise: float
    light: np.ndarray  # unit vector (x right, y down, z towards the camera)
    ambient: float
    bg0: np.ndarray
    bg1: np.ndarray
    bg_dir: np.ndarray
    clothes: np.ndarray
    white_balance: np.ndarray
    blur: float  # weight of each neighbour in a 3-tap blur (0 = sharp)
    noise: float  # std of the Gaussian sensor noise, in [0, 1] intensity


def sample_identity(rng: np.random.Generator) -> Identity:
    """Draw one person."""
    u = rng.random(40).astype(np.float32)
    tone = u[0] ** 1.3
    skin = _SKIN_LIGHT * (1 - tone) + _SKIN_DARK * tone
    skin = np.clip(skin * (1 + 0.2 * (u[1:4] - 0.5)), 0, 1)
    hair = np.clip(_HAIR[int(u[4] * len(_HAIR))] * (0.85 + 0.3 * u[5]), 0, 1)
    a = 0.38 + 0.08 * u[6]
    b = 0.52 + 0.07 * u[7]
    return Identity(
        face_a=a,
        face_b=b,
        jaw=0.08 + 0.27 * u[8],
        skin=skin,
        hair=hair,
        hair_volume=1.08 + 0.22 * u[9],
        hair_length=float(u[10] > 0.5) * (0.2 + 0.7 * u[11]),
        hairline=0.45 + 0.3 * u[12],
        parting=(u[13] - 0.5) * 0.6,
        bald=bool(u[14] < 0.08),
        ear=0.07 + 0.04 * u[15],
        eye_x=a * (0.36 + 0.12 * u[16]),
        eye_y=-b * (0.08 + 0.12 * u[17]),
        eye_w=a * (0.17 + 0.07 * u[18]),
        eye_h=0.035 + 0.025 * u[19],
        iris=np.clip(_IRIS[int(u[20] * len(_IRIS))] * (0.85 + 0.3 * u[21]), 0, 1),
        iris_r=0.55 + 0.2 * u[22],
        brow_y=-b * (0.30 + 0.12 * u[23]),
        brow_w=a * (0.22 + 0.1 * u[24]),
        brow_t=0.02 + 0.025 * u[25],
        brow_tilt=(u[26] - 0.5) * 0.5,
        brow=np.clip(hair * (0.6 + 0.3 * u[27]), 0, 1),
        nose_y=b * (0.22 + 0.14 * u[28]),
        nose_w=a * (0.13 + 0.08 * u[29]),
        mouth_y=b * (0.52 + 0.14 * u[30]),
        mouth_w=a * (0.35 + 0.2 * u[31]),
        mouth_h=0.035 + 0.03 * u[32],
        lips=np.clip(skin * np.array([0.85, 0.55, 0.55], np.float32) * (0.8 + 0.3 * u[33]), 0, 1),
        blush=np.array([0.85, 0.35, 0.35], np.float32),
        blush_strength=0.25 * u[34],
        beard=float(u[35] < 0.25) * (0.25 + 0.4 * u[36]),
        beard_colour=hair * np.float32(0.7),
    )


def sample_shot(rng: np.random.Generator) -> Shot:
    """Draw one image's pose, expression, light and scene."""
    u = rng.random(32).astype(np.float32)
    light = np.array([u[0] - 0.5, -0.2 - 0.5 * u[1], 0.6 + 0.4 * u[2]], np.float32)
    direction = np.array([u[3] - 0.5, u[4] - 0.5], np.float32)
    return Shot(
        cx=0.16 * (u[5] - 0.5),
        cy=0.12 * (u[6] - 0.5) + 0.02,
        scale=1.0 + 0.25 * u[7],
        angle=np.deg2rad(30 * (u[8] - 0.5)),
        yaw=0.12 * (u[9] - 0.5),
        mouth_open=max(0.0, 1.6 * u[10] - 0.6),
        smile=0.4 * (u[11] - 0.35),
        eye_open=1.0 if u[12] > 0.1 else 0.15 + 0.3 * u[13],
        gaze_u=0.5 * (u[14] - 0.5),
        gaze_v=0.3 * (u[15] - 0.5),
        brow_raise=0.04 * u[16],
        light=light / np.linalg.norm(light),
        ambient=0.45 + 0.3 * u[17],
        bg0=0.25 + 0.55 * u[18:21],
        bg1=0.2 + 0.6 * u[21:24],
        bg_dir=direction / (np.linalg.norm(direction) + 1e-6),
        clothes=u[24:27] * 0.8 + 0.1,
        white_balance=1 + 0.04 * (u[27:30] - 0.5),
        blur=0.2 * u[30],
        noise=(1.0 + 5.0 * u[31]) / 255.0,
    )
