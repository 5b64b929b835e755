"""Synthetic datasets: which faces a synthetic manifest holds, split by identity, and writing
them as PNG files (`fakearena data synth`).

Manifests of synthetic faces are in memory (`root=None`): the extra integer columns
`synth_seed, synth_identity, synth_index, synth_donor` (-1 for reals) say what to render.
Any fake row that carries them with a donor >= 0 (blended fakes, and the face swaps of
synthetic faces that `fakearena generate` writes) has a known truth: `render_truth(row)`.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fakearena.data.landmarks import LANDMARKS_COLUMN, format_landmarks
from fakearena.data.manifest import (
    MASK_COLUMN,
    SPLITS,
    Manifest,
    ManifestCard,
    card_path_for,
    write_manifest,
)
from fakearena.data.masks import mask_path_for, mask_png
from fakearena.data.synthetic.renderer import (
    SOURCE_FAKE,
    SOURCE_REAL,
    SyntheticRenderer,
    rng_stream,
)
from fakearena.errors import ConfigError
from fakearena.utils.io import sha256_bytes

EXTRA_COLUMNS = ("synth_seed", "synth_identity", "synth_index", "synth_donor")
# Stream tags of the dataset's own draws (the renderer's are 1-3).
_SPLIT, _DONOR = 4, 5


def identity_splits(
    n_identities: int, seed: int, counts: Mapping[str, int] | None = None
) -> dict[int, str]:
    """Split of each identity: `counts` people per split, or else about 70/15/15.

    Args:
        n_identities: how many people there are.
        seed: seed of the (random) assignment of people to splits.
        counts: people per split ({train: T, val: V, test: N}), each at least 1 and adding
            up to `n_identities`; None: 15% val, 15% test (at least one each), the rest train.
    """
    if n_identities < len(SPLITS):
        raise ConfigError(
            f"synthetic data needs n_identities >= {len(SPLITS)} (one per split), "
            f"got {n_identities}"
        )
    order = rng_stream(seed, _SPLIT).permutation(n_identities)
    if counts is None:
        n_held = max(1, round(0.15 * n_identities))
        names = ["val"] * n_held + ["test"] * n_held
        names += ["train"] * (n_identities - len(names))
        names = names[::-1]
    else:
        counts = check_split_counts(counts)
        if sum(counts.values()) != n_identities:
            raise ConfigError(
                f"identities per split {counts} add up to {sum(counts.values())}, not "
                f"n_identities={n_identities}; give one or the other"
            )
        names = [split for split in SPLITS for _ in range(counts[split])]
    return {int(identity): name for identity, name in zip(order, names)}


def check_split_counts(counts: Mapping[str, Any]) -> dict[str, int]:
    """People per split as {train, val, test} integers >= 1, or a ConfigError naming the fix."""
    given = {str(k): v for k, v in dict(counts).items()}
    try:
        values = {split: int(given[split]) for split in SPLITS}
    except (KeyError, TypeError, ValueError):
        values = {}
    if set(given) != set(SPLITS) or not values or min(values.values()) < 1:
        raise ConfigError(
            f"identities per split {given}: give a positive number of people for each of "
            f"{list(SPLITS)}, e.g. {{train: 24, val: 8, test: 40}}"
        )
    return values


def _donor_pools(
    splits: dict[int, str], n_identities: int, groups: Sequence[Sequence[int]] | None = None
) -> dict[int, list[int]]:
    """Each person's donor candidates (the person included, skipped when drawing).

    Donors come from the person's split; a member of a donor group draws from its group only
    (a face swap with a decoder per group member can then make the same swaps), and the rest
    of a split from its people outside the groups. A pool of one person gets a donor-only
    identity (numbered from `n_identities`), so no face crosses splits.
    """
    groups = [sorted({int(i) for i in group}) for group in groups or []]
    grouped = {i for group in groups for i in group}
    if len(grouped) != sum(len(group) for group in groups):
        raise ConfigError(f"donor_groups {groups} share a person; give each person one group")
    pools: dict[int, list[int]] = {}
    for group in groups:
        unknown = [i for i in group if i not in splits]
        crossing = {splits[i] for i in group if i in splits}
        if unknown or len(crossing) != 1 or len(group) < 2:
            raise ConfigError(
                f"donor group {group}: give at least 2 identities of one split, each in "
                f"0..{n_identities - 1}"
            )
        pools.update({i: group for i in group})
    for k, name in enumerate(SPLITS):
        members = sorted(i for i, s in splits.items() if s == name and i not in grouped)
        pool = members if len(members) > 1 else [*members, n_identities + k]
        pools.update({i: pool for i in members})
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
    identities: Mapping[str, int] | None = None,
    donor_groups: Sequence[Sequence[int]] | None = None,
) -> Manifest:
    """An in-memory manifest of synthetic reals and blended fakes, split by identity.

    `per_identity` counts all images of a person (reals + fakes); with 0 < fake_fraction < 1
    every person, hence every split, has both labels. Reals and fakes are interleaved so any
    contiguous run of rows holds both labels. `identities`: people per split (see
    `identity_splits`; they must add up to `n_identities`). `donor_groups`: groups of identity
    numbers (of one split each) whose blended fakes take donors from the group only.
    """
    _check_args(per_identity, size, seed, name)
    splits = identity_splits(n_identities, seed, identities)
    pools = _donor_pools(splits, n_identities, donor_groups)
    is_fake = _fake_indices(per_identity, fake_fraction)
    width = max(3, len(str(n_identities - 1)))
    iwidth = max(5, len(str(per_identity - 1)))
    reals, fakes = [], []
    for index in range(per_identity):
        for identity in range(n_identities):
            person = f"synth{identity:0{width}d}"
            split = splits[identity]
            fake = bool(is_fake[index])
            donor = -1
            if fake:
                pool = [d for d in pools[identity] if d != identity]
                donor = pool[int(rng_stream(seed, _DONOR, identity, index).integers(len(pool)))]
            stem = f"{'fake' if fake else 'real'}_{index:0{iwidth}d}"
            (fakes if fake else reals).append(
                {
                    "path": f"{person}/{stem}.png",
                    "label": int(fake),
                    "split": split,
                    "video_id": f"{name}/{person}/{stem}",
                    "frame": 0,
                    "identity": person,
                    "source": SOURCE_FAKE if fake else SOURCE_REAL,
                    "sha256": "",
                    "synth_seed": seed,
                    "synth_identity": identity,
                    "synth_index": index,
                    "synth_donor": donor,
                }
            )
    frame = pd.DataFrame(_interleave(reals, fakes))
    params = dict(
        n_identities=n_identities,
        per_identity=per_identity,
        fake_fraction=fake_fraction,
        seed=seed,
        size=size,
        name=name,
    )
    if identities is not None:
        params["identities"] = check_split_counts(identities)
    if donor_groups:
        params["donor_groups"] = [sorted(int(i) for i in group) for group in donor_groups]
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

    command = "fakearena data synth " + " ".join(
        _command_arg(k, v) for k, v in params.items()
    )
    return ManifestCard(
        name=str(params["name"]),
        root=".",
        description=(
            f"Built-in procedural faces: {params['n_identities']} identities x "
            f"{params['per_identity']} images, {params['fake_fraction']:.0%} blended fakes "
            f"{_split_phrase(params)}"
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


def _split_phrase(params: Mapping[str, Any]) -> str:
    counts = params.get("identities")
    if not counts:
        return ""
    return "(people per split: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + ") "


def _command_arg(key: str, value: Any) -> str:
    if isinstance(value, list):
        return f"'{key}={value}'".replace(" ", "")
    if isinstance(value, Mapping):
        inner = ", ".join(f"{k}: {v}" for k, v in value.items())
        return f"'{key}={{{inner}}}'"
    return f"{key}={value}"


def _check_args(per_identity: int, size: int, seed: int, name: str) -> None:
    if int(per_identity) < 2:
        raise ConfigError(f"per_identity must be at least 2 images per person, got {per_identity}")
    if int(size) < 16:
        raise ConfigError(f"size must be at least 16 pixels, got {size}")
    if int(seed) < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed}")
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ConfigError(f"name must be a plain file stem like 'synthetic', got {name!r}")


def write_synthetic_dataset(
    out: str | os.PathLike[str],
    name: str = "synthetic",
    n_identities: int = 8,
    per_identity: int = 200,
    size: int = 64,
    fake_fraction: float = 0.5,
    seed: int = 0,
    identities: Mapping[str, int] | None = None,
    donor_groups: Sequence[Sequence[int]] | None = None,
    *,
    progress: bool = True,
) -> Path:
    """Render `synthetic_manifest(...)` to PNGs under `out` and write `out/<name>.csv` + `.yaml`.

    The written manifest has the in-memory manifest's rows with `sha256` filled in, for every
    real face its 68 landmarks (column `landmarks68`, `fakearena.data.synthetic.landmarks`)
    and, for every blended fake, its blend mask beside it (`<image>.mask.png`, column `mask`).
    Images are written first and the manifest last (atomically), so an interrupted run leaves
    no manifest pointing at missing files.

    Returns:
        The path of the manifest CSV.
    """
    manifest = synthetic_manifest(
        n_identities, per_identity, fake_fraction, seed, size, name, identities, donor_groups
    )
    return write_rendered(manifest, out, size=size, seed=seed, progress=progress)


def write_rendered(
    manifest: Manifest,
    out: str | os.PathLike[str],
    *,
    size: int,
    seed: int,
    progress: bool = True,
) -> Path:
    """Render an in-memory synthetic manifest to PNGs under `out`; write `out/<name>.csv`.

    Images first, the manifest last (atomically), with `sha256` filled in.
    """
    from PIL import Image
    from tqdm import tqdm

    name = manifest.name
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"out={out} is a file; give a folder for the synthetic dataset")
    csv_path = out / f"{name}.csv"
    # A manifest from an earlier run goes first: while the images are rewritten it would
    # describe files that no longer match it.
    for stale in (csv_path, card_path_for(csv_path)):
        stale.unlink(missing_ok=True)
    renderer = SyntheticRenderer(size, seed)
    hashes, masks, landmarks = [], [], []
    rows = manifest.frame.to_dict("records")
    bar = tqdm(rows, desc=f"synth {name}", unit="img", disable=None if progress else True)
    for row in bar:
        buffer = io.BytesIO()
        Image.fromarray(renderer.render_row(row)).save(buffer, format="PNG")
        data = buffer.getvalue()
        _write(out / row["path"], data)
        hashes.append(sha256_bytes(data))
        # a blended fake keeps its blend mask beside it (Face X-ray learns its boundary)
        mask = mask_path_for(row["path"]) if int(row["label"]) == 1 else ""
        if mask:
            _write(out / mask, mask_png(renderer.render_mask_row(row)))
        masks.append(mask)
        landmarks.append(format_landmarks(renderer.landmarks_row(row)))
    frame = manifest.frame.copy()
    frame["sha256"] = hashes
    frame[MASK_COLUMN] = masks
    frame[LANDMARKS_COLUMN] = landmarks  # reals only: a blend's inner face is the donor's
    written = Manifest(frame=frame, card=manifest.card, root=out.resolve())
    return write_manifest(written, csv_path)


def _write(target: Path, data: bytes) -> None:
    """Write a file whole or not at all (a temporary name, then a rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    partial.write_bytes(data)
    os.replace(partial, target)
