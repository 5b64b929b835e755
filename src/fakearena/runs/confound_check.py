"""The arena's test sets, checked: the confound check of each, as `testsets/<name>/results.json`.

Every test set the arena builds gets the identity-only AUC (`fakearena.metrics.confound`):
each row's person from the synthetic identity model (trained once, cached in `testsets/`),
recognised among a gallery of every person the arena knows, train and test people alike. The
record's metrics (`testset/confound_auc` with its CI over identities and the flag, rows and
identities per class, their overlap) are what the report's test-set table shows. A record is
reused while its test set's sha256 is unchanged; one of a changed set is moved aside
(`results.replaced.json`) and the check runs again.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from omegaconf import DictConfig

from fakearena.data.manifest import read_manifest
from fakearena.metrics.testset_check import (
    TASK,
    assign,
    check_test_set,
    confound_metrics,
    declared_identities,
    summary_lines,
)
from fakearena.results import RESULTS_FILE, build_record, now_iso, read_results, write_results


def _current(record_file: Path, sha256: str) -> bool:
    """Whether a record exists for exactly this test set (same rows); a stale one moves aside."""
    if not record_file.is_file():
        return False
    try:
        data = read_results(record_file)
    except Exception:
        data = {}
    if [ref.get("sha256") for ref in data.get("test_data") or []] == [sha256]:
        return True
    os.replace(record_file, record_file.with_name("results.replaced.json"))
    return False


def arena_people(cfg: DictConfig, manifests: list[Path]) -> list[int]:
    """Every synthetic person of the arena: its people of every split (`faces.identities`, or
    0..faces.n_identities-1) and everyone its data manifests (real faces, blends, generator
    shots) name as target or donor."""
    from fakearena.metrics.identity_source import synthetic_people

    faces = cfg.faces
    count = faces.get("n_identities")
    if count is None:
        count = sum(int(v) for v in faces.identities.values())
    people = set(range(int(count)))
    for path in manifests:
        if path.is_file():
            people |= set(synthetic_people(read_manifest(path).frame))
    return sorted(people)


def score_test_sets(
    cfg: DictConfig,
    test_sets: dict[str, Path],
    out_dir: Path,
    people_manifests: list[Path] | None = None,
) -> list[Path]:
    """Write the confound check of every test set to `out_dir/<name>/results.json`.

    The gallery holds every person of the arena (`arena_people` of `people_manifests`, the
    arena's data manifests), so a fake of anyone the arena knows lands on that person.
    """
    people = arena_people(cfg, list(people_manifests or []))
    options = cfg.get("confound") or {}
    model_options = dict(options.get("identity_model") or {})
    tolerance = float(options.get("tolerance", 0.1))
    folds = int(options.get("folds", 5))
    written = []
    for name, csv_path in test_sets.items():
        manifest = read_manifest(csv_path)
        record_file = out_dir / name / RESULTS_FILE
        if _current(record_file, manifest.sha256):
            written.append(record_file)
            continue
        started_at, start = now_iso(), time.perf_counter()
        assignment = assign(
            manifest,
            "synthetic",
            people=people,
            seed=int(cfg.seed),
            size=int(cfg.faces.size),
            model_cache=out_dir,
            model_options=model_options,
        )
        result = check_test_set(
            manifest, assignment, folds=folds, seed=int(cfg.seed), tolerance=tolerance
        )
        declared = declared_identities(manifest)
        print("fakearena arena: " + "\n".join(summary_lines(name, result, declared)), flush=True)
        settings = {
            "identity": "synthetic",
            "people": len(people),
            "identity_model": model_options,
            "folds": result.folds,
            "smoothing": result.smoothing,
            "tolerance": result.tolerance,
            "n_bootstrap": result.n_bootstrap,
        }
        record = build_record(
            task=TASK,
            metrics=confound_metrics(result, declared),
            config=settings,
            seed=int(cfg.seed),
            started_at=started_at,
            wall_seconds=time.perf_counter() - start,
            test_data=[manifest.reference()],
            artifacts={"run_dir": str(record_file.parent)},
            extra={"test_set": name, "confound": result.to_dict(), "warnings": result.warnings},
        )
        written.append(write_results(record_file.parent, record))
    return written
