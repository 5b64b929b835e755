"""Procedural face painting in pure numpy: a person (`Identity`) in one photo (`Shot`).

Image coordinates are [-1, 1] on both axes (pixel centres); a shot maps face units to the image
by scale, rotation and shift. Every shape is an anti-aliased soft mask (about one pixel of ramp),
so any image size works, and each part is painted only inside the pixel window it can touch.
Images are 3 x H x W float32 while painting (long inner loops for numpy), H x W x 3 uint8 after
`finish`.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import numpy as np

from fakearena.data.synthetic.params import Identity, Shot

Window = tuple[slice, slice, slice]
# Sensor noise through a 256-entry table of standard-normal quantiles: random bytes become
# Gaussian samples at a quarter of the cost of `standard_normal`.
_NORMAL_TABLE = np.array(
    [statistics.NormalDist().inv_cdf((k + 0.5) / 256) for k in range(256)], np.float32
)


class Canvas:
    """Pixel grid of an image of `size`, or of a crop of it (image coordinates of pixel
    centres); reused across images."""

    def __init__(self, size: int):
        self.size = size
        self.origin = (0, 0)
        axis = (np.arange(size, dtype=np.float32) + 0.5) * (2.0 / size) - 1.0
        self.x, self.y = np.meshgrid(axis, axis)

    def crop(self, window: Window) -> Canvas:
        """The pixels of `window` only; images painted on it have the window's shape."""
        crop = object.__new__(Canvas)
        crop.size = self.size
        crop.origin = (self.origin[0] + window[1].start, self.origin[1] + window[2].start)
        crop.x, crop.y = self.x[window[1:]], self.y[window[1:]]
        return crop

    def pose(self, shot: Shot) -> Pose:
        """Face-unit coordinates of every pixel for `shot`."""
        c, s = math.cos(shot.angle), math.sin(shot.angle)
        dx, dy = self.x - shot.cx, self.y - shot.cy
        inv = 1.0 / shot.scale
        u = (c * inv) * dx + (s * inv) * dy
        v = (c * inv) * dy - (s * inv) * dx
        return Pose(u, v, 2.0 / (self.size * shot.scale), shot, self.size, self.origin)


@dataclass
class Pose:
    """Face-unit coordinates (u, v) of every pixel, the pixel size `aa` in face units, and
    windows: the pixel rectangle covering a face-unit box, so small parts touch few pixels."""

    u: np.ndarray
    v: np.ndarray
    aa: float
    shot: Shot
    size: int
    origin: tuple[int, int]

    def box(self, u0: float, u1: float, v0: float, v1: float) -> Window:
        """Index `(:, rows, cols)` of the pixels the face-unit box [u0,u1] x [v0,v1] can touch."""
        shot = self.shot
        c, s = math.cos(shot.angle) * shot.scale, math.sin(shot.angle) * shot.scale
        half = self.size / 2.0
        corners = ((u0, v0), (u1, v0), (u0, v1), (u1, v1))
        cols = [(shot.cx + c * u - s * v + 1.0) * half - 0.5 for u, v in corners]
        rows = [(shot.cy + s * u + c * v + 1.0) * half - 0.5 for u, v in corners]
        r0 = math.floor(min(rows)) - 2 - self.origin[0]
        r1 = math.ceil(max(rows)) + 3 - self.origin[0]
        c0 = math.floor(min(cols)) - 2 - self.origin[1]
        c1 = math.ceil(max(cols)) + 3 - self.origin[1]
        h, w = self.u.shape
        return (
            slice(None),
            slice(min(max(r0, 0), h), min(max(r1, 0), h)),
            slice(min(max(c0, 0), w), min(max(c1, 0), w)),
        )

    def at(self, window: Window) -> tuple[np.ndarray, np.ndarray]:
        """(u, v) inside `window`."""
        return self.u[window[1:]], self.v[window[1:]]


def clip01(x: np.ndarray) -> np.ndarray:
    """Clip a fresh array to [0, 1] in place (cheaper than np.clip for small arrays)."""
    np.maximum(x, 0.0, out=x)
    return np.minimum(x, 1.0, out=x)


def _ramp(d: np.ndarray, width: float) -> np.ndarray:
    """Coverage of a shape from a signed distance `d` (negative inside), ramp of `width`."""
    return clip01(0.5 - d * (1.0 / width))


def _ellipse(u, v, cu, cv, ru, rv, aa) -> np.ndarray:
    """Anti-aliased coverage of an ellipse (distance approximated from the quadratic form)."""
    q = np.square((u - cu) * (1.0 / ru)) + np.square((v - cv) * (1.0 / rv))
    return _ramp((q - 1.0) * (0.5 * min(ru, rv)), aa)


def _over(img: np.ndarray, mask: np.ndarray, colour) -> None:
    """Paint `colour` over `img` with coverage `mask`, in place."""
    delta = np.asarray(colour, np.float32).reshape(3, 1, 1) - img
    delta *= mask
    img += delta


def paint_background(canvas: Canvas, shot: Shot) -> np.ndarray:
    """Linear two-colour gradient, as 3 x H x W float32 in [0, 1]."""
    t = clip01(0.5 + 0.5 * (shot.bg_dir[0] * canvas.x + shot.bg_dir[1] * canvas.y))
    return shot.bg0[:, None, None] + t * (shot.bg1 - shot.bg0)[:, None, None]


def paint_face(img: np.ndarray, canvas: Canvas, who: Identity, shot: Shot) -> None:
    """Draw one person into `img` (3 x H x W float32 in [0, 1]) in place."""
    p = canvas.pose(shot)
    a, b, aa = who.face_a, who.face_b, p.aa
    # Body, neck and hair behind the head.
    w = p.box(-2.7 * a, 2.7 * a, 0.9 * b, 3.1 * b)
    u, v = p.at(w)
    _over(img[w], _ellipse(u, v, 0.0, 2.0 * b, 2.6 * a, 1.0 * b, aa), shot.clothes)
    w = p.box(-0.6 * a, 0.6 * a, -0.1 * b, 1.3 * b)
    u, v = p.at(w)
    neck = _ramp(np.abs(u) - 0.55 * a, aa) * _ramp(-v, aa) * _ramp(v - 1.25 * b, aa)
    _over(img[w], neck, who.skin * 0.7)
    hv = 0.0 if who.bald else who.hair_volume
    bottom = b * (0.4 + who.hair_length) if hv and who.hair_length > 0 else b
    half = max(hv * a, a * 0.98 + who.ear * 0.6) + aa
    head = p.box(-half, half, min(-0.12 * b - hv * b * 0.95, -b) - aa, bottom + aa)
    u, v = p.at(head)
    im = img[head]
    hair_back = np.zeros_like(u)
    if hv:
        hair_back = _ellipse(u, v, 0.0, -0.12 * b, hv * a, hv * b * 0.95, aa)
        if who.hair_length > 0:
            centre = 0.5 * (bottom - 0.12 * b)
            long = _ellipse(u, v, 0.0, centre, hv * a, bottom - centre, aa)
            hair_back = np.maximum(hair_back, long)
        _over(im, hair_back, who.hair)
    # Ears, then the face: an ellipse whose width shrinks towards the chin.
    ears = _ellipse(np.abs(u), v, a * 0.98, -0.02, who.ear * 0.6, who.ear * 1.3, aa)
    _over(im, ears, who.skin * 0.92)
    width = a * (1.0 - who.jaw * clip01(v * (1.0 / b)))
    face = _ramp((np.square(u / width) + np.square(v * (1.0 / b)) - 1.0) * (0.5 * a), aa)
    _over(im, face, who.skin)
    face_full = np.zeros_like(p.u)
    face_full[head[1:]] = face
    _paint_skin_marks(img, p, face_full, who, shot)
    _paint_eyes(img, p, who, shot)
    _paint_mouth(img, p, who, shot)
    _paint_nose(img, p, who, shot)
    if hv:  # the fringe: hair over the face above the hairline
        top = -who.hairline * b
        w = p.box(-1.05 * a, 1.05 * a, -1.1 * b, top + 0.55 * a * a + abs(who.parting) * a)
        u, v = p.at(w)
        line = top + 0.5 * np.square(u) + who.parting * u
        fringe = _ramp(v - line, aa) * _ellipse(u, v, 0.0, -0.05 * b, a * 1.04, b * 1.02, aa)
        _over(img[w], fringe, who.hair)
    # Lambert shading over the head from an ellipsoid's normals.
    u, v = p.at(head)
    cover = np.maximum(np.maximum(face, ears), hair_back)
    nx, ny = u * (1.0 / (a * 1.1)), v * (1.0 / (b * 1.1))
    nz = np.sqrt(clip01(1.0 - nx * nx - ny * ny))
    lx, ly, lz = shot.light
    lambert = clip01(lx * nx + ly * ny + lz * nz)
    shade = 1.0 - cover * (1.0 - shot.ambient) * (1.0 - lambert)
    im *= shade


def _features(p: Pose, shot: Shot, u0, u1, v0, v1):
    """Window and coordinates of inner features, which move with the head turn."""
    w = p.box(u0 + shot.yaw, u1 + shot.yaw, v0, v1)
    u, v = p.at(w)
    return w, u - shot.yaw, v


def _paint_skin_marks(img, p: Pose, face: np.ndarray, who: Identity, shot: Shot) -> None:
    """Cheek blush and beard stubble, both only on the face."""
    if who.blush_strength > 0:
        reach = who.eye_x + 0.25
        w, fu, v = _features(p, shot, -reach, reach, who.nose_y - 0.25, who.nose_y + 0.25)
        d2 = np.square(np.abs(fu) - who.eye_x) + np.square(v - who.nose_y)
        cheek = np.exp(d2 * (-1.0 / (0.02 * who.face_a)))
        _over(img[w], cheek * face[w[1:]] * who.blush_strength, who.blush)
    if who.beard > 0:
        w, fu, v = _features(
            p, shot, -who.face_a - 0.05, who.face_a + 0.05, who.nose_y, who.face_b + 0.05
        )
        beard = face[w[1:]] * clip01((v - who.nose_y) * (1.0 / (0.4 * who.face_b)))
        _over(img[w], beard * who.beard, who.beard_colour)


def _paint_eyes(img, p: Pose, who: Identity, shot: Shot) -> None:
    """Both eyes at once through |u| (mirror symmetry), then the brows."""
    aa = p.aa
    ew, eh = who.eye_w, who.eye_h * shot.eye_open
    reach = who.eye_x + max(1.25 * ew, who.brow_w) + aa
    top = who.brow_y - shot.brow_raise - abs(who.brow_tilt) * who.brow_w - who.brow_t - aa
    w, fu, v = _features(p, shot, -reach, reach, top, who.eye_y + 2.2 * who.eye_h + aa)
    im = img[w]
    eu = np.abs(fu) - who.eye_x
    socket = _ellipse(eu, v, 0.0, who.eye_y, ew * 1.25, who.eye_h * 2.2, aa)
    _over(im, socket * 0.25, who.skin * 0.6)
    sclera = _ellipse(eu, v, 0.0, who.eye_y, ew, max(eh, 0.25 * aa), aa)
    _over(im, sclera, (0.93, 0.92, 0.90))
    # Gaze moves both irises the same way in image terms: mirror the shift for the left eye.
    iu = eu - np.sign(fu) * (shot.gaze_u * ew * 0.5)
    r = who.iris_r * who.eye_h
    iv = who.eye_y + shot.gaze_v * r
    _over(im, _ellipse(iu, v, 0.0, iv, r, r, aa) * sclera, who.iris)
    _over(im, _ellipse(iu, v, 0.0, iv, 0.45 * r, 0.45 * r, aa) * sclera, (0.03, 0.03, 0.03))
    lid = _ramp(np.abs(v - (who.eye_y - eh)) - 0.25 * who.eye_h, aa)
    lid *= _ramp(np.abs(eu) - ew, aa)
    _over(im, lid * 0.8, who.brow * 0.5)
    by = who.brow_y - shot.brow_raise + who.brow_tilt * eu + 1.5 * np.square(eu)
    brow = _ramp(np.abs(v - by) - 0.5 * who.brow_t, aa) * _ramp(np.abs(eu) - who.brow_w, aa)
    _over(im, brow, who.brow)


def _paint_mouth(img, p: Pose, who: Identity, shot: Shot) -> None:
    """Lips, and the open mouth's dark inside with a band of teeth."""
    aa = p.aa
    mw, mh = who.mouth_w, who.mouth_h
    opening = shot.mouth_open * mh * 1.6
    reach_v = mh + opening + abs(shot.smile) * mh * 2.0 + aa
    w, fu, v = _features(p, shot, -mw - aa, mw + aa, who.mouth_y - reach_v, who.mouth_y + reach_v)
    im = img[w]
    mv = v + shot.smile * (1.0 - np.square(fu * (1.0 / mw))) * mh * 2.0
    lips = _ellipse(fu, mv, 0.0, who.mouth_y, mw, mh + opening, aa)
    _over(im, lips, who.lips)
    if opening > 0.25 * aa:
        inner = _ellipse(fu, mv, 0.0, who.mouth_y, mw * 0.82, opening, aa)
        _over(im, inner, (0.25, 0.05, 0.06))
        teeth = inner * _ramp(mv - (who.mouth_y - opening * 0.35), aa)
        _over(im, teeth, (0.92, 0.90, 0.85))
    else:
        seam = _ramp(np.abs(mv - who.mouth_y) - 0.15 * mh, aa) * lips
        _over(im, seam * 0.7, who.lips * 0.45)


def _paint_nose(img, p: Pose, who: Identity, shot: Shot) -> None:
    """Nostrils and a shadow down the side of the nose away from the light."""
    nw = who.nose_w
    w, fu, v = _features(p, shot, -1.3 * nw, 1.3 * nw, who.eye_y, who.nose_y + 0.3 * nw)
    im = img[w]
    nostrils = _ellipse(np.abs(fu), v, nw * 0.55, who.nose_y, nw * 0.3, nw * 0.18, p.aa)
    _over(im, nostrils * 0.7, who.skin * 0.35)
    side = -np.sign(shot.light[0]) * nw * 0.5
    ridge = np.exp(np.square((fu - side) * (1.0 / (0.3 * nw))) * -1.0)
    ridge *= _ramp(who.eye_y - v, 2 * p.aa) * _ramp(v - who.nose_y, 2 * p.aa)
    _over(im, ridge * 0.25, who.skin * 0.5)


def finish(img: np.ndarray, shot: Shot, rng: np.random.Generator) -> np.ndarray:
    """Camera: white balance, a slight blur, sensor noise; returns H x W x 3 uint8."""
    img *= shot.white_balance[:, None, None]
    if shot.blur > 0:
        img = blur3(img, shot.blur)
    codes = np.frombuffer(rng.bytes(img.size), np.uint8).reshape(img.shape)
    noise = _NORMAL_TABLE[codes]
    noise *= shot.noise
    img += noise
    img *= 255.0
    img += 0.5
    np.clip(img, 0.0, 255.0, out=img)
    return np.ascontiguousarray(img.astype(np.uint8).transpose(1, 2, 0))


def blur3(img: np.ndarray, w: float) -> np.ndarray:
    """Separable 3-tap blur [w, 1-2w, w] with edge replication, on C x H x W."""
    out = img * (1.0 - 2.0 * w)
    out[:, 1:] += w * img[:, :-1]
    out[:, :-1] += w * img[:, 1:]
    out[:, 0] += w * img[:, 0]
    out[:, -1] += w * img[:, -1]
    res = out * (1.0 - 2.0 * w)
    res[:, :, 1:] += w * out[:, :, :-1]
    res[:, :, :-1] += w * out[:, :, 1:]
    res[:, :, 0] += w * out[:, :, 0]
    res[:, :, -1] += w * out[:, :, -1]
    return res
