"""What the inner-face identity embedding sees and learns: the face box, and donor-labelled swaps.

A face swap keeps its target's head outline, hair and skin and carries its donor's inner face
(eyes, brows, nose, mouth; `fakearena.data.synthetic.blend.swapped_identity`). Face recognition
networks (ArcFace, dlib) name the person of the inner face; the synthetic counterpart
(`IdentityModelSettings(region="inner_face")`) sees only a fixed box of every image, the
arena's face-swap crop (`INNER_FACE_BOX`, `task.crop` of conf/task/faceswap.yaml: the inner face
and jaw of a centred face), and learns its own people from their real shots and from the
renderer's true swaps labelled by the donor, so it becomes blind to outline, hair and skin tone.
The box needs the image only, so gallery shots, fakes and true swaps are cropped alike.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from fakearena.errors import DataError

# (centre x, centre y) and side of the box, fractions of the image (= task.crop of faceswap)
INNER_FACE_BOX = ((0.5, 0.5625), 0.625)
# True swaps per real training shot: the more swaps beside each real shot, the less outline,
# hair and skin tell the model (with one per shot it still leant on them)
SWAPS_PER_SHOT = 3
# The training head: an additive cosine margin (CosFace), which keeps people apart by angle,
# so unseen people (the arena's) separate better than with a plain softmax
MARGIN, SCALE = 0.2, 16.0
# What the face swaps' ID metrics train unless their options say otherwise: more people and
# fewer shots each than the head model's defaults (unseen people separate better), and the
# box of a 64-px face at its own size (40 px: eye widths differ by a pixel between people)
INNER_FACE_DEFAULTS = {"region": "inner_face", "people": 128, "shots": 12, "input_size": 40}


def box_pixels(height: int, width: int) -> tuple[slice, slice]:
    """(rows, cols) of `INNER_FACE_BOX` in an image of this size (at least 4 pixels a side)."""
    (cx, cy), side = INNER_FACE_BOX
    r0, r1 = round((cy - side / 2) * height), round((cy + side / 2) * height)
    c0, c1 = round((cx - side / 2) * width), round((cx + side / 2) * width)
    if r1 - r0 < 4 or c1 - c0 < 4:
        raise DataError(
            f"a {height}x{width} image is too small for the inner-face box "
            f"({r1 - r0}x{c1 - c0} pixels); use faces of at least 8 pixels"
        )
    return slice(r0, r1), slice(c0, c1)


def inner_face_crop(images: np.ndarray) -> np.ndarray:
    """(N, H, W, C) -> the `INNER_FACE_BOX` of every image (a view)."""
    rows, cols = box_pixels(images.shape[1], images.shape[2])
    return images[:, rows, cols]


def cosine_margin_logits(
    embeddings: torch.Tensor, weights: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """CosFace logits: SCALE * (cosine to each person's weight, minus MARGIN for the true one)."""
    cosine = F.normalize(embeddings, dim=1) @ F.normalize(weights, dim=1).T
    return SCALE * (cosine - MARGIN * F.one_hot(labels, cosine.shape[1]))


def donor_labelled_swaps(
    renderer, people: list[int], shots: list[int], rng: np.random.Generator, per_shot: int = 1
) -> tuple[list[np.ndarray], list[int]]:
    """True swaps of `people` into each other, `per_shot` per (donor, shot): the donor's inner
    face in shot `shot` of a random other person of `people` (the target, drawn each time);
    labelled by the donor's position in `people`. Needs at least two people."""
    if len(people) < 2:
        raise DataError(f"donor-labelled swaps need at least two people, got {len(people)}")
    images, labels = [], []
    for label, donor in enumerate(people):
        for shot in shots:
            for offset in rng.integers(len(people) - 1, size=per_shot):
                target = people[(label + 1 + int(offset)) % len(people)]
                images.append(renderer.render_swap(target, shot, donor))
                labels.append(label)
    return images, labels
