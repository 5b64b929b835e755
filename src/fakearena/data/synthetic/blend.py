"""Blended fakes (the self-blended-images recipe) and true swaps on top of the face painter.

A donor's inner face is painted in the target's pose and head outline, slightly misaligned,
colour-matched to the target's skin up to a small random shift, sometimes blurred, and blended
into the target's image through a soft, randomly deformed ellipse. What a detector can learn is
that boundary and the residual colour mismatch.

A *true swap* (`swapped_identity`) is the perfect answer such a fake approximates: the person
with the target's head outline and skin colour and the donor's inner face, painted in the
target's exact shot.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from fakearena.data.synthetic import paint
from fakearena.data.synthetic.params import Identity, Shot

# Traits the swapped-in face takes from the target: a face swap replaces the inner face only.
_OUTLINE = (
    "face_a",
    "face_b",
    "jaw",
    "hair",
    "hair_volume",
    "hair_length",
    "hairline",
    "parting",
    "bald",
    "ear",
)
# ... and the target's skin colour, which a blend only approximates by colour matching.
_KEPT_BY_TRUE_SWAP = (*_OUTLINE, "skin")


def swapped_identity(target: Identity, donor: Identity) -> Identity:
    """The person of a true swap: `target`'s head outline (face shape, jaw, hair, ears) and
    skin colour, `donor`'s inner face (eyes, brows, nose, mouth, with their colours) and the
    marks on it (blush, beard stubble in the donor's colour). `swapped_identity(x, x)` is
    `x`."""
    return dataclasses.replace(donor, **{f: getattr(target, f) for f in _KEPT_BY_TRUE_SWAP})


def blend_into(
    img: np.ndarray,
    canvas: paint.Canvas,
    target: Identity,
    donor: Identity,
    shot: Shot,
    rng: np.random.Generator,
) -> None:
    """Blend `donor`'s inner face into `img` (3 x H x W float32, target painted) in place."""
    window, mask = blend_mask(canvas, target, shot, rng)
    # The donor is painted only where the mask can be non-zero.
    layer = donor_layer(canvas.crop(window), target, donor, shot, rng)
    img[window] += mask * (layer - img[window])


def donor_layer(
    canvas: paint.Canvas, target: Identity, donor: Identity, shot: Shot, rng: np.random.Generator
) -> np.ndarray:
    """The donor's face in the target's pose and outline, colour-matched to the target."""
    u = rng.random(10).astype(np.float32)
    swapped = dataclasses.replace(donor, **{f: getattr(target, f) for f in _OUTLINE})
    pose = dataclasses.replace(
        shot,
        cx=shot.cx + 0.03 * (u[0] - 0.5) * shot.scale,
        cy=shot.cy + 0.03 * (u[1] - 0.5) * shot.scale,
        scale=shot.scale * (1.0 + 0.06 * (u[2] - 0.5)),
        angle=shot.angle + math.radians(4.0 * (u[3] - 0.5)),
    )
    layer = paint.paint_background(canvas, pose)
    paint.paint_face(layer, canvas, swapped, pose)
    # Skin matched to the target, then a small random colour shift is left over (the cue).
    gain = target.skin / np.maximum(donor.skin, 1e-3)
    gain = gain * (1.0 + 0.16 * (u[4:7] - 0.5)) * (1.0 + 0.1 * (u[7] - 0.5))
    layer *= gain.astype(np.float32)[:, None, None]
    if u[8] < 0.5:
        layer = paint.blur3(layer, 0.1 + 0.15 * float(u[9]))
    return layer


def blend_mask(
    canvas: paint.Canvas, target: Identity, shot: Shot, rng: np.random.Generator
) -> tuple[paint.Window, np.ndarray]:
    """Soft, randomly deformed ellipse over the inner face (brows to below the mouth), times a
    blend ratio in [0.75, 1]; returned with the pixel window outside which it is zero."""
    return _inner_face_ellipse(canvas, target, shot, rng.random(6).astype(np.float32))


# The face region of a shot: the blend ellipse at its largest (u0, u1 = 1), undeformed
# (u2, u3 = 0.5), with a middling soft edge and full weight: it covers the brows, eyes, nose
# and mouth that a true swap replaces.
_FACE_REGION_DRAWS = np.array([1.0, 1.0, 0.5, 0.5, 0.4, 1.0], np.float32)


def face_region_mask(
    canvas: paint.Canvas, target: Identity, shot: Shot
) -> tuple[paint.Window, np.ndarray]:
    """The inner-face region of `target` in `shot` (no random draws): a soft ellipse from the
    brows to below the mouth, 1 inside; returned with the window outside which it is zero.
    It is the mask target of a face-swap network that predicts where to paste."""
    return _inner_face_ellipse(canvas, target, shot, _FACE_REGION_DRAWS)


def _inner_face_ellipse(
    canvas: paint.Canvas, target: Identity, shot: Shot, u: np.ndarray
) -> tuple[paint.Window, np.ndarray]:
    """The blend ellipse drawn from six uniform numbers `u` (size, shape, deformation,
    softness, blend ratio)."""
    pose = canvas.pose(shot)
    top = target.brow_y - target.brow_t - 0.03
    bottom = target.mouth_y + 2.5 * target.mouth_h
    cv, rv = 0.5 * (top + bottom), 0.5 * (bottom - top) * (1.0 + 0.2 * float(u[0]))
    ru = target.face_a * (0.7 + 0.2 * float(u[1]))
    soft = (0.08 + 0.25 * float(u[4])) * min(ru, rv) + pose.aa
    # The mask is zero where q >= 1 + soft / min(ru, rv); the deformation factor is >= 0.7.
    reach = math.sqrt((1.0 + soft / min(ru, rv)) / 0.7)
    window = pose.box(
        shot.yaw - reach * ru, shot.yaw + reach * ru, cv - reach * rv, cv + reach * rv
    )
    fu, v = pose.at(window)
    fu, dv = (fu - shot.yaw) * (1.0 / ru), (v - cv) * (1.0 / rv)
    q = np.square(fu) + np.square(dv)
    q *= 1.0 + 0.3 * (u[2] - 0.5) * np.clip(fu, -1, 1) + 0.3 * (u[3] - 0.5) * np.clip(dv, -1, 1)
    m = paint.clip01(0.5 - (q - 1.0) * (0.5 * min(ru, rv) / soft))
    return window, m * m * (3.0 - 2.0 * m) * (0.75 + 0.25 * u[5])
