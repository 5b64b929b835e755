"""Seeds of one configuration folded into mean +- std, and how metric numbers are written."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from fakearena.report.records import Configuration, RunRecord
from fakearena.report.units import Units, entry_flags, entry_units, missing_ci_reason

MISSING = "-"
# Metrics where lower is better; everything else sorts high-to-low.
LOWER_IS_BETTER = (
    "fid",
    "kid",
    "kid_mean",
    "mse",
    "eer",
    "loss",
    "lpips",
    "mae",
    "fpr",
    "pose_error",
    "yaw_error",
    "pitch_error",
    "roll_error",
    "expression_error",
)


@dataclass(frozen=True)
class Folded:
    """One metric over the seeds of a configuration.

    `std` is the sample standard deviation (ddof=1) over seeds, None for a single seed;
    `ci95` is the record's own 95% CI, kept only for a single seed; `n` is the number of
    evaluated samples when every seed used the same number; `warning` is what a record says
    about the set the metric was computed on (e.g. too few videos). `units` is the N in
    repeating units (videos, identities, ...) when every seed had the same, `flags` the union
    of the seeds' flags (`small_n`, `collapsed`), `ci_reason` why a single seed has no CI.
    """

    mean: float
    std: float | None
    count: int
    ci95: tuple[float, float] | None = None
    n: int | None = None
    runs: int | None = None  # runs in the configuration; None: same as count
    warning: str | None = None
    units: Units | None = None
    flags: tuple[str, ...] = ()
    ci_reason: str | None = None

    def text(self) -> str:
        """Cell text: `0.912 [0.880, 0.940]`, `0.912`, `0.912 ± 0.010`, `0.912 ± 0.010 (2/3)`.

        The seed count is shown only when some runs of the configuration lack the metric.
        """
        mean = number(self.mean)
        if self.count > 1:
            text = f"{mean} ± {number(self.std or 0.0, like=self.mean)}"
            if self.runs is not None and self.count < self.runs:
                text += f" ({self.count}/{self.runs})"
            return text
        if self.ci95 is not None:
            low, high = (number(v, like=self.mean) for v in self.ci95)
            return f"{mean} [{low}, {high}]"
        return mean


def number(value: float, like: float | None = None) -> str:
    """A metric value with 3 decimals, or 4 significant digits for very small/large values.

    With `like`, the value (a std or CI bound) is written with the precision of `like`.
    """
    ref = value if like is None else like
    if ref != 0 and (abs(ref) < 0.01 or abs(ref) >= 1000):
        if like is None:
            return f"{value:.4g}"
        digits = max(0, 3 - int(np.floor(np.log10(abs(ref)))))
        return f"{value:.{digits}f}"
    return f"{value:.3f}"


def fold_metric(runs: list[RunRecord], key: str) -> Folded | None:
    """Fold metric `key` over `runs` (None when no run has it)."""
    entries = [r.record.get("metrics", {}).get(key) for r in runs]
    entries = [e for e in entries if isinstance(e, dict) and _finite(e.get("value"))]
    if not entries:
        return None
    values = np.array([float(e["value"]) for e in entries], dtype=np.float64)
    count = len(values)
    std = float(np.std(values, ddof=1)) if count > 1 else None
    ci = entries[0].get("ci95") if count == 1 else None
    ns = {e.get("n") for e in entries}
    n = ns.pop() if len(ns) == 1 else None
    units = {entry_units(e) for e in entries}
    flags = tuple(dict.fromkeys(f for e in entries for f in entry_flags(e)))
    return Folded(
        mean=float(values.mean()),
        std=std,
        count=count,
        ci95=(float(ci[0]), float(ci[1])) if ci else None,
        n=None if n is None else int(n),
        warning=next((str(e["warning"]) for e in entries if e.get("warning")), None),
        units=units.pop() if len(units) == 1 else None,
        flags=flags,
        ci_reason=missing_ci_reason(entries[0]) if count == 1 else None,
    )


def fold_all(conf: Configuration) -> dict[str, Folded]:
    """Every metric of a configuration, folded over its seeds."""
    keys = sorted({k for r in conf.runs for k in r.record.get("metrics", {})})
    folded = {k: fold_metric(conf.runs, k) for k in keys}
    return {k: replace(v, runs=len(conf.runs)) for k, v in folded.items() if v is not None}


def cell(folded: dict[str, Folded], key: str) -> str:
    """The text of one metric cell, or "-" when the configuration lacks it."""
    value = folded.get(key)
    return MISSING if value is None else value.text()


def lower_is_better(key: str) -> bool:
    """Whether smaller values of metric `key` rank higher."""
    name = key.rsplit("/", 1)[-1]
    return any(name == m or name.startswith(m + "_") for m in LOWER_IS_BETTER)


def sort_configurations(
    confs: list[Configuration], folded: dict[str, dict[str, Folded]], key: str
) -> list[Configuration]:
    """Best first by metric `key`; configurations without it go last (by label)."""
    sign = 1.0 if lower_is_better(key) else -1.0

    def order(conf: Configuration) -> tuple[int, float, str]:
        value = folded[conf.key].get(key)
        return (value is None, 0.0 if value is None else sign * value.mean, conf.label)

    return sorted(confs, key=order)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
