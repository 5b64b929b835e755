"""The leaderboard's parameter column: a detector's trainable parameters beside its reference
backbone's (`models.detectors.capacity`, recorded as `parameters` in results.json), flagged
when the gap exceeds the recorded tolerance (VALIDITY.md section 3)."""

from __future__ import annotations

from typing import Any

from fakearena.report.fold import MISSING

CAPACITY_HEADER = "params (x reference)"
CAPACITY_MARK = "⚠"


def _millions(count: int) -> str:
    return f"{count / 1e6:.2f}M" if count >= 100_000 else f"{count:,}"


def parameter_cell(record: dict[str, Any]) -> str:
    """`0.76M (2.05x test_resnet) ⚠`; the count alone when the detector is its own reference;
    MISSING for records without `parameters` (generators, older runs)."""
    facts = record.get("parameters")
    if not isinstance(facts, dict) or "trainable" not in facts:
        return MISSING
    text = _millions(int(facts["trainable"]))
    if facts.get("reference") not in (None, record.get("detector")):
        text += f" ({float(facts['ratio']):.2f}x {facts['reference']})"
    if facts.get("beyond_tolerance"):
        text += f" {CAPACITY_MARK}"
    return text


def capacity_note(record: dict[str, Any]) -> str | None:
    """A warning sentence for a flagged detector (the table names it), else None."""
    facts = record.get("parameters")
    if not isinstance(facts, dict) or not facts.get("beyond_tolerance"):
        return None
    return (
        f"{float(facts['ratio']):.2f}x the trainable parameters of its reference backbone "
        f"{facts['reference']} (beyond ±{float(facts['tolerance']):.0%}): its rows compare "
        "capacity as well as the method"
    )


def capacity_columns(record: dict[str, Any]) -> dict[str, Any]:
    """leaderboard.csv's capacity columns (empty for records without `parameters`)."""
    facts = record.get("parameters") if isinstance(record.get("parameters"), dict) else {}
    return {
        "parameters": facts.get("trainable"),
        "parameters_reference": facts.get("reference"),
        "parameters_reference_count": facts.get("reference_trainable"),
        "parameters_ratio": facts.get("ratio"),
        "parameters_beyond_tolerance": facts.get("beyond_tolerance"),
    }
