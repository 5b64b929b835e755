"""ID retrieval and similarity of swaps of the built-in synthetic faces.

The face-swap papers embed swaps with a face recognition network the swap never trained with
(`fakearena.metrics.swap_identity`); dlib's network knows nothing of the rendered faces, so on
them the embedding is the synthetic identity model of the confound check
(`fakearena.metrics.identity_model`: trained on real shots of other rendered people only,
never on a fake, cached by its settings). The gallery holds `GALLERY_SHOTS` real shots of
every source identity, rendered at shot indices no manifest uses
(`fakearena.metrics.identity_source.gallery_shots`), so no swap's own source image is in it.

The synthetic identity model recognises a rendered person mostly by what a face swap keeps
(hair, skin, outline): on true swaps (the renderer's perfect swap of the same shot) it names
the target, not the donor (`id_top1_truth` of the arena's swaps:
benchmarks/results/arena_demo/summary.json). So, given the shots,
the same metrics of the true swaps of the same rows come beside the fakes' (`*_truth`): the
ceiling this embedding allows, which a swap's own value is read against.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from fakearena.errors import DataError
from fakearena.metrics.identity_model import (
    cached_identity_model,
    default_model_cache,
    model_settings,
)
from fakearena.metrics.identity_source import GALLERY_SHOTS, gallery_shots
from fakearena.metrics.swap_identity import id_entries, identity_gallery

EMBEDDING = "synthetic_identity_model"
PROTOCOL = (
    "the synthetic identity model (a CNN trained on real shots of rendered people no arena "
    "draws, never on a fake; fakearena.metrics.identity_model); ID retrieval over identity "
    f"centroids of {GALLERY_SHOTS} gallery shots per source identity"
)


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
        model_options: fields of `IdentityModelSettings` changing the model (its cache key).
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
    settings = model_settings(seed, size, model_options, options_key)
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
