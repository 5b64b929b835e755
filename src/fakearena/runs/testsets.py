"""The arena's test sets: for each fake set, its test fakes and the real test faces of the
same people, with the population written beside it (`testsets/<name>.json`).

A test set isolates the forgery when its real and fake rows show the same people, in
comparable numbers, and no detector trained on any of them (`VALIDITY.md` section 1).
`build_test_sets` is the one place the arena and the protocol build test sets; it checks the
last rule (a DataError when a detector's train or val rows show a test person) and records the
others in the population JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from fakearena.data.manifest import Manifest, read_manifest, union_manifests, write_manifest
from fakearena.errors import DataError
from fakearena.utils.io import atomic_write_json

LEARNED = "learned"  # fake people known from the generator's training people
# (name, test set, its people) -> (the identity-matched set, a record of the selection)
Matcher = Callable[[str, Manifest, Sequence[str]], tuple[Manifest, dict[str, Any]]]


def row_people(frame: pd.DataFrame) -> set[str]:
    """Named people a set of rows shows: its identity column, and a swap's source person."""
    people = set(frame["identity"].astype(str))
    if "source_identity" in frame.columns:
        people |= set(frame["source_identity"].fillna("").astype(str))
    return people - {"", "nan"}


def detector_people(trained_on: Sequence[Path]) -> set[str]:
    """Everyone in the train and val rows of the detectors' training manifests."""
    people: set[str] = set()
    for path in trained_on:
        people |= row_people(read_manifest(path).select(split=["train", "val"]).frame)
    return people


def _per_person(frame: pd.DataFrame) -> dict[str, int] | None:
    counts = frame.loc[frame["identity"].astype(str) != "", "identity"].value_counts()
    if counts.empty:
        return None
    return {"min": int(counts.min()), "max": int(counts.max()), "mean": round(counts.mean(), 2)}


def population(
    reals: pd.DataFrame, fakes: pd.DataFrame, learned: Sequence[str] | None, seen: set[str]
) -> dict[str, Any]:
    """Who a test set shows: identities per class, their overlap, rows, and how many of its
    people any detector trained on (must be 0)."""
    real_people = row_people(reals)
    fake_people = row_people(fakes)
    source = "identity column"
    if not fake_people and learned is not None:
        fake_people, source = set(learned), f"{LEARNED} (the generator's training people)"
    shown = real_people | fake_people
    return {
        "rows": {"real": len(reals), "fake": len(fakes)},
        "identities": {
            "real": len(real_people),
            "fake": len(fake_people),
            "shared": len(real_people & fake_people),
            "real_only": len(real_people - fake_people),
            "fake_only": len(fake_people - real_people),
        },
        "fake_identities_from": source,
        "rows_per_identity": {"real": _per_person(reals), "fake": _per_person(fakes)},
        "people_trained_on_by_detectors": len(shown & seen),
        "people": sorted(shown),
    }


def summary_line(name: str, pop: Mapping[str, Any]) -> str:
    """One console line: rows and people per class, their overlap, people detectors saw."""
    ids, rows = pop["identities"], pop["rows"]
    return (
        f"test set {name}: {rows['real']} real / {rows['fake']} fake rows; people real "
        f"{ids['real']}, fake {ids['fake']}, shared {ids['shared']}; seen by detectors "
        f"{pop['people_trained_on_by_detectors']}"
    )


def build_test_sets(
    real_csv: Path,
    fake_sets: Mapping[str, Path],
    out_dir: Path,
    *,
    trained_on: Sequence[Path] = (),
    learned_people: Mapping[str, Sequence[str]] | None = None,
    matcher: Matcher | None = None,
) -> dict[str, Path]:
    """One test set per fake set: its test fakes plus the real test faces of the same people.

    Args:
        real_csv: the real faces (its test rows are the test reals).
        fake_sets: test set name -> fake set manifest (its test rows are the test fakes).
        out_dir: where `<name>.csv` and its population `<name>.json` go.
        trained_on: the detectors' training manifests (their train/val rows' people must not
            appear in any test set).
        learned_people: per fake set whose rows carry no identity (unconditional GAN
            samples), the people its generator learned: its reals are those people's.
        matcher: makes each set identity-matched (`fakearena.runs.identity_match`); its
            record goes into the population JSON as `identity_match`.

    Returns:
        test set name -> manifest path.
    """
    real_test = read_manifest(real_csv).select(split="test", label=0)
    seen = detector_people(trained_on)
    learned_people = dict(learned_people or {})
    test_sets = {}
    for name, fake_csv in fake_sets.items():
        fakes = read_manifest(fake_csv).select(split="test")
        if len(fakes) == 0:
            raise DataError(
                f"fake set {name} ({fake_csv}) has no test rows; its generator must learn the "
                "test people (the arena's generators.<name> entries do)"
            )
        people = row_people(fakes.frame) or set(learned_people.get(name) or ())
        if not people:
            raise DataError(
                f"fake set {name} ({fake_csv}) names no identities and no learned people were "
                "given; its real rows could not be matched to its people"
            )
        frame = real_test.frame
        reals = Manifest(
            frame[frame["identity"].isin(people)].reset_index(drop=True),
            real_test.card,
            real_test.root,
        )
        pop = population(reals.frame, fakes.frame, learned_people.get(name), seen)
        if pop["people_trained_on_by_detectors"]:
            raise DataError(
                f"test set {name} shows {pop['people_trained_on_by_detectors']} people whom a "
                f"detector trains on (train/val rows of {[str(p) for p in trained_on]}); a "
                "test set must show unseen people only"
            )
        union: Manifest = union_manifests([reals, fakes], name=name)
        matched = None
        if matcher is not None:
            union, matched = matcher(name, union, pop["people"])
            kept = union.frame
            real_rows, fake_rows = kept[kept["label"] == 0], kept[kept["label"] == 1]
            pop = population(real_rows, fake_rows, learned_people.get(name), seen)
            pop["identity_match"] = matched
            if matched.get("identity_from_model"):
                pop["fake_identities_from"] = "the identity model (the samples name nobody)"
        test_sets[name] = write_manifest(union, out_dir / f"{name}.csv", relative_root=False)
        atomic_write_json(out_dir / f"{name}.json", {"test_set": name, **pop})
        print(summary_line(name, pop), flush=True)
    return test_sets
