"""What a metric stands on: its N in repeating units, its flags and warnings, why it has no CI.

Reads metric entries of result records. Entries written since issue 22 carry the units the
bootstrap resampled (`n_units`, `n_units_real`, `n_units_fake`, `ci_unit`) and `flags`
(`small_n`, `collapsed`); older entries carry the video counts (`n_videos`,
`n_videos_real`, `n_videos_fake`) or only the sample counts (`n`, `n_neg`, `n_pos`), and a
`warning` sentence. Every report (protocol table, heatmap, ROC figures, leaderboard) marks a
number through these helpers, so a number on too few units looks the same everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fakearena.metrics.units import (
    COLLAPSED,
    MIN_UNITS,
    MIN_UNITS_PER_CLASS,
    NO_CI,
    PLURAL,
    SMALL_N,
)

FLAG_MARK = "⚠"  # after a number whose entry has a flag
FLAG_WORDS = {SMALL_N: "small N", COLLAPSED: "collapsed scores", NO_CI: "no CI"}
# `ci_unit` (singular, as results.json writes it) -> the plural a table shows
UNIT_NAMES = {**PLURAL, "frame": "frames", "sample": "samples"}  # + older records' units


@dataclass(frozen=True)
class Units:
    """How many independent units a metric stands on, per class where known."""

    n: int
    unit: str  # plural: videos, identities, images, frames, samples
    real: int | None = None
    fake: int | None = None

    def text(self) -> str:
        """`6 videos (3 real, 3 fake)`, or `6 videos` without class counts."""
        if self.real is None or self.fake is None:
            return f"{self.n} {self.unit}"
        return f"{self.n} {self.unit} ({self.real} real, {self.fake} fake)"

    def short(self) -> str:
        """`N=6 videos` (the class counts are in `text`)."""
        return f"N={self.n} {self.unit}"

    @property
    def small(self) -> bool:
        """Below the small-sample threshold of `fakearena.metrics.units`."""
        if self.n < MIN_UNITS:
            return True
        return self.real is not None and min(self.real, self.fake or 0) < MIN_UNITS_PER_CLASS


def entry_units(entry: Mapping[str, Any] | None) -> Units | None:
    """The units of a metric entry: resampled units, else videos, else samples (None: no N)."""
    if not entry:
        return None
    if entry.get("n_units") is not None:
        unit = str(entry.get("ci_unit") or "unit")
        return Units(
            int(entry["n_units"]),
            UNIT_NAMES.get(unit, unit + "s"),
            _int(entry.get("n_units_real")),
            _int(entry.get("n_units_fake")),
        )
    if entry.get("n_videos") is not None:
        return Units(
            int(entry["n_videos"]),
            "videos",
            _int(entry.get("n_videos_real")),
            _int(entry.get("n_videos_fake")),
        )
    if entry.get("n") is not None:
        real, fake = _int(entry.get("n_neg")), _int(entry.get("n_pos"))
        return Units(int(entry["n"]), "samples", real, fake)
    return None


def entry_flags(entry: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The entry's flags; `small_n` also where its class counts fall below the threshold."""
    if not entry:
        return ()
    flags = [str(f) for f in entry.get("flags") or []]
    units = entry_units(entry)
    if units is not None and units.real is not None and units.small:
        flags.append(SMALL_N)
    return tuple(dict.fromkeys(flags))


def entry_warnings(entry: Mapping[str, Any] | None) -> list[str]:
    """The warning sentences of an entry (`warning` and/or `warnings`)."""
    if not entry:
        return []
    found = [str(entry["warning"])] if entry.get("warning") else []
    found += [str(w) for w in entry.get("warnings") or []]
    return list(dict.fromkeys(found))


def missing_ci_reason(entry: Mapping[str, Any] | None) -> str | None:
    """Why an entry has no 95% CI (None when it has one or has no value at all)."""
    if not entry or entry.get("value") is None or entry.get("ci95"):
        return None
    units = entry_units(entry)
    if units is not None and units.real is not None and min(units.real, units.fake or 0) < 2:
        fewest = min(units.real, units.fake or 0)
        singular = {plural: one for one, plural in UNIT_NAMES.items()}.get(units.unit, "unit")
        counted = f"{fewest} {singular if fewest == 1 else units.unit}"
        return (
            f"no CI: {counted} in a class; the bootstrap resamples {units.unit} and needs 2 "
            "of each class"
        )
    if COLLAPSED in entry_flags(entry):
        return "no CI: the scores collapsed (all nearly equal)"
    return "no CI recorded (bootstrap off, n_bootstrap=0, or a record older than CIs)"


def flag_text(flags: Iterable[str]) -> str:
    """`⚠ small N, collapsed scores` ('' without flags)."""
    words = [FLAG_WORDS.get(f, f.replace("_", " ")) for f in flags]
    return f"{FLAG_MARK} {', '.join(words)}" if words else ""


def warning_kind(sentence: str) -> str:
    """A warning with its numbers and names blanked: sentences of one kind share it."""
    return re.sub(r"\d+(\.\d+)?", "#", sentence)


def grouped_warnings(items: Iterable[tuple[str, str]]) -> list[str]:
    """One line per kind of warning: `(where, sentence)` pairs grouped by `warning_kind`.

    A kind seen once reads `where: sentence`; a kind seen k times reads
    `k cells: sentence (e.g. where); also: where2, where3`, with the first sentence as the
    example, so a report says each thing once with how often it applies.
    """
    kinds: dict[str, list[tuple[str, str]]] = {}
    for where, sentence in items:
        kinds.setdefault(warning_kind(sentence), []).append((where, sentence))
    lines = []
    for group in kinds.values():
        places = list(dict.fromkeys(where for where, _ in group))
        where, sentence = group[0]
        if len(places) == 1:
            lines.append(f"{where}: {sentence}")
        else:
            lines.append(
                f"{len(places)} cells: {sentence} (e.g. {where}); also: {', '.join(places[1:])}"
            )
    return lines


def _int(value: Any) -> int | None:
    return None if value is None else int(value)
