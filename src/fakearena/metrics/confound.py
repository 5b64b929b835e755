"""The confound check: how well *who* is in an image tells real from fake in a test set.

A test set whose fakes show other people than its reals can be scored by recognising faces,
not forgeries (VALIDITY.md section 1). The check scores each row with the best a classifier
can do that sees only the row's identity: the fake rate of that person, estimated on other
rows (cross-fitted over units, k folds) and smoothed towards the overall fake rate. Its ROC
AUC (`raw_auc`) is 0.5 for a set whose people each show as many reals as fakes, and near 1 for
a set whose fakes are of other people.

A finite set scores above 0.5 with no confound at all: where each person's labels fall by
chance, a few more fakes here and a few more reals there, the person rates (dealt per person
and class, so each fold keeps the person's proportion) pick the imbalance up (about 0.58 for
40 people x 40 rows of random labels). `chance_auc` measures that level on the set itself (the
check after shuffling the labels over the units), and the reported `auc` is corrected for it,
as Cohen's kappa corrects agreement for chance:

    auc = 0.5 + 0.5 * max(raw_auc - chance_auc, 0) / (1 - chance_auc)

0.5: identity tells the classes apart no better than it does in a shuffled copy of the set;
1: identity alone separates them. Outside 0.5 +- `TOLERANCE` the set is flagged.

Folds are stratified: each person's real units and fake units are dealt round-robin into the
folds from one seeded start, so every fold holds a person's two classes in the proportion of
the whole set. Plain leave-one-out (or unstratified) rates are biased downwards: leaving out
a fake row lowers its person's rate, leaving out a real row raises it, so a balanced set
comes out below 0.5 (`leave_one_out_scores` keeps that estimator for the tests that show it).

The 95% CI resamples identities (the repeating unit of an identity classifier), with
replacement, keeping every row of each drawn person and its score from the whole set;
replicates lacking a class are dropped; its ends are corrected like the AUC (the chance level
of the whole set).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from fakearena.errors import DataError
from fakearena.metrics.bootstrap import CHUNK, ClusteredAUC, percentile_ci
from fakearena.metrics.detection import auc_score, require_both_classes

TOLERANCE = 0.1  # flag a confound AUC outside 0.5 +- TOLERANCE
FOLDS = 5
SMOOTHING = 1.0  # pseudo-rows at the overall fake rate added to each person's rate
CHANCE_SHUFFLES = 20  # label shuffles behind `chance_auc`


@dataclass
class ConfoundResult:
    """The confound check of one test set.

    Attributes:
        auc: the identity-only AUC corrected for chance (`chance_corrected`; 0.5: identity
            says no more than in a shuffled copy of the set, 1: it separates the classes).
        ci95: its 95% bootstrap interval over identities ([auc, auc] with one identity).
        flagged: whether `auc` lies outside 0.5 +- `tolerance`.
        rows, units, identities: per class ("real", "fake"): rows, units (videos, else
            images) and distinct identities.
        shared_identities: identities with both real and fake rows.
        rows_shared: share of rows whose identity has both classes.
        raw_auc: ROC AUC of the cross-fitted identity scores, before the correction.
        chance_auc: the mean raw AUC of the same check after shuffling the labels over the
            units (seeded): what a set with these counts scores with no confound at all. A
            balanced design (each person as many reals as fakes) scores below it; with few
            rows per person, chance imbalance alone lifts it above 0.5.
        identity_source: where each row's identity came from (column, model, embedding).
        folds, seed, smoothing, tolerance, n_bootstrap: the check's settings.
        warnings: what makes the number weak (few identities, dropped replicates).
    """

    auc: float
    ci95: list[float]
    flagged: bool
    rows: dict[str, int]
    units: dict[str, int]
    identities: dict[str, int]
    shared_identities: int
    rows_shared: float
    raw_auc: float
    chance_auc: float
    identity_source: str
    folds: int
    seed: int
    smoothing: float
    tolerance: float
    n_bootstrap: int
    warnings: list[str] = field(default_factory=list)

    @property
    def flag(self) -> str:
        """'CONFOUNDED' when flagged, else 'ok'."""
        return "CONFOUNDED" if self.flagged else "ok"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "flag": self.flag}


def is_flagged(auc: float, tolerance: float = TOLERANCE) -> bool:
    """Whether an identity-only AUC leaves 0.5 +- tolerance (1e-12 slack for float noise)."""
    return abs(float(auc) - 0.5) > float(tolerance) + 1e-12


def chance_corrected(raw_auc: float, chance: float) -> float:
    """0.5 + 0.5 * max(raw_auc - chance, 0) / (1 - chance): `chance` maps to 0.5, 1 to 1."""
    if chance >= 1.0:
        return 0.5
    return 0.5 + 0.5 * max(float(raw_auc) - float(chance), 0.0) / (1.0 - float(chance))


def _codes(values: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    names, codes = np.unique(np.asarray([str(v) for v in values]), return_inverse=True)
    return names, codes.ravel()


def unit_folds(
    identities: Sequence[Any],
    labels: Sequence[int],
    units: Sequence[Any],
    folds: int = FOLDS,
    seed: int = 0,
) -> np.ndarray:
    """The fold (0..folds-1) of every row: units dealt per person and class, one start each.

    A unit (video) goes whole into one fold; its person is its rows' most frequent identity.
    Each person's real units and fake units are shuffled (seeded) and dealt round-robin from
    the same random fold, so a person with equal real and fake units has equal numbers of
    each in every fold.
    """
    if int(folds) < 2:
        raise DataError(f"the confound check needs folds >= 2, got {folds}")
    labels = np.asarray(labels, dtype=np.int64).ravel()
    _, person = _codes(identities)
    unit_names, unit = _codes(units)
    n_units = unit_names.size
    unit_label = np.zeros(n_units, dtype=np.int64)
    unit_label[unit] = labels
    mixed = np.flatnonzero(
        np.bincount(unit, weights=labels, minlength=n_units)
        % np.maximum(np.bincount(unit, minlength=n_units), 1)
    )
    if mixed.size:
        raise DataError(
            f"unit (video) {unit_names[mixed[0]]!r} holds both real and fake rows "
            f"({mixed.size} such units); give each video_id one label"
        )
    # a unit's person: its rows' most frequent identity (the lowest code on ties)
    (pair_unit, pair_person), counts = np.unique(
        np.stack([unit, person]), axis=1, return_counts=True
    )
    order = np.lexsort((pair_person, -counts, pair_unit))
    _, first = np.unique(pair_unit[order], return_index=True)
    unit_person = pair_person[order][first]
    rng = np.random.default_rng(seed)
    unit_fold = np.empty(n_units, dtype=np.int64)
    for who in np.unique(unit_person):
        start = int(rng.integers(folds))
        for label in (0, 1):
            members = np.flatnonzero((unit_person == who) & (unit_label == label))
            members = members[rng.permutation(members.size)]
            unit_fold[members] = (start + np.arange(members.size)) % folds
    return unit_fold[unit]


def identity_scores(
    identities: Sequence[Any],
    labels: Sequence[int],
    folds: np.ndarray,
    smoothing: float = SMOOTHING,
) -> np.ndarray:
    """Each row's cross-fitted identity score: its person's smoothed fake rate outside its fold.

    score = (fakes_j + smoothing * p) / (rows_j + smoothing), counted over the rows of person
    j in the other folds, p being the fake rate of all rows in the other folds.
    """
    labels = np.asarray(labels, dtype=np.float64).ravel()
    _, person = _codes(identities)
    folds = np.asarray(folds, dtype=np.int64).ravel()
    n_people, n_folds = int(person.max()) + 1, int(folds.max()) + 1
    rows = np.zeros((n_people, n_folds))
    fakes = np.zeros((n_people, n_folds))
    np.add.at(rows, (person, folds), 1.0)
    np.add.at(fakes, (person, folds), labels)
    rows_out = rows.sum(axis=1, keepdims=True) - rows  # (person, fold): rows outside the fold
    fakes_out = fakes.sum(axis=1, keepdims=True) - fakes
    all_rows_out = rows.sum() - rows.sum(axis=0)
    prior = np.divide(
        fakes.sum() - fakes.sum(axis=0),
        all_rows_out,
        out=np.full(n_folds, labels.mean()),
        where=all_rows_out > 0,
    )
    scores = (fakes_out + smoothing * prior) / (rows_out + smoothing)
    return scores[person, folds]


def leave_one_out_scores(
    identities: Sequence[Any], labels: Sequence[int], smoothing: float = SMOOTHING
) -> np.ndarray:
    """Leave-one-out person fake rates: biased downwards, kept to show why folds are dealt."""
    return identity_scores(identities, labels, np.arange(len(labels)), smoothing)


def identity_bootstrap_auc(
    scores: np.ndarray,
    labels: np.ndarray,
    identities: Sequence[Any],
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """AUC of bootstrap samples of identities (with replacement, all rows of each drawn one).

    Replicates that lack a class are dropped, so fewer than `n_bootstrap` may come back.
    """
    labels = np.asarray(labels, dtype=np.int64).ravel()
    _, person = _codes(identities)
    n_people = int(person.max()) + 1
    clusters = person * 2 + labels  # one cluster per (person, class)
    clustered = ClusteredAUC(np.asarray(scores, np.float64), labels, clusters)
    cluster_ids = np.unique(clusters)
    real_people = cluster_ids[cluster_ids % 2 == 0] // 2
    fake_people = cluster_ids[cluster_ids % 2 == 1] // 2
    rng = np.random.default_rng(seed)
    out = []
    for start in range(0, n_bootstrap, CHUNK):
        size = min(CHUNK, n_bootstrap - start)
        draws = rng.integers(0, n_people, size=(size, n_people))
        drawn = np.stack([np.bincount(d, minlength=n_people) for d in draws]).astype(float)
        real, fake = drawn[:, real_people], drawn[:, fake_people]
        keep = (real.sum(axis=1) > 0) & (fake.sum(axis=1) > 0)
        out.append(clustered.auc(real[keep], fake[keep]))
    return np.concatenate(out) if out else np.empty(0)


def chance_auc(
    identities: np.ndarray,
    labels: np.ndarray,
    units: np.ndarray,
    folds: int = FOLDS,
    seed: int = 0,
    smoothing: float = SMOOTHING,
    shuffles: int = CHANCE_SHUFFLES,
) -> float:
    """Mean confound AUC after shuffling the units' labels among the units (seeded): the
    check's value for a set of these counts whose labels ignore identity."""
    _, unit = _codes(units)
    unit_label = np.zeros(int(unit.max()) + 1, dtype=np.int64)
    unit_label[unit] = labels
    rng = np.random.default_rng([seed, 1])
    values = []
    for _ in range(shuffles):
        shuffled = rng.permutation(unit_label)[unit]
        fold = unit_folds(identities, shuffled, units, folds=folds, seed=seed)
        values.append(auc_score(identity_scores(identities, shuffled, fold, smoothing), shuffled))
    return float(np.mean(values))


def _per_class(values: np.ndarray, labels: np.ndarray) -> dict[str, int]:
    return {
        "real": int(np.unique(values[labels == 0]).size),
        "fake": int(np.unique(values[labels == 1]).size),
    }


def confound_check(
    identities: Sequence[Any],
    labels: Sequence[int],
    units: Sequence[Any] | None = None,
    *,
    identity_source: str = "identity column",
    folds: int = FOLDS,
    seed: int = 0,
    smoothing: float = SMOOTHING,
    tolerance: float = TOLERANCE,
    n_bootstrap: int = 1000,
    what: str = "the test set",
) -> ConfoundResult:
    """The identity-only AUC of a test set, its CI over identities, counts and the flag.

    Args:
        identities: who each row shows (any hashable label; empty strings are refused).
        labels: 0 real / 1 fake per row.
        units: the repeating unit per row (video id); None: every row is its own unit.
        identity_source: where the identities came from, for the record.
        folds, seed, smoothing: the cross-fitting (see `unit_folds`, `identity_scores`).
        tolerance: the flag's half-width around 0.5.
        n_bootstrap: identity bootstrap replicates of the CI.
        what: the set, for error messages.

    Raises:
        DataError: one class only, rows without identity, lengths that differ.
    """
    labels = np.asarray(labels, dtype=np.int64).ravel()
    names = np.asarray([str(v) for v in identities])
    units = np.arange(labels.size).astype(str) if units is None else np.asarray(units, str)
    if not names.size == units.size == labels.size:
        raise DataError(
            f"{what}: identities ({names.size}), units ({units.size}) and labels "
            f"({labels.size}) differ in length"
        )
    require_both_classes(labels, f"the rows of {what}", f"{what} (the confound check)")
    missing = int(np.sum((names == "") | (names == "nan")))
    if missing:
        raise DataError(
            f"{what}: {missing} rows have no identity; give every row an identity (the "
            "`identity` column, or an identity model: identity=synthetic|embedding)"
        )
    fold = unit_folds(names, labels, units, folds=folds, seed=seed)
    scores = identity_scores(names, labels, fold, smoothing)
    raw = auc_score(scores, labels)
    chance = chance_auc(names, labels, units, folds, seed, smoothing)
    auc = chance_corrected(raw, chance)
    people = _per_class(names, labels)
    shared = set(names[labels == 0]) & set(names[labels == 1])
    warnings = []
    replicates = identity_bootstrap_auc(scores, labels, names, n_bootstrap, seed)
    if np.unique(names).size < 2 or replicates.size == 0:
        ci95 = [auc, auc]
        warnings.append(f"{what}: one identity only; the confound AUC has no interval")
    else:
        ci95 = [chance_corrected(v, chance) for v in percentile_ci(replicates)]
        if replicates.size < n_bootstrap:
            warnings.append(
                f"{n_bootstrap - replicates.size} of {n_bootstrap} identity bootstrap "
                "replicates lacked a class and were dropped"
            )
    if min(people.values()) < 10:
        warnings.append(
            f"{what}: {people['real']} real and {people['fake']} fake identities; the "
            "confound AUC measures those people only (VALIDITY.md asks for >= 40)"
        )
    return ConfoundResult(
        auc=float(auc),
        ci95=[float(v) for v in ci95],
        flagged=is_flagged(auc, tolerance),
        rows={"real": int(np.sum(labels == 0)), "fake": int(np.sum(labels == 1))},
        units=_per_class(units, labels),
        identities=people,
        shared_identities=len(shared),
        rows_shared=float(np.isin(names, sorted(shared)).mean()),
        raw_auc=float(raw),
        chance_auc=float(chance),
        identity_source=identity_source,
        folds=int(folds),
        seed=int(seed),
        smoothing=float(smoothing),
        tolerance=float(tolerance),
        n_bootstrap=int(n_bootstrap),
        warnings=warnings,
    )
