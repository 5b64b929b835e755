"""Truth metrics of fake sets: how close each fake of a synthetic face is to its true swap.

A fake row has a known truth when it names its synthetic source and donor in the columns
`synth_seed, synth_identity, synth_index, synth_donor` (donor >= 0): the blended fakes of
`fakearena data synth`, and the face swaps `fakearena generate` makes of synthetic faces. The
renderer draws the true swap and the untouched source of such a row, and
`fakearena.metrics.swap_truth` scores the fake against both over the swap region.

Results are metric entries keyed `<stage>/<name>` over all scored rows and
`<stage>/<split>/<name>` per split, names from `TRUTH_METRICS` (`truth_psnr`,
`truth_gain_db`, `closer_to_truth`, ...). A fake set's record (`write_truth_record`) is a
result record (`results.json`, task `fakeset`) with stage `fakes`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from fakearena.data.manifest import SPLITS, Manifest
from fakearena.data.media import load_image
from fakearena.data.synthetic import SyntheticRenderer, is_synthetic_row, synth_key
from fakearena.errors import DataError
from fakearena.metrics.swap_truth import TRUTH_METRICS, TruthScore, summarise_truth, truth_score
from fakearena.results import build_record, metric, now_iso, write_results

FAKESET_TASK = "fakeset"
FAKES_STAGE = "fakes"


def has_truth(row: Mapping[str, Any]) -> bool:
    """Whether a fake row names a synthetic source and a donor (so its true swap is known)."""
    return is_synthetic_row(row) and synth_key(row)[2] >= 0


class TruthScorer:
    """Scores fakes of synthetic faces against the true swap their row names."""

    def __init__(self) -> None:
        self._renderers: dict[int, SyntheticRenderer] = {}

    def _renderer(self, size: int) -> SyntheticRenderer:
        if size not in self._renderers:
            self._renderers[size] = SyntheticRenderer(size)
        return self._renderers[size]

    def score(self, row: Mapping[str, Any], fake: np.ndarray) -> TruthScore | None:
        """The fake's `TruthScore` (None when truth equals source), rendered at its size.

        Raises:
            DataError: the row has no known truth, or the fake is not a square RGB image.
        """
        if not has_truth(row):
            raise DataError(
                f"row {dict(row).get('path', '?')!r} names no synthetic source and donor "
                "(columns synth_identity, synth_index, synth_donor >= 0): its truth is unknown"
            )
        if fake.ndim != 3 or fake.shape[0] != fake.shape[1] or fake.shape[2] != 3:
            raise DataError(
                f"fake {dict(row).get('path', '?')!r} has shape {fake.shape}; the synthetic "
                "truth is a square RGB image"
            )
        renderer = self._renderer(int(fake.shape[0]))
        return truth_score(fake, renderer.render_truth(row), renderer.render_source(row))


def truth_metrics(
    scores: Mapping[str, Iterable[TruthScore | None]], stage: str, per_split: bool = True
) -> dict[str, dict[str, Any]]:
    """Metric entries over all scored fakes (`<stage>/<name>`) and, with `per_split`, per
    split (`<stage>/<split>/<name>`); `scores` maps split -> scores.

    Fakes without a swap region (None) are left out and counted in `n_empty`.
    """
    per_split_scores = {split: list(values) for split, values in scores.items()}
    entries: dict[str, dict[str, Any]] = {}
    groups = [(stage, [s for values in per_split_scores.values() for s in values])]
    if per_split:
        groups += [
            (f"{stage}/{split}", per_split_scores[split])
            for split in SPLITS
            if per_split_scores.get(split)
        ]
    for prefix, values in groups:
        scored = [s for s in values if s is not None]
        if not scored:
            continue
        summary = summarise_truth(scored)
        for name in TRUTH_METRICS:
            entries[f"{prefix}/{name}"] = metric(
                summary[name], n=summary["n"], n_empty=len(values) - len(scored)
            )
    return entries


def score_manifest(manifest: Manifest) -> dict[str, list[TruthScore | None]]:
    """Scores of every fake row with a known truth, by split (reads the fake images).

    Raises:
        DataError: no row of the manifest has a known truth.
    """
    scorer = TruthScorer()
    scores: dict[str, list[TruthScore | None]] = {}
    frame = manifest.frame
    for i, row in enumerate(frame.to_dict("records")):
        if int(row["label"]) != 1 or not has_truth(row):
            continue
        fake = load_image(manifest.abspath(i))
        scores.setdefault(str(row["split"]), []).append(scorer.score(row, fake))
    if not scores:
        raise DataError(
            f"manifest {manifest.name} has no fake row naming a synthetic source and donor "
            "(columns synth_identity, synth_index, synth_donor >= 0); truth metrics need fakes "
            "of the built-in synthetic faces"
        )
    return scores


def write_truth_record(
    out_dir: str | Path,
    manifest: Manifest,
    metrics: dict[str, dict[str, Any]],
    *,
    generator: str,
    source_data: list[dict[str, Any]],
    config: dict[str, Any],
    seed: int | None,
    started_at: str | None = None,
    wall_seconds: float = 0.0,
    test_set: str | None = None,
) -> Path:
    """Write `out_dir/results.json`: a fake set's truth metrics (task `fakeset`).

    `generator` names the set in reports (its `source`, e.g. `faceswap/faceswap_ae`);
    `source_data` are the references of the real faces it was made from; `test_set` names
    the detectors' test set holding these fakes (the report's evasion join), when known.
    """
    record = build_record(
        task=FAKESET_TASK,
        metrics=metrics,
        config=config,
        seed=seed,
        started_at=started_at or now_iso(),
        wall_seconds=wall_seconds,
        generator=generator,
        train_data=source_data,
        test_data=[manifest.reference()],
        artifacts={"run_dir": str(Path(out_dir)), "manifest": manifest.reference()["path"]},
    )
    if test_set:
        record["test_set"] = str(test_set)
    return write_results(out_dir, record)


def fake_set_truth(
    manifest: Manifest,
    out_dir: str | Path,
    generator: str | None = None,
    test_set: str | None = None,
) -> Path:
    """Score a fake set already on disk and write its record (`out_dir/results.json`).

    `generator` defaults to the set's `source` (one value, e.g. `blend/synthetic`).
    """
    started_at, start = now_iso(), time.perf_counter()
    metrics = truth_metrics(score_manifest(manifest), FAKES_STAGE)
    fakes = manifest.frame[manifest.frame["label"] == 1]
    if generator is None:
        generator = "+".join(sorted(fakes["source"].unique()))
    return write_truth_record(
        out_dir,
        manifest,
        metrics,
        generator=generator,
        source_data=[],
        config={"manifest": manifest.reference()},
        seed=None,
        started_at=started_at,
        wall_seconds=time.perf_counter() - start,
        test_set=test_set,
    )
