"""The repeating unit of a scored set, and what the set's size and scores allow one to say.

Rows that share a video (its frames) or a person (shots of one face) are not independent: a
detector scores them alike. A confidence interval resamples the unit that makes rows
dependent (VALIDITY.md section 2): the **video** when videos group frames, else the
**identity** when people repeat, else the **image**. Rows without a known identity count as
units of their own. Units are counted per class: a person shown in real and in fake rows is
one unit of each class, and the classes are resampled apart (stratified, so every replicate
holds both classes; it ignores the correlation between a person's real and fake rows, which
makes the interval conservative rather than too narrow).

A set of fewer than `MIN_UNITS` units, or fewer than `MIN_UNITS_PER_CLASS` of a class, is
flagged `small_n`; scores whose whole range is below `COLLAPSE_RANGE` are flagged `collapsed`
(an AUC computed from them ranks noise).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fakearena.errors import ConfigError

UNITS = ("video", "identity", "image")
UNIT_CHOICES = ("auto", *UNITS)
PLURAL = {"video": "videos", "identity": "identities", "image": "images"}
# A set below these counts of units gets the `small_n` flag and a warning.
MIN_UNITS, MIN_UNITS_PER_CLASS = 30, 10
COLLAPSE_RANGE = 1e-3  # scores spanning less than this are `collapsed`
SMALL_N, COLLAPSED, NO_CI = "small_n", "collapsed", "no_ci"


@dataclass
class Units:
    """The unit a set's rows are resampled by.

    Attributes:
        name: "video", "identity" or "image".
        clusters: per row, the index of its (class, unit) cluster; clusters of reals and of
            fakes never share an index.
        cluster_label: the class (0/1) of each cluster.
        chosen_by: "auto" or "config".
    """

    name: str
    clusters: np.ndarray
    cluster_label: np.ndarray
    chosen_by: str = "auto"

    @property
    def n_real(self) -> int:
        return int((self.cluster_label == 0).sum())

    @property
    def n_fake(self) -> int:
        return int((self.cluster_label == 1).sum())

    @property
    def n(self) -> int:
        return self.n_real + self.n_fake

    @property
    def plural(self) -> str:
        return PLURAL[self.name]

    def counts(self) -> dict[str, Any]:
        """The entry fields `ci_unit, n_units, n_units_real, n_units_fake`."""
        return {
            "ci_unit": self.name,
            "n_units": self.n,
            "n_units_real": self.n_real,
            "n_units_fake": self.n_fake,
        }


def check_unit(unit: str, key: str = "ci_unit") -> str:
    """`unit` if it is one of `UNIT_CHOICES`, else a ConfigError naming `key`."""
    if unit not in UNIT_CHOICES:
        raise ConfigError(f"{key}={unit!r}; choose one of {', '.join(UNIT_CHOICES)}")
    return unit


def _codes(values: Any, size: int, what: str) -> np.ndarray:
    values = np.asarray(values).astype(str).ravel()
    if values.size != size:
        raise ValueError(f"{what} has {values.size} entries for {size} scores; give one per score")
    return values


def _identity_keys(identities: np.ndarray) -> np.ndarray:
    """Identity per row; a row without one (empty) is a unit of its own."""
    own = np.char.add("\x00row", np.arange(identities.size).astype(str))
    return np.where(identities == "", own, identities)


def choose_units(
    labels: np.ndarray,
    video_ids: Sequence[Any] | None = None,
    identities: Sequence[Any] | None = None,
    unit: str = "auto",
) -> Units:
    """The unit to resample: `unit`, or with "auto" video, else identity, else image.

    "auto" picks videos when some video has several rows, else identities when some person
    has several rows, else images.

    Raises:
        ConfigError: an unknown unit, or a unit the rows carry no ids for.
    """
    labels = np.asarray(labels).astype(np.int64).ravel()
    n = labels.size
    check_unit(unit)
    videos = None if video_ids is None else _codes(video_ids, n, "video_ids")
    people = None
    if identities is not None:
        raw = _codes(identities, n, "identities")
        people = _identity_keys(raw) if (raw != "").any() else None
    if unit == "auto":
        if videos is not None and np.unique(videos).size < n:
            unit = "video"
        elif people is not None and np.unique(people).size < n:
            unit = "identity"
        else:
            unit = "image"
        chosen_by = "auto"
    else:
        chosen_by = "config"
    if unit == "video" and videos is None:
        raise ConfigError("ci_unit=video, but the rows have no video_id; use ci_unit=auto")
    if unit == "identity" and people is None:
        raise ConfigError(
            "ci_unit=identity, but no row has an identity (the manifest's `identity` column "
            "is empty); fill it or use ci_unit=auto"
        )
    keys = {"video": videos, "identity": people, "image": np.arange(n).astype(str)}[unit]
    _, inverse = np.unique(keys, return_inverse=True)
    cluster_ids, clusters = np.unique(inverse.ravel() * 2 + labels, return_inverse=True)
    return Units(unit, clusters.ravel(), (cluster_ids % 2).astype(np.int64), chosen_by)


def collapsed(probs: np.ndarray) -> bool:
    """Whether every score lies within a range below `COLLAPSE_RANGE`."""
    probs = np.asarray(probs, dtype=np.float64)
    return bool(probs.size) and float(probs.max() - probs.min()) < COLLAPSE_RANGE


def is_small(units: Units) -> bool:
    """Fewer than `MIN_UNITS` units or fewer than `MIN_UNITS_PER_CLASS` of a class."""
    return units.n < MIN_UNITS or min(units.n_real, units.n_fake) < MIN_UNITS_PER_CLASS


def small_set_warning(n: int, n_real: int, n_fake: int, unit: str = "videos") -> str | None:
    """A sentence when a set is too small for its metrics to say much, else None.

    Small means fewer than `MIN_UNITS` units (`unit`, plural: videos, identities, images) or
    fewer than `MIN_UNITS_PER_CLASS` of either class.
    """
    if n >= MIN_UNITS and min(n_real, n_fake) >= MIN_UNITS_PER_CLASS:
        return None
    text = (
        f"only {n} {unit} ({n_real} real, {n_fake} fake), fewer than {MIN_UNITS} {unit} or "
        f"{MIN_UNITS_PER_CLASS} of a class: these metrics and their intervals say little"
    )
    if min(n_real, n_fake) < 2:
        text += "; no confidence interval (it resamples " + unit + " and needs 2 of each class)"
    return text + "; test on more " + unit


def collapsed_warning(probs: np.ndarray) -> str:
    """The sentence that goes with the `collapsed` flag."""
    low, high = float(np.min(probs)), float(np.max(probs))
    return (
        f"collapsed scores: every probability lies in [{low:.5f}, {high:.5f}] (a range below "
        f"{COLLAPSE_RANGE:g}); the detector barely tells rows apart and its AUC ranks noise"
    )


def assess(probs: np.ndarray, units: Units, has_ci: bool) -> tuple[list[str], list[str]]:
    """Flags (`small_n`, `collapsed`, `no_ci`) and warning sentences of a scored set."""
    flags: list[str] = []
    warnings: list[str] = []
    warning = small_set_warning(units.n, units.n_real, units.n_fake, units.plural)
    if warning:
        flags.append(SMALL_N)
        warnings.append(warning)
    if collapsed(probs):
        flags.append(COLLAPSED)
        warnings.append(collapsed_warning(probs))
    if not has_ci:
        flags.append(NO_CI)
    return flags, warnings


def selection_warning(
    labels: Any,
    video_ids: Sequence[Any] | None,
    identities: Sequence[Any] | None,
    monitor: str,
    unit: str = "auto",
) -> str | None:
    """A sentence when a checkpoint is picked on a validation split below the small-N mark."""
    units = choose_units(labels, video_ids, identities, unit)
    if not is_small(units):
        return None
    return (
        f"the checkpoint was chosen on {monitor} of a val split of only {units.n} "
        f"{units.plural} ({units.n_real} real, {units.n_fake} fake), fewer than {MIN_UNITS} or "
        f"{MIN_UNITS_PER_CLASS} of a class: the choice may be luck; give the val split more "
        f"{units.plural} (data.val_fraction)"
    )


def describe(entry: dict[str, Any]) -> str:
    """` (N=12 identities: 6 real, 6 fake; small_n)` for a metric entry with units, else ''."""
    if "n_units" not in entry:
        return ""
    unit = PLURAL.get(str(entry.get("ci_unit")), "units")
    text = (
        f" (N={entry['n_units']} {unit}: {entry.get('n_units_real')} real, "
        f"{entry.get('n_units_fake')} fake"
    )
    flags = entry.get("flags") or []
    return text + (f"; {', '.join(flags)})" if flags else ")")
