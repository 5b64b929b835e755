"""The confound check of one test-set manifest: identities per row, then the identity-only AUC.

What `fakearena confound` prints and what the arena writes to `testsets/<name>/results.json`
(metric keys `testset/...`, each with value, n and, for the AUC, ci95).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fakearena.data.manifest import Manifest
from fakearena.errors import ConfigError
from fakearena.metrics.confound import FOLDS, TOLERANCE, ConfoundResult, confound_check
from fakearena.metrics.identity_source import (
    Embed,
    IdentityAssignment,
    column_identities,
    embedding_identities,
    people_from_cards,
    resolve_source,
    synthetic_identities,
    synthetic_people,
)

TASK = "testset"  # the `task` of a test set's record (the report's test-set table reads them)


def assign(
    manifest: Manifest,
    identity: str = "auto",
    *,
    embed: Embed | None = None,
    embedding_name: str = "embedding",
    gallery: Manifest | None = None,
    people: int | Iterable[int] | None = None,
    seed: int | None = None,
    size: int | None = None,
    model_cache: str | Path | None = None,
    model_options: dict[str, Any] | None = None,
) -> IdentityAssignment:
    """Identities of every row from the chosen source (see `identity_source`).

    `people` (a count, or the people themselves), `seed` and `size` describe synthetic faces
    (default: the people count in the card's provenance, the rows' `synth_seed` and the
    card's image size); `model_cache` keeps the trained synthetic identity model;
    `model_options` change its training (fields of `IdentityModelSettings`: people, shots,
    epochs, ...).
    """
    source = resolve_source(manifest, identity, embed)
    if source == "column":
        return column_identities(manifest)
    if source == "embedding":
        if embed is None:
            raise ConfigError(
                "identity=embedding needs embedding=MODULE:FUNCTION (a callable images "
                "(N, H, W, 3) uint8 -> (N, D) embeddings)"
            )
        return embedding_identities(manifest, embed, gallery, embedding_name)
    from fakearena.metrics.identity_model import cached_identity_model, model_settings

    frame = manifest.frame
    if seed is None:
        seed = int(frame["synth_seed"].dropna().iloc[0]) if "synth_seed" in frame else 0
    size = int(size or manifest.card.image_size or 64)
    settings = model_settings(seed, size, model_options)
    model = cached_identity_model(settings, model_cache)
    if people is None:
        people = people_from_cards(manifest)
    known = synthetic_people(frame, people)
    return synthetic_identities(manifest, model, known, seed=seed, size=size)


def check_test_set(
    manifest: Manifest,
    assignment: IdentityAssignment,
    *,
    folds: int = FOLDS,
    seed: int = 0,
    tolerance: float = TOLERANCE,
    n_bootstrap: int = 1000,
) -> ConfoundResult:
    """The confound check of `manifest` with the identities of `assignment`."""
    frame = manifest.frame
    return confound_check(
        assignment.names,
        frame["label"].to_numpy(),
        frame["video_id"].astype(str).to_numpy(),
        identity_source=assignment.source,
        folds=folds,
        seed=seed,
        tolerance=tolerance,
        n_bootstrap=n_bootstrap,
        what=f"test set {manifest.name}",
    )


def declared_identities(manifest: Manifest) -> dict[str, int]:
    """Distinct people per class as the `identity` column names them (rows without one, such
    as GAN samples, are not counted; a face swap's row names its target)."""
    frame = manifest.frame
    named = frame["identity"].fillna("").astype(str).str.strip()
    return {
        label: int(named[(frame["label"] == value) & (named != "")].nunique())
        for label, value in (("real", 0), ("fake", 1))
    }


def confound_metrics(
    result: ConfoundResult, declared: dict[str, int] | None = None
) -> dict[str, dict[str, Any]]:
    """Metric entries (`fakearena.results.metric`) of a check, keys `testset/...`; `declared`:
    the people per class the identity column names (`declared_identities`)."""
    from fakearena.results import metric

    n_ids = result.identities["real"] + result.identities["fake"] - result.shared_identities
    entries = {
        "testset/confound_auc": metric(
            result.auc,
            n_ids,
            result.ci95,
            ci_unit="identity",
            flagged=result.flagged,
            tolerance=result.tolerance,
        ),
        "testset/confound_raw_auc": metric(result.raw_auc, n_ids),
        "testset/confound_chance_auc": metric(result.chance_auc, n_ids),
        "testset/shared_identities": metric(result.shared_identities, n_ids),
        "testset/rows_shared": metric(result.rows_shared, sum(result.rows.values())),
    }
    for label in ("real", "fake"):
        entries[f"testset/{label}_rows"] = metric(result.rows[label], result.rows[label])
        entries[f"testset/{label}_units"] = metric(result.units[label], result.units[label])
        entries[f"testset/{label}_identities"] = metric(
            result.identities[label], result.identities[label]
        )
        if declared is not None:
            entries[f"testset/{label}_column_identities"] = metric(declared[label], declared[label])
    return entries


def summary_lines(
    name: str, result: ConfoundResult, declared: dict[str, int] | None = None
) -> list[str]:
    """What the console shows of a check (the CLI and the arena)."""
    low, high = result.ci95
    lines = [
        f"{name}: confound AUC {result.auc:.3f} [{low:.3f}, {high:.3f}] "
        f"{result.flag} (flag outside 0.5 +- {result.tolerance:g}; corrected for chance: raw "
        f"{result.raw_auc:.3f}, {result.chance_auc:.3f} with shuffled labels)",
        f"  rows real {result.rows['real']}, fake {result.rows['fake']}; identities real "
        f"{result.identities['real']}, fake {result.identities['fake']}, shared "
        f"{result.shared_identities} ({result.rows_shared:.0%} of rows)",
        f"  identities from: {result.identity_source}",
    ]
    if declared is not None:
        lines.append(
            f"  the identity column names real {declared['real']}, fake {declared['fake']} people"
        )
    lines += [f"  warning: {w}" for w in result.warnings]
    return lines
