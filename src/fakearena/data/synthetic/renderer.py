"""The synthetic face renderer: real faces and blended fakes, by (seed, identity, index).

An *identity* (a person) fixes face shape, skin tone, hair and the geometry and colours of eyes,
brows, nose and mouth; each *image* of that person varies position, scale, in-plane rotation,
expression, light, background, blur and sensor noise. Everything is drawn from `(seed, identity,
index)`, so a row renders to the same bytes on every call and at every epoch.

A *true swap* is the ground truth of a face swap: the target image's shot (pose, expression,
light, background, sensor noise) and head outline and skin colour, with the donor's inner face
(eyes, brows, nose, mouth) painted in, as if the target had the donor's features. Blended fakes
and learned face swaps approximate it; `render_swap` draws it, and `render_truth(row)` the
truth of any fake row that carries `synth_*` columns with a donor >= 0 (blended fakes, and
the face swaps of synthetic faces that `fakearena generate` writes).

A *blended fake* follows the self-blended-images recipe: a donor's inner face (eyes, brows,
nose, mouth) rendered in the target's pose, colour-matched to the target's skin up to a small
random colour shift, slightly misaligned, and blended into the target's image through a soft
elliptical mask. The cue a detector can learn is the blend boundary and the residual colour
mismatch; the skin tones agree on average, so global colour statistics give almost nothing away.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from fakearena.data.synthetic import paint
from fakearena.data.synthetic.blend import (
    blend_into,
    blend_mask,
    face_region_mask,
    swapped_identity,
)
from fakearena.data.synthetic.landmarks import synthetic_landmarks
from fakearena.data.synthetic.params import Identity, Shot, sample_identity, sample_shot
from fakearena.errors import ConfigError, DataError

SOURCE_REAL = "real"
SOURCE_FAKE = "blend/synthetic"
# Stream tags keep the random draws of different purposes independent of each other
# (the dataset module uses 4 and 5).
_IDENTITY, _SHOT, _BLEND = 1, 2, 3


def rng_stream(*key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(k) for k in key])))


class SyntheticRenderer:
    """Renders synthetic faces of one size; deterministic by (seed, identity, index)."""

    def __init__(self, size: int = 64, seed: int = 0):
        if int(size) < 16:
            raise ConfigError(f"synthetic image size must be at least 16 pixels, got {size}")
        if int(seed) < 0:
            raise ConfigError(f"synthetic seed must be a non-negative integer, got {seed}")
        self.size = int(size)
        self.seed = int(seed)
        self.canvas = paint.Canvas(self.size)
        self._identities: dict[tuple[int, int], Identity] = {}

    def identity(self, identity: int, seed: int | None = None) -> Identity:
        """The fixed traits of person `identity` (cached)."""
        key = (self._seed(seed), int(identity))
        who = self._identities.get(key)
        if who is None:
            who = self._identities[key] = sample_identity(rng_stream(key[0], _IDENTITY, key[1]))
        return who

    def _seed(self, seed: int | None) -> int:
        return self.seed if seed is None else int(seed)

    def _scene(self, identity: int, index: int, seed: int) -> tuple[Shot, np.random.Generator]:
        # The same generator then draws the sensor noise, so a fake and the real image of the
        # same (identity, index) share it.
        rng = rng_stream(seed, _SHOT, identity, index)
        return sample_shot(rng), rng

    def render_face(self, identity: int, index: int, seed: int | None = None) -> np.ndarray:
        """Image `index` of person `identity` as H x W x 3 uint8 RGB (a real face)."""
        seed = self._seed(seed)
        who = self.identity(identity, seed)
        shot, rng = self._scene(identity, index, seed)
        img = paint.paint_background(self.canvas, shot)
        paint.paint_face(img, self.canvas, who, shot)
        return paint.finish(img, shot, rng)

    def render_blended_fake(
        self, identity: int, index: int, donor: int, seed: int | None = None
    ) -> np.ndarray:
        """Image `index` of `identity` with the inner face of `donor` blended in (a fake).

        Outside the blend mask it equals `render_face(identity, index)` pixel for pixel.
        """
        if int(donor) == int(identity) or int(donor) < 0:
            raise DataError(
                f"a blended fake needs a donor identity other than the target {identity} "
                f"(got donor {donor})"
            )
        seed = self._seed(seed)
        target = self.identity(identity, seed)
        shot, rng = self._scene(identity, index, seed)
        img = paint.paint_background(self.canvas, shot)
        paint.paint_face(img, self.canvas, target, shot)
        blend = rng_stream(seed, _BLEND, identity, index, donor)
        blend_into(img, self.canvas, target, self.identity(donor, seed), shot, blend)
        return paint.finish(img, shot, rng)

    def render_blend_mask(
        self, identity: int, index: int, donor: int, seed: int | None = None
    ) -> np.ndarray:
        """The blend mask of `render_blended_fake(identity, index, donor)`: float32 (H, W) in
        [0, 1], the weight with which the donor's face replaced each target pixel (the same
        draws as the fake, so it is that fake's mask exactly, before the camera's blur)."""
        seed = self._seed(seed)
        shot, _ = self._scene(identity, index, seed)
        blend = rng_stream(seed, _BLEND, identity, index, donor)
        window, mask = blend_mask(self.canvas, self.identity(identity, seed), shot, blend)
        full = np.zeros((self.size, self.size), np.float32)
        full[window[1:]] = mask
        return full

    def render_face_region(self, identity: int, index: int, seed: int | None = None) -> np.ndarray:
        """The inner-face region of image `index` of `identity` (brows to below the mouth, in
        its pose): float32 (H, W) in [0, 1], 1 over the features a true swap replaces. The
        same for a real face and any swap of it (a swap keeps the target's shot and outline)."""
        seed = self._seed(seed)
        shot, _ = self._scene(identity, index, seed)
        window, mask = face_region_mask(self.canvas, self.identity(identity, seed), shot)
        full = np.zeros((self.size, self.size), np.float32)
        full[window[1:]] = mask
        return full

    def render_face_region_row(self, row: Mapping[str, Any]) -> np.ndarray:
        """`render_face_region` of a synthetic manifest row (real or fake: the target's shot)."""
        identity, index, _, seed = synth_key(row)
        return self.render_face_region(identity, index, seed)

    def render_swap(
        self, identity: int, index: int, donor: int, seed: int | None = None
    ) -> np.ndarray:
        """The true swap: image `index` of `identity` with `donor`'s inner face (H x W x 3 uint8).

        It keeps the image's shot (pose, expression, light, background, the same sensor-noise
        draw) and the target's head outline and skin colour; `render_swap(i, k, i)` equals
        `render_face(i, k)` byte for byte.
        """
        if int(donor) < 0:
            raise DataError(f"a swap needs a donor identity >= 0, got donor {donor}")
        seed = self._seed(seed)
        who = swapped_identity(self.identity(identity, seed), self.identity(donor, seed))
        shot, rng = self._scene(identity, index, seed)
        img = paint.paint_background(self.canvas, shot)
        paint.paint_face(img, self.canvas, who, shot)
        return paint.finish(img, shot, rng)

    def render_row(self, row: Mapping[str, Any]) -> np.ndarray:
        """Render a synthetic manifest row from its `synth_*` columns."""
        identity, index, donor, seed = synth_key(row)
        if donor < 0:
            return self.render_face(identity, index, seed)
        return self.render_blended_fake(identity, index, donor, seed)

    def render_mask_row(self, row: Mapping[str, Any]) -> np.ndarray:
        """The blend mask of a synthetic manifest row (all zeros for a real face)."""
        identity, index, donor, seed = synth_key(row)
        if donor < 0:
            return np.zeros((self.size, self.size), np.float32)
        return self.render_blend_mask(identity, index, donor, seed)

    def landmarks_row(self, row: Mapping[str, Any]) -> np.ndarray | None:
        """The 68 landmarks (`fakearena.data.synthetic.landmarks`) of a real row's face, in
        pixels; None for a fake (its inner face is the donor's, painted in a blend)."""
        identity, index, donor, seed = synth_key(row)
        if donor >= 0:
            return None
        shot, _ = self._scene(identity, index, seed)
        return synthetic_landmarks(self.identity(identity, seed), shot, self.size)

    def render_source(self, row: Mapping[str, Any]) -> np.ndarray:
        """The real image a fake row was made from (`render_face` of its identity and index)."""
        identity, index, _, seed = synth_key(row)
        return self.render_face(identity, index, seed)

    def render_truth(self, row: Mapping[str, Any]) -> np.ndarray:
        """The true swap a fake row approximates (`render_swap` of its `synth_*` columns)."""
        identity, index, donor, seed = synth_key(row)
        if donor < 0:
            raise DataError(
                f"row {dict(row).get('path', '?')!r} has synth_donor={donor}: a real face has "
                "no swap truth (only fake rows with a donor >= 0 do)"
            )
        return self.render_swap(identity, index, donor, seed)


def _missing(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and np.isnan(value))


def synth_key(row: Mapping[str, Any]) -> tuple[int, int, int, int | None]:
    """`(identity, index, donor, seed)` of a row from its `synth_*` columns (seed None: the
    renderer's own).

    Raises:
        DataError: the row lacks integer `synth_identity` / `synth_index` columns.
    """
    try:
        identity, index = int(row["synth_identity"]), int(row["synth_index"])
        donor = row.get("synth_donor", -1)
        donor = -1 if _missing(donor) else int(donor)
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(
            f"row {dict(row).get('path', '?')!r} is not a synthetic row: it needs integer "
            f"columns synth_identity, synth_index and synth_donor ({exc})"
        ) from exc
    seed = row.get("synth_seed")
    return identity, index, donor, None if _missing(seed) else int(seed)


def is_synthetic_row(row: Mapping[str, Any]) -> bool:
    """Whether a row names a synthetic face (integer `synth_identity` and `synth_index`)."""
    return not any(_missing(row.get(key)) for key in ("synth_identity", "synth_index"))
