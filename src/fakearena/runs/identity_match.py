"""Identity-matched test sets: each person shows as many fakes as reals, as the identity model
recognises them.

An unconditional GAN or diffusion model does not sample its people evenly: it draws some
faces more often than others, and some fakes look like nobody it learned. Its raw samples
beside the real test faces are then told apart by who is in them (the confound check flags
them). The arena therefore lets such a generator sample a pool of `pool` times as many faces
as its test reals, recognises every row of the test set (reals and fakes, with the identity
model and gallery of the confound check), and keeps, per recognised person, as many rows of
each class as the rarer class has: min(reals, fakes), drawn at random (seeded). A person the
generator never draws loses their reals too; what was kept and dropped is written to the test
set's population JSON (`identity_match`). Blends and face swaps (one fake per source shot) are
matched the same way, from pools of one.

The selection uses only the identity model (trained on real shots of other rendered people,
never on fakes), so no detector's decision enters the test set. Each kept row carries its
recognised person in the column `assigned_identity`; rows that name nobody (GAN and diffusion
samples) take it as their `identity` too, so CIs and significance tests resample people in
both classes (`fakearena.metrics.units`), not a sample per unit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fakearena.data.manifest import Manifest
from fakearena.errors import DataError

ASSIGNED = "assigned_identity"


def matched_rows(assigned: np.ndarray, labels: np.ndarray, seed: int) -> np.ndarray:
    """Indices of the rows kept: per person, min(reals, fakes) rows of each class (seeded).

    Returns the kept indices in their original order.
    """
    assigned = np.asarray(assigned, dtype=str)
    labels = np.asarray(labels, dtype=np.int64)
    rng = np.random.default_rng(seed)
    keep: list[np.ndarray] = []
    for person in np.unique(assigned):
        reals = np.flatnonzero((assigned == person) & (labels == 0))
        fakes = np.flatnonzero((assigned == person) & (labels == 1))
        count = min(reals.size, fakes.size)
        if count == 0:
            continue
        keep.append(rng.choice(reals, count, replace=False))
        keep.append(rng.choice(fakes, count, replace=False))
    return np.sort(np.concatenate(keep)) if keep else np.empty(0, dtype=np.int64)


def _counts(frame: pd.DataFrame) -> dict[str, int]:
    return {
        "real": int((frame["label"] == 0).sum()),
        "fake": int((frame["label"] == 1).sum()),
    }


def match_test_set(
    manifest: Manifest, assigned: np.ndarray, seed: int, what: str
) -> tuple[Manifest, dict[str, Any]]:
    """The identity-matched subset of a test set and a record of the selection.

    Raises:
        DataError: when no person shows both classes (nothing can be matched).
    """
    frame = manifest.frame.copy()
    frame[ASSIGNED] = np.asarray(assigned, dtype=str)
    kept = matched_rows(frame[ASSIGNED].to_numpy(), frame["label"].to_numpy(), seed)
    if kept.size == 0:
        raise DataError(
            f"{what}: no person (as the identity model recognises them) shows both real and "
            "fake rows, so no identity-matched test set exists; the generator does not draw "
            "the test people (train it longer, or check its training shots)"
        )
    matched = frame.iloc[kept].reset_index(drop=True)
    named = matched["identity"].fillna("").astype(str).str.strip()
    nameless = named.isin(["", "nan"])
    matched["identity"] = named.where(~nameless, matched[ASSIGNED])
    before = frame.groupby(ASSIGNED)["label"].agg(["size", "sum"])
    people_both = int(((before["sum"] > 0) & (before["sum"] < before["size"])).sum())
    record = {
        "by": "synthetic identity model (the confound check's model and gallery)",
        "rows_before": _counts(frame),
        "rows_after": _counts(matched),
        "people_before": {
            "real": int(frame.loc[frame["label"] == 0, ASSIGNED].nunique()),
            "fake": int(frame.loc[frame["label"] == 1, ASSIGNED].nunique()),
        },
        "people_after": int(matched[ASSIGNED].nunique()),
        "people_with_both_classes_before": people_both,
        "identity_from_model": int(nameless.sum()),
        "seed": int(seed),
    }
    return Manifest(matched, manifest.card, manifest.root), record


def summary_line(name: str, record: dict[str, Any]) -> str:
    """One console line of what the matching kept."""
    before, after = record["rows_before"], record["rows_after"]
    return (
        f"test set {name}: matched by identity: kept {after['real']} of {before['real']} real "
        f"and {after['fake']} of {before['fake']} fake rows, {record['people_after']} people"
    )
