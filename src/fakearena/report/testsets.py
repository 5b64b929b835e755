"""The report's test-set table: who is in each test set and whether identity alone tells its
reals from its fakes (the confound check, `testsets/<name>/results.json` of the arena or any
record of task `testset`).

One row per test set: rows and identities per class, identities shared by both classes, the
identity-only AUC with its 95% CI over identities and the flag. A detector's AUC on a flagged
set may measure who is in the images, not the forgery (VALIDITY.md section 1).
"""

from __future__ import annotations

from fakearena.metrics.testset_check import TASK
from fakearena.report.records import RunRecord
from fakearena.report.table import Table

HEADERS = [
    "test set",
    "rows real / fake",
    "identities real / fake",
    "shared",
    "confound AUC [95% CI]",
    "raw / chance",
    "check",
]
NOTE = (
    "confound AUC: a classifier that sees only who is in each image (each person's fake "
    "rate on other rows), corrected for chance: 0.5 means identity does not tell the classes "
    "apart better than in a copy of the set with shuffled labels, so a detector's AUC on the "
    "set is not identity; 1 means identity alone separates them. CONFOUNDED: outside 0.5 +- "
    "tolerance. raw / chance: the classifier's AUC before the correction, and the same check "
    "with the labels shuffled over the units (what these counts give with no confound). "
    "Identities: as the identity source recognised them (column: as the "
    "manifest's identity column names them; GAN rows name nobody, a swap names its target); "
    "the CI resamples identities."
)


def is_testset_record(run: RunRecord) -> bool:
    """Whether a record is a test set's check (not a training or evaluation run)."""
    return run.record.get("task") == TASK


def _value(metrics: dict, key: str) -> float | None:
    entry = metrics.get(key)
    return entry.get("value") if isinstance(entry, dict) else None


def _pair(metrics: dict, stem: str) -> str:
    real, fake = _value(metrics, f"testset/real_{stem}"), _value(metrics, f"testset/fake_{stem}")
    return "-" if real is None or fake is None else f"{int(real)} / {int(fake)}"


def _identities(metrics: dict) -> str:
    """Identities per class as recognised, with the identity column's count beside them."""
    shown = _pair(metrics, "identities")
    column = _pair(metrics, "column_identities")
    return shown if column == "-" else f"{shown} (column: {column})"


def testset_row(run: RunRecord) -> list[str]:
    """The cells of one test set."""
    rec = run.record
    metrics = rec.get("metrics") or {}
    auc = metrics.get("testset/confound_auc") or {}
    name = rec.get("test_set") or run.run_dir.name
    if "value" not in auc:
        return [str(name), _pair(metrics, "rows"), _identities(metrics), "-", "-", "-", "-"]
    low, high = auc.get("ci95") or [auc["value"], auc["value"]]
    check = (
        f"CONFOUNDED (outside 0.5 ± {auc.get('tolerance', 0.1):g})" if auc.get("flagged") else "ok"
    )
    warnings = rec.get("warnings") or []
    if warnings:
        check += f"; {len(warnings)} warning" + ("s" if len(warnings) > 1 else "")
    shared = _value(metrics, "testset/shared_identities")
    share = _value(metrics, "testset/rows_shared")
    chance = _value(metrics, "testset/confound_chance_auc")
    raw = _value(metrics, "testset/confound_raw_auc")
    return [
        str(name),
        _pair(metrics, "rows"),
        _identities(metrics),
        "-" if shared is None else f"{int(shared)} ({share:.0%} of rows)",
        f"{auc['value']:.3f} [{low:.3f}, {high:.3f}] (N={auc.get('n')} identities)",
        "-" if chance is None else f"{'-' if raw is None else f'{raw:.3f}'} / {chance:.3f}",
        check,
    ]


def testset_table(runs: list[RunRecord]) -> Table:
    """The test-set table, one row per test set (by name)."""
    ordered = sorted(runs, key=lambda r: str(r.record.get("test_set") or r.run_dir.name))
    sources = sorted({str((r.record.get("confound") or {}).get("identity_source")) for r in runs})
    note = NOTE + " Identities from: " + "; ".join(sources) + "."
    warnings = [w for r in ordered for w in r.record.get("warnings") or []]
    if warnings:
        note += " Warnings: " + " ".join(warnings)
    return Table(
        "Test sets: who is in them (confound check)",
        HEADERS,
        [testset_row(r) for r in ordered],
        note,
    )
