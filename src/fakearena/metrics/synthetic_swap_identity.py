"""ID retrieval and similarity of swaps of the built-in synthetic faces.

The face-swap papers embed swaps with a face recognition network the swap never trained with
(`fakearena.metrics.swap_identity`), one that names the person whose inner face (eyes, brows,
nose, mouth) it sees. dlib's network knows nothing of the rendered faces, so on them the
embedding is the synthetic inner-face model (`IdentityModelSettings(region="inner_face")`,
`fakearena.metrics.inner_face`): it sees the inner-face box of each image and learnt other
rendered people (never the arena's, never a generator's fake) from their real shots and the
renderer's true swaps labelled by their donor, so on a perfect swap it names the donor. (The
confound check keeps the head model, which also sees hair, outline and skin: it asks who is
in the image, and names the target of a swap.) The gallery holds `GALLERY_SHOTS` real shots
of every source identity, rendered at shot indices no manifest uses
(`fakearena.metrics.identity_source.gallery_shots`), so no swap's own source image is in it.

Given the shots, the same metrics of the renderer's true swaps of the same rows come beside
the fakes' (`*_truth`): the ceiling this embedding allows, which a swap's own value is read
against.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from fakearena.errors import ConfigError, DataError
from fakearena.metrics.identity_model import (
    IdentityModelSettings,
    cached_identity_model,
    default_model_cache,
    model_settings,
)
from fakearena.metrics.identity_source import GALLERY_SHOTS, gallery_shots
from fakearena.metrics.inner_face import INNER_FACE_DEFAULTS
from fakearena.metrics.swap_identity import id_entries, identity_gallery

EMBEDDING = "synthetic_inner_face_model"
PROTOCOL = (
    "the synthetic inner-face model (a CNN that sees the inner-face box, trained on real shots "
    "and donor-labelled true swaps of rendered people no arena draws, never on a generator's "
    "fake; fakearena.metrics.inner_face); ID retrieval over identity centroids of "
    f"{GALLERY_SHOTS} gallery shots per source identity"
)


def inner_face_settings(
    seed: int, size: int, options: dict[str, Any] | None, key: str = "identity_model"
) -> IdentityModelSettings:
    """The settings of the swap metrics' model: `INNER_FACE_DEFAULTS` changed by `options`
    (fields of `IdentityModelSettings`, e.g. the confound check's `{people: 16, epochs: 4}`);
    its region is always the inner face (another one is a ConfigError naming `key`)."""
    options = dict(options or {})
    model_settings(seed, size, options, key)  # unknown fields are named as the user gave them
    if options.get("region", "inner_face") != "inner_face":
        raise ConfigError(
            f"{key} region={options['region']!r}: the swaps' ID metrics embed with the "
            "inner-face model (a swap carries its donor's inner face only); drop `region`"
        )
    return model_settings(seed, size, {**INNER_FACE_DEFAULTS, **options}, key)


def same_size(images: Sequence[np.ndarray], size: int) -> np.ndarray:
    """uint8 (N, size, size, 3) images, each resized (bilinear) where it differs."""
    out = []
    for image in images:
        image = np.asarray(image)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise DataError(
                f"swaps must be uint8 (H, W, 3) images, got {image.dtype} {image.shape}"
            )
        if image.shape[:2] != (size, size):
            image = np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR))
        out.append(image)
    return np.stack(out)


def synthetic_id_metrics(
    fakes: Sequence[np.ndarray],
    donors: Sequence[int],
    targets: Sequence[int],
    people: Sequence[int],
    *,
    seed: int,
    stage: str,
    model_options: dict[str, Any] | None = None,
    cache: str | Path | None = None,
    options_key: str = "identity_model",
    shot_indices: Sequence[int] | None = None,
) -> dict[str, dict[str, Any]]:
    """`<stage>/id_top1`, `id_top5`, `id_similarity` and `id_similarity_target` of swaps of
    synthetic faces; empty without swaps.

    Args:
        fakes: uint8 (H, W, 3) swaps (resized to the first one's size where they differ).
        donors: the synthetic person each swap should carry (its donor).
        targets: the synthetic person whose face each swap replaced.
        people: the gallery: every source identity a swap could receive.
        seed: the synthetic faces' seed (the renderer of the gallery and the model's people).
        stage: the entries' stage (`test`, `fakes`).
        model_options: fields of `IdentityModelSettings` changing the model (its cache key;
            `inner_face_settings`).
        cache: folder of the trained model (None: `default_model_cache()`).
        options_key: the config key of `model_options`, for errors.
        shot_indices: each swap's shot index (`synth_index`); given, the true swaps of the same
            rows are scored too (`<stage>/id_top1_truth`, ...).
    """
    if not len(fakes):
        return {}
    missing = sorted({int(d) for d in donors} - {int(p) for p in people})
    if missing:
        raise DataError(f"donors {missing[:5]} are not among the gallery's people {list(people)}")
    size = int(np.asarray(fakes[0]).shape[0])
    settings = inner_face_settings(seed, size, model_options, options_key)
    model = cached_identity_model(settings, cache if cache is not None else default_model_cache())
    shots, owners = gallery_shots(people, seed=seed, size=size)
    gallery = identity_gallery(model.embed(shots), [str(p) for p in owners])
    donor_names = [str(int(d)) for d in donors]
    target_names = [str(int(t)) for t in targets]
    details = {"embedding": EMBEDDING, "identity_model": settings.key(), "protocol": PROTOCOL}
    entries = id_entries(
        model.embed(same_size(fakes, size)), donor_names, target_names, gallery, stage, **details
    )
    if shot_indices is not None:
        from fakearena.data.synthetic import SyntheticRenderer

        renderer = SyntheticRenderer(size, seed)
        truths = np.stack(
            [
                renderer.render_swap(int(t), int(k), int(d))
                for t, k, d in zip(targets, shot_indices, donors)
            ]
        )
        ceiling = id_entries(
            model.embed(truths), donor_names, target_names, gallery, stage, **details
        )
        entries.update({f"{key}_truth": entry for key, entry in ceiling.items()})
    return entries
