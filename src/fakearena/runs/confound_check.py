"""The arena's test sets, checked: the confound check of each, as `testsets/<name>/results.json`.

Every test set the arena builds gets the identity-only AUC (`fakearena.metrics.confound`):
each row's person from the synthetic identity model (trained once, cached in `testsets/`),
recognised among a gallery of the people the set claims to show (its reals' people, the
targets and donors its rows name, a generator's learned people: `<name>.json`'s `people`), as
the embedding source recognises real faces among the set's own reals. The same assignment
makes the arena's test sets identity-matched first (`identity_matcher`). The
record's metrics (`testset/confound_auc` with its CI over identities and the flag, rows and
identities per class, their overlap) are what the report's test-set table shows. A record is
reused while its test set's sha256 is unchanged; one of a changed set is moved aside
(`results.replaced.json`) and the check runs again.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig

from fakearena.data.manifest import Manifest, read_manifest
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


def set_people(manifest: Manifest, named: Sequence[str] = ()) -> list[int]:
    """The synthetic people a test set shows: the targets and donors its rows name, plus
    `named` people (`synthNNN`, e.g. the people a GAN learned)."""
    from fakearena.metrics.identity_source import synthetic_people

    people = set(synthetic_people(manifest.frame))
    for name in named:
        digits = str(name).removeprefix("synth")
        if digits.isdigit():
            people.add(int(digits))
    return sorted(people)


def _population_people(csv_path: Path) -> list[str]:
    """`people` of the population JSON beside a test set (empty when there is none)."""
    population = csv_path.with_suffix(".json")
    if not population.is_file():
        return []
    try:
        return [str(p) for p in json.loads(population.read_text()).get("people") or []]
    except (OSError, ValueError):
        return []


def _assign(cfg: DictConfig, manifest: Manifest, people: list[int], out_dir: Path):
    options = cfg.get("confound") or {}
    return assign(
        manifest,
        "synthetic",
        people=people,
        seed=int(cfg.seed),
        size=int(cfg.faces.size),
        model_cache=out_dir,
        model_options=dict(options.get("identity_model") or {}),
    )


def identity_matcher(cfg: DictConfig, out_dir: Path):
    """A `build_test_sets` matcher: each set's rows recognised among its people, then
    matched per person (`fakearena.runs.identity_match`)."""
    from fakearena.runs.identity_match import match_test_set, summary_line

    def match(name: str, manifest: Manifest, named: Sequence[str]):
        assignment = _assign(cfg, manifest, set_people(manifest, named), out_dir)
        matched, record = match_test_set(
            manifest, assignment.names, int(cfg.seed), f"test set {name}"
        )
        record["identities_from"] = assignment.source
        print("fakearena arena: " + summary_line(name, record), flush=True)
        return matched, record

    return match


def score_test_sets(
    cfg: DictConfig,
    test_sets: dict[str, Path],
    out_dir: Path,
    people_manifests: list[Path] | None = None,
) -> list[Path]:
    """Write the confound check of every test set to `out_dir/<name>/results.json`.

    The gallery holds the people the set shows (`set_people`, with the population JSON's
    `people` beside it); a set without one is recognised among every person of the arena
    (`arena_people` of `people_manifests`, the arena's data manifests).
    """
    everyone = arena_people(cfg, list(people_manifests or []))
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
        named = _population_people(csv_path)
        people = set_people(manifest, named) if named else everyone
        assignment = _assign(cfg, manifest, people, out_dir)
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
