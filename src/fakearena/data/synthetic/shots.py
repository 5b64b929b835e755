"""Further real shots of the synthetic people, for generators: what a generator of those people
learns (`generator_shots_manifest`), and the untouched sources of blended fakes that a face
swap mirrors (`swap_sources_manifest`). Neither is ever in the detectors' data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from fakearena.data.manifest import SPLITS, Manifest
from fakearena.data.synthetic.dataset import (
    _check_args,
    check_split_counts,
    identity_splits,
    synthetic_card,
)
from fakearena.data.synthetic.renderer import SOURCE_REAL
from fakearena.errors import ConfigError, DataError

SWAP_TARGET = "swap_target"  # column of swap_sources_manifest: the donor's identity name


def generator_shots_manifest(
    people: str = "test",
    n_identities: int = 8,
    per_identity: int = 60,
    seed: int = 0,
    size: int = 64,
    shots: Mapping[str, int] | None = None,
    identities: Mapping[str, int] | None = None,
    name: str = "generator_shots",
) -> Manifest:
    """Further real shots of the people of one split: what a generator of those people learns.

    Each person of split `people` of `synthetic_manifest(n_identities, per_identity, seed=seed,
    identities=identities)` gets more real images, indices `per_identity` on (shots that
    manifest never draws, so no row repeats an image a detector sees). The `split` column is
    the generator's own: `shots[split]` images per person in train (what it learns), val
    (its checkpoint choice) and test (its held-out references), people alike in every split.

    Args:
        people: whose shots: train, val or test (the split of the detection data).
        n_identities: as in `synthetic_manifest`.
        per_identity: as in `synthetic_manifest`.
        seed: as in `synthetic_manifest`.
        size: image side (recorded in the card).
        shots: shots per person and generator split, e.g. {train: 32, val: 4, test: 4}
            (default).
        identities: people per split, as in `synthetic_manifest`.
        name: manifest name.
    """
    _check_args(per_identity, size, seed, name)
    if people not in SPLITS:
        raise ConfigError(f"people={people!r}: give the split whose people to render, {SPLITS}")
    shots = check_split_counts(shots if shots is not None else {"train": 32, "val": 4, "test": 4})
    splits = identity_splits(n_identities, seed, identities)
    total = sum(shots.values())
    roles = [split for split in SPLITS for _ in range(shots[split])]
    width = max(3, len(str(n_identities - 1)))
    iwidth = max(5, len(str(per_identity + total - 1)))
    members = sorted(i for i, split in splits.items() if split == people)
    rows = []
    for k, role in enumerate(roles):
        index = int(per_identity) + k
        for identity in members:
            person = f"synth{identity:0{width}d}"
            stem = f"real_{index:0{iwidth}d}"
            rows.append(
                {
                    "path": f"{person}/{stem}.png",
                    "label": 0,
                    "split": role,
                    "video_id": f"{name}/{person}/{stem}",
                    "frame": 0,
                    "identity": person,
                    "source": SOURCE_REAL,
                    "sha256": "",
                    "synth_seed": seed,
                    "synth_identity": identity,
                    "synth_index": index,
                    "synth_donor": -1,
                }
            )
    params = dict(
        n_identities=n_identities,
        per_identity=per_identity,
        fake_fraction=0.0,
        seed=seed,
        size=size,
        name=name,
    )
    if identities is not None:
        params["identities"] = check_split_counts(identities)
    card = synthetic_card(params)
    card.description = (
        f"Generator shots: further real faces of the {len(members)} {people}-split people of "
        f"the built-in synthetic faces ({n_identities} identities, seed {seed}), shots "
        f"{per_identity} to {per_identity + total - 1} of each; split column = the "
        f"generator's own ({shots['train']} train, {shots['val']} val, {shots['test']} test "
        "per person). Never in the detectors' data."
    )
    card.provenance["generator_shots"] = {"people": people, **shots}
    return Manifest(frame=pd.DataFrame(rows), card=card, root=None)


def swap_sources_manifest(
    faces: Manifest, people: Sequence[str], split: str = "test", name: str = "swap_sources"
) -> Manifest:
    """The untouched source shot of every blended fake of `people` in `split`, to be swapped.

    For each fake row of `faces` (an in-memory synthetic manifest) showing one of `people`,
    a real row of the same person, image index and seed (what the blend started from, never
    a row of `faces`) whose `swap_target` column names the blend's donor. A face swap that
    swaps each to its `swap_target` (`fakearena generate target_column=swap_target`) makes
    the same swaps as the blends, row for row: their truth metrics compare the same images.
    """
    frame = faces.frame
    chosen = (frame["label"] == 1) & (frame["split"] == split) & frame["identity"].isin(people)
    fakes = frame[chosen]
    missing = sorted(set(people) - set(fakes["identity"]))
    if missing:
        raise DataError(f"{faces.name} has no {split} blended fakes of {missing}")
    name_of = dict(zip(frame["synth_identity"], frame["identity"]))
    donors = {name_of.get(d, f"donor-only {d}") for d in fakes["synth_donor"]}
    outside = sorted(donors - set(people))
    if outside:
        raise DataError(
            f"blended fakes of {list(people)} in {faces.name} take donors outside them "
            f"({outside[:5]}); build the faces with these people as a donor group"
        )
    rows = []
    for row in fakes.itertuples(index=False):
        stem = str(row.path).rsplit("/", 1)[-1].replace("fake_", "source_")
        path = f"{row.identity}/{stem}"
        rows.append(
            {
                "path": path,
                "label": 0,
                "split": split,
                "video_id": f"{name}/{path.rsplit('.', 1)[0]}",
                "frame": 0,
                "identity": row.identity,
                "source": SOURCE_REAL,
                "sha256": "",
                "synth_seed": row.synth_seed,
                "synth_identity": row.synth_identity,
                "synth_index": row.synth_index,
                "synth_donor": -1,
                SWAP_TARGET: name_of[row.synth_donor],
            }
        )
    card = synthetic_card({**faces.card.provenance["parameters"], "name": name})
    card.description = (
        f"Swap sources: the untouched shot of each {split} blended fake of {len(people)} people "
        f"of {faces.name}, with its donor in column {SWAP_TARGET} (a face swap mirroring the "
        "blends swaps each to it)."
    )
    return Manifest(frame=pd.DataFrame(rows), card=card, root=None)
