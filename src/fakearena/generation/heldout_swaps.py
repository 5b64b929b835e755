"""The face-swap papers' metrics of a face-swap run, on its held-out faces at test time.

Each real face of the run's test split is swapped into every other identity of the run (each
donor; for two people, A -> B and B -> A) and pasted back with the run's blend recipe, as
`fakearena generate` does; up to `limit` of these swaps (spread evenly) are measured:

- on the built-in synthetic faces: ID retrieval top-1/top-5 among the run's identities and ID
  similarity to donor and target, embedded by the synthetic inner-face model
  (`fakearena.metrics.synthetic_swap_identity`);
- on real faces whose rows carry `landmarks68` (crops from `fakearena faces extract`): the
  same with dlib's face recognition network, plus pose and expression error
  (`fakearena.generation.swap_literature`); the gallery is the held-out faces of each person.

Rows of other images (no landmarks, not synthetic) are not measured: the metrics need faces.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fakearena.generation.swap_literature import (
    SwapSample,
    gallery_faces,
    literature_metrics,
    spread,
)
from fakearena.generation.swapper import Swapper, blend_recipe, synth_donors
from fakearena.metrics.synthetic_swap_identity import synthetic_id_metrics

# swap(images of identity `source`, donor code, source code) -> uint8 fakes
SwapFunction = Callable[[list[np.ndarray], int, int], list[np.ndarray]]


def donor_pairs(codes: Sequence[int], n_identities: int, limit: int) -> list[tuple[int, int]]:
    """(row, donor code) of every row into every identity but its own, row by row; up to
    `limit` of them, spread evenly."""
    pairs = [
        (row, donor)
        for row, code in enumerate(codes)
        for donor in range(n_identities)
        if donor != int(code)
    ]
    return [pairs[int(k)] for k in spread(len(pairs), limit)]


def swap_pairs(
    swap: SwapFunction,
    load: Callable[[int], np.ndarray],
    codes: Sequence[int],
    pairs: Sequence[tuple[int, int]],
    batch_size: int = 32,
) -> list[np.ndarray]:
    """The swap of each (row, donor) pair, in the order of `pairs` (batched by source and
    donor identity)."""
    fakes: list[np.ndarray] = [np.empty(0)] * len(pairs)
    groups: dict[tuple[int, int], list[int]] = {}
    for k, (row, donor) in enumerate(pairs):
        groups.setdefault((int(codes[row]), donor), []).append(k)
    for (source, donor), members in sorted(groups.items()):
        for start in range(0, len(members), batch_size):
            chunk = members[start : start + batch_size]
            made = swap([load(pairs[k][0]) for k in chunk], donor, source)
            for k, fake in zip(chunk, made):
                fakes[k] = fake
    return fakes


def heldout_face_metrics(
    task: Any,
    datamodule: Any,
    split: str = "test",
    *,
    limit: int = 256,
    identity_model: dict[str, Any] | None = None,
    cache: str | Path | None = None,
    swap: SwapFunction | None = None,
) -> dict[str, dict[str, Any]]:
    """`<split>/id_top1`, `id_top5`, `id_similarity`, `id_similarity_target` (and, on real
    faces, `pose_error`, `yaw/pitch/roll_error`, `expression_error`) of the run's held-out
    swaps; empty when `limit` is 0, the split has no rows or its faces cannot be measured.

    Args:
        task: the trained face-swap task (`identity_names`, and what `Swapper` needs).
        datamodule: its `IdentityDataModule`.
        limit: the most swaps measured.
        identity_model: options of the synthetic inner-face model (`IdentityModelSettings`).
        cache: folder of that model (None: `$FAKEARENA_CACHE/identity`).
        swap: how faces are swapped (default: `Swapper` with the run's blend recipe).
    """
    names = list(task.identity_names)
    rows = datamodule.manifest.select(split=split, label=0)
    if int(limit) <= 0 or len(rows) == 0:
        return {}
    dataset = datamodule.rows_dataset(rows, native_size=True)
    synthetic = synth_donors(datamodule.source_manifest.frame, names)
    landmarks = dataset.stored_landmarks
    if synthetic is None and not np.isfinite(landmarks).all(axis=(1, 2)).any():
        print(
            f"fakearena: warning: the held-out swaps get no ID/pose/expression metrics: the "
            f"{split} rows of {rows.name} are not synthetic faces and carry no landmarks68 "
            "(face crops from `fakearena faces extract` have them)",
            file=sys.stderr,
        )
        return {}
    codes = rows.frame["identity"].map(names.index).to_numpy()
    pairs = donor_pairs(codes, len(names), int(limit))
    swap = swap or Swapper(task, blend_recipe(task))
    was_training = task.training
    task.eval()
    try:
        fakes = swap_pairs(swap, dataset.load, codes, pairs)
    finally:
        task.train(was_training)
    if synthetic is not None:
        people = [synthetic[name] for name in names]
        return synthetic_id_metrics(
            fakes,
            donors=[people[donor] for _, donor in pairs],
            targets=[people[int(codes[row])] for row, _ in pairs],
            people=people,
            seed=int(rows.frame["synth_seed"].iloc[0]),
            stage=split,
            model_options=identity_model,
            cache=cache,
            options_key="task.identity_model",
            shot_indices=[int(rows.frame["synth_index"].iloc[row]) for row, _ in pairs],
        )
    samples = [
        SwapSample(
            fake=fake,
            target_image=dataset.load(row),
            donor=names[donor],
            target=names[int(codes[row])],
            target_landmarks=landmarks[row],
        )
        for fake, (row, donor) in zip(fakes, pairs)
    ]
    return literature_metrics(samples, gallery_faces(dataset), split)
