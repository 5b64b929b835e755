"""Built-in synthetic faces: procedural people and blended fakes, so the suite runs offline.

An *identity* (a person) fixes face shape, skin tone, hair and the geometry and colours of eyes,
brows, nose and mouth; each *image* of that person varies position, scale, in-plane rotation,
expression, light, background, blur and sensor noise. Everything is drawn from `(seed, identity,
index)`, so a row renders to the same bytes on every call and at every epoch.

A *blended fake* follows the self-blended-images recipe: a donor's inner face (eyes, brows,
nose, mouth) rendered in the target's pose, colour-matched to the target's skin up to a small
random colour shift, slightly misaligned, and blended into the target's image through a soft
elliptical mask. The cue a detector can learn is the blend boundary and the residual colour
mismatch; the skin tones agree on average, so global colour statistics give almost nothing away.

Manifests of synthetic faces are in memory (`root=None`): the extra integer columns
`synth_seed, synth_identity, synth_index, synth_donor` (-1 for reals) say what to render.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from fakearena.data import _face_render as fr
from fakearena.data.manifest import SPLITS, Manifest, ManifestCard
from fakearena.errors import ConfigError, DataError

SOURCE_REAL = "real"
SOURCE_FAKE = "blend/synthetic"
EXTRA_COLUMNS = ("synth_seed", "synth_identity", "synth_index", "synth_donor")
# Stream tags keep the random draws of different purposes independent of each other.
_IDENTITY, _SHOT, _BLEND, _SPLIT, _DONOR = 1, 2, 3, 4, 5


def _rng(*key: int) -> np.random.Generator:
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
        self.canvas = fr.Canvas(self.size)
        self._identities: dict[tuple[int, int], fr.Identity] = {}

    def identity(self, identity: int, seed: int | None = None) -> fr.Identity:
        """The fixed traits of person `identity` (cached)."""
        key = (self._seed(seed), int(identity))
        who = self._identities.get(key)
        if who is None:
            who = self._identities[key] = fr.sample_identity(_rng(key[0], _IDENTITY, key[1]))
        return who

    def _seed(self, seed: int | None) -> int:
        return self.seed if seed is None else int(seed)

    def _scene(self, identity: int, index: int, seed: int) -> tuple[fr.Shot, np.random.Generator]:
        rng = _rng(seed, _SHOT, identity, index)
        return fr.sample_shot(rng), rng

    def render_face(self, identity: int, index: int, seed: int | None = None) -> np.ndarray:
        """Image `index` of person `identity` as H x W x 3 uint8 RGB (a real face)."""
        seed = self._seed(seed)
        who = self.identity(identity, seed)
        shot, rng = self._scene(identity, index, seed)
        img = fr.paint_background(self.canvas, shot)
        fr.paint_face(img, self.canvas, who, shot)
        return fr.finish(img, shot, rng)

    def render_blended_fake(
        self, identity: int, index: int, donor: int, seed: int | None = None
    ) -> np.ndarray:
        """Image `index` of `identity` with the inner face of `donor` blended in (a fake)."""
        if int(donor) == int(identity) or int(donor) < 0:
            raise DataError(
                f"a blended fake needs a donor identity other than the target {identity} "
                f"(got donor {donor})"
            )
        seed = self._seed(seed)
        target, source = self.identity(identity, seed), self.identity(donor, seed)
        shot, rng = self._scene(identity, index, seed)
        img = fr.paint_background(self.canvas, shot)
        fr.paint_face(img, self.canvas, target, shot)
        blend = _rng(seed, _BLEND, identity, index, donor)
        swapped = self._donor_layer(target, source, shot, blend)
        window, mask = self._blend_mask(target, shot, blend)
        img[window] += mask * (swapped[window] - img[window])
        return fr.finish(img, shot, rng)

    def _donor_layer(
        self, target: fr.Identity, source: fr.Identity, shot: fr.Shot, rng: np.random.Generator
    ) -> np.ndarray:
        """The donor's face in the target's pose and head outline, colour-matched to the target."""
        u = rng.random(12).astype(np.float32)
        # The donor keeps its inner features; the outline and hair are the target's.
        head = {f: getattr(target, f) for f in ("face_a", "face_b", "jaw", "hair", "hair_volume",
                                                "hair_length", "hairline", "parting", "bald",
                                                "ear")}
        donor = dataclasses.replace(source, **head)
        pose = dataclasses.replace(
            shot,
            cx=shot.cx + 0.03 * (u[0] - 0.5) * shot.scale,
            cy=shot.cy + 0.03 * (u[1] - 0.5) * shot.scale,
            scale=shot.scale * (1.0 + 0.06 * (u[2] - 0.5)),
            angle=shot.angle + np.deg2rad(4.0 * (u[3] - 0.5)),
        )
        layer = fr.paint_background(self.canvas, pose)
        fr.paint_face(layer, self.canvas, donor, pose)
        # Match skin to the target, then leave a small random colour shift (the cue).
        gain = target.skin / np.maximum(source.skin, 1e-3)
        gain = gain * (1.0 + 0.16 * (u[4:7] - 0.5)) * (1.0 + 0.1 * (u[7] - 0.5))
        layer *= gain.astype(np.float32)[:, None, None]
        if u[8] < 0.5:
            layer = fr.blur3(layer, 0.1 + 0.15 * u[9])
        return layer

    def _blend_mask(self, target: fr.Identity, shot: fr.Shot, rng: np.random.Generator):
        """Soft, randomly deformed ellipse over the inner face, times a blend ratio."""
        u = rng.random(8).astype(np.float32)
        pose = self.canvas.pose(shot)
        top = target.brow_y - target.brow_t - 0.03
        bottom = target.mouth_y + 2.5 * target.mouth_h
        cv, rv = 0.5 * (top + bottom), 0.5 * (bottom - top) * (1.0 + 0.2 * u[0])
        ru = target.face_a * (0.7 + 0.2 * u[1])
        soft = (0.08 + 0.25 * u[4]) * min(ru, rv) + pose.aa
        # The mask is zero where q >= 1 + soft / min(ru, rv) (the deformation is >= 0.7).
        reach = np.sqrt((1.0 + soft / min(ru, rv)) / 0.7)
        window = pose.box(shot.yaw - reach * ru, shot.yaw + reach * ru, cv - reach * rv,
                          cv + reach * rv)
        fu, v = pose.at(window)
        fu, dv = (fu - shot.yaw) * (1.0 / ru), (v - cv) * (1.0 / rv)
        q = np.square(fu) + np.square(dv)
        q *= 1.0 + 0.3 * (u[2] - 0.5) * np.clip(fu, -1, 1) + 0.3 * (u[3] - 0.5) * np.clip(dv, -1, 1)
        m = fr.clip01(0.5 - (q - 1.0) * (0.5 * min(ru, rv) / soft))
        return window, m * m * (3.0 - 2.0 * m) * (0.75 + 0.25 * u[5])

    def render_row(self, row: Mapping[str, Any]) -> np.ndarray:
        """Render a synthetic manifest row from its `synth_*` columns."""
        try:
            identity, index = int(row["synth_identity"]), int(row["synth_index"])
            donor = int(row.get("synth_donor", -1))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(
                f"row {dict(row).get('path', '?')!r} is not a synthetic row: it needs integer "
                f"columns synth_identity, synth_index and synth_donor ({exc})"
            ) from exc
        seed = row.get("synth_seed")
        seed = None if seed is None or seed == "" else int(seed)
        if donor < 0:
            return self.render_face(identity, index, seed)
        return self.render_blended_fake(identity, index, donor, seed)


def identity_splits(n_identities: int, seed: int) -> dict[int, str]:
    """Split of each identity: about 70/15/15, at least one identity per split."""
    if n_identities < len(SPLITS):
        raise ConfigError(
            f"synthetic data needs n_identities >= {len(SPLITS)} (one per split), "
            f"got {n_identities}"
        )
    order = _rng(seed, _SPLIT).permutation(n_identities)
    n_held = max(1, round(0.15 * n_identities))
    names = ["val"] * n_held + ["test"] * n_held
    names += ["train"] * (n_identities - len(names))
    return {int(identity): name for identity, name in zip(order, names[::-1])}


def _donor_pool(splits: dict[int, str], n_identities: int) -> dict[str, list[int]]:
    """Donors of each split come from the same split; a split of one person gets a donor-only
    identity (numbered from `n_identities`), so no face crosses splits."""
    pools: dict[str, list[int]] = {}
    for k, name in enumerate(SPLITS):
        members = sorted(i for i, s in splits.items() if s == name)
        pools[name] = members if len(members) > 1 else [*members, n_identities + k]
    return pools


def _fake_indices(per_identity: int, fake_fraction: float) -> np.ndarray:
    """Which image indices of a person are fakes: an evenly spread, exact count."""
    if not 0.0 <= fake_fraction <= 1.0:
        raise ConfigError(f"fake_fraction must be in [0, 1], got {fake_fraction}")
    n_fake = round(per_identity * fake_fraction)
    if 0.0 < fake_fraction < 1.0:
        n_fake = min(max(n_fake, 1), per_identity - 1)
    k = np.arange(per_identity)
    return (k + 1) * n_fake // per_identity > k * n_fake // per_identity


def synthetic_manifest(
    n_identities: int = 8,
    per_identity: int = 60,
    fake_fraction: float = 0.5,
    seed: int = 0,
    size: int = 64,
    name: str = "synthetic",
) -> Manifest:
    """An in-memory manifest of synthetic reals and blended fakes, split by identity.

    `per_identity` counts all images of a person (reals + fakes); with 0 < fake_fraction < 1
    every person, hence every split, has both labels. Reals and fakes are interleaved so any
    contiguous run of rows holds both labels.
    """
    _check_args(n_identities, per_identity, size, seed, name)
    splits = identity_splits(n_identities, seed)
    pools = _donor_pool(splits, n_identities)
    is_fake = _fake_indices(per_identity, fake_fraction)
    width = max(3, len(str(n_identities - 1)))
    iwidth = max(5, len(str(per_identity - 1)))
    reals, fakes = [], []
    for index in range(per_identity):
        for identity in range(n_identities):
            person = f"synth{identity:0{width}d}"
            split = splits[identity]
            if is_fake[index]:
                pool = [d for d in pools[split] if d != identity]
                donor = pool[int(_rng(seed, _DONOR, identity, index).integers(len(pool)))]
                stem, label, source, rows = f"fake_{index:0{iwidth}d}", 1, SOURCE_FAKE, fakes
            else:
                donor, stem, label, source, rows = -1, f"real_{index:0{iwidth}d}", 0, SOURCE_REAL, reals
            rows.append((f"{person}/{stem}.png", label, split, f"{name}/{person}/{stem}", 0,
                         person, source, "", seed, identity, index, donor))
    ordered = _interleave(reals, fakes)
    columns = ("path", "label", "split", "video_id", "frame", "identity", "source", "sha256",
               *EXTRA_COLUMNS)
    frame = pd.DataFrame(ordered, columns=list(columns))
    params = dict(n_identities=n_identities, per_identity=per_identity,
                  fake_fraction=fake_fraction, seed=seed, size=size, name=name)
    return Manifest(frame=frame, card=synthetic_card(params), root=None)


def _interleave(reals: list, fakes: list) -> list:
    """Merge two ordered lists so every prefix holds them in proportion (Bresenham)."""
    total, n_fake = len(reals) + len(fakes), len(fakes)
    out, r, f = [], iter(reals), iter(fakes)
    for j in range(total):
        take_fake = (j + 1) * n_fake // total > j * n_fake // total
        out.append(next(f) if take_fake else next(r))
    return out


def synthetic_card(params: Mapping[str, Any]) -> ManifestCard:
    """The card of a synthetic manifest: what it is and the parameters that reproduce it."""
    from fakearena import __version__

    command = "fakearena data synth " + " ".join(f"{k}={v}" for k, v in params.items())
    return ManifestCard(
        name=str(params["name"]),
        root=".",
        description=(
            f"Built-in procedural faces: {params['n_identities']} identities x "
            f"{params['per_identity']} images, {params['fake_fraction']:.0%} blended fakes "
            "(a donor's inner face blended into the target with a soft mask and colour shift)."
        ),
        image_size=int(params["size"]),
        license="generated",
        provenance={
            "generator": "fakearena.data.synthetic",
            "command": command,
            "parameters": dict(params),
            "fakearena_version": __version__,
        },
    )


def _check_args(n_identities: int, per_identity: int, size: int, seed: int, name: str) -> None:
    if int(per_identity) < 2:
        raise ConfigError(f"per_identity must be at least 2 (images per person), got {per_identity}")
    if int(size) < 16:
        raise ConfigError(f"size must be at least 16 pixels, got {size}")
    if int(seed) < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed}")
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ConfigError(f"name must be a plain file stem like 'synthetic', got {name!r}")
