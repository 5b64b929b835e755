"""68-point landmarks of the synthetic faces, read off the renderer's geometry (iBUG order).

The painter (`fakearena.data.synthetic.paint`) draws every part from an identity's traits and a
shot's pose in face units; the same formulas give where the iBUG 300-W points lie: the jaw on the
face outline from ear level round the chin, brows on their painted curve, the nose bridge and
nostrils, eye corners and lids, the outer and inner lip contours. Face units map to pixels by
the shot's centre, scale and in-plane angle; inner features move with the shot's yaw, as painted.
So SBI and Face X-ray draw landmark hulls on synthetic faces as they do on real crops.
"""

from __future__ import annotations

import math

import numpy as np

from fakearena.data.synthetic.params import Identity, Shot


def _eye(who: Identity, shot: Shot, side: int) -> np.ndarray:
    """Six points of one eye (side -1: the image's left eye, iBUG 36-41; +1: 42-47)."""
    ew, eh = who.eye_w, who.eye_h * shot.eye_open
    lid = 0.866 * eh  # the ellipse's height at half its width
    # iBUG: the left eye runs outer corner, upper lid, inner corner, lower lid; the right
    # eye starts at its inner corner; both clockwise in the image
    offsets = [(-ew, 0), (-ew / 2, -lid), (ew / 2, -lid), (ew, 0), (ew / 2, lid), (-ew / 2, lid)]
    points = [(who.eye_x + du, who.eye_y + dv) for du, dv in offsets]
    if side < 0:  # mirrored: outer corner, upper lid, inner corner, lower lid
        points = [(-points[i][0], points[i][1]) for i in (3, 2, 1, 0, 5, 4)]
    return np.array(points, dtype=np.float64)


def face_unit_landmarks(who: Identity, shot: Shot) -> np.ndarray:
    """(68, 2) landmarks in face units (u right, v down), before the pose."""
    a, b = who.face_a, who.face_b
    t = np.linspace(math.pi, 0.0, 17)
    v = b * np.sin(t)
    width = a * (1.0 - who.jaw * np.clip(v / b, 0.0, 1.0))
    jaw = np.stack([width * np.cos(t), v], axis=1)
    e = np.linspace(1.0, -1.0, 5) * who.brow_w

    def brow_v(eu: np.ndarray) -> np.ndarray:
        return who.brow_y - shot.brow_raise + who.brow_tilt * eu + 1.5 * eu**2

    left_brow = np.stack([-(who.eye_x + e), brow_v(e)], axis=1)
    right_brow = np.stack([who.eye_x + e[::-1], brow_v(e[::-1])], axis=1)
    bridge = np.stack([np.zeros(4), np.linspace(who.eye_y, who.nose_y, 4)], axis=1)
    nw = who.nose_w
    nostrils = np.stack([np.linspace(-0.55, 0.55, 5) * nw, np.full(5, who.nose_y)], axis=1)
    mw, mh = who.mouth_w, who.mouth_h
    opening = shot.mouth_open * mh * 1.6

    def lip(angles: np.ndarray, ru: float, rv: float) -> np.ndarray:
        u = ru * np.cos(angles)
        smile = shot.smile * (1.0 - (u / mw) ** 2) * mh * 2.0
        return np.stack([u, who.mouth_y + rv * np.sin(angles) - smile], axis=1)

    outer = lip(math.pi + np.arange(12) * math.pi / 6, mw, mh + opening)
    inner = lip(math.pi + np.arange(8) * math.pi / 4, 0.82 * mw, opening)
    inner_face = np.concatenate(
        [left_brow, right_brow, bridge, nostrils, _eye(who, shot, -1), _eye(who, shot, 1),
         outer, inner]
    )  # fmt: skip
    inner_face[:, 0] += shot.yaw  # inner features move with the head turn
    return np.concatenate([jaw, inner_face])


def synthetic_landmarks(who: Identity, shot: Shot, size: int) -> np.ndarray:
    """float32 (68, 2) landmarks of a `size` x `size` rendered face, in continuous pixels."""
    uv = face_unit_landmarks(who, shot)
    c, s = math.cos(shot.angle) * shot.scale, math.sin(shot.angle) * shot.scale
    x = (shot.cx + c * uv[:, 0] - s * uv[:, 1] + 1.0) * (size / 2.0)
    y = (shot.cy + s * uv[:, 0] + c * uv[:, 1] + 1.0) * (size / 2.0)
    return np.stack([x, y], axis=1).astype(np.float32)
