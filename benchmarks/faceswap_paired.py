"""Is one face-swap recipe ahead of another on the same 800 rows? A paired bootstrap over
the source people (VALIDITY.md section 2: the unit that repeats) of two
`benchmarks.faceswap_mask40` points' fake sets.

Each fake of both sets is scored against its true swap (`fakearena.generation.truth`) and,
with `--id`, by whether its nearest person is its donor under the swap metrics' inner-face
identity model (the `id_top1` of `faceswap_mask40`, row by row); the rows are matched by
(source, shot, donor, seed). The 40 source people are resampled with replacement (seeded),
each time both sets' truth PSNR (of the mean MSE), closer-to-truth share (and donor ID top-1)
over the same resampled rows; the result is the observed difference B - A with its 95%
interval, and the share of resamples where B is not ahead. Writes
benchmarks/results/faceswap_paired.json: the pairs measured replace the file's pairs of the same
names, the file's other pairs are kept (each pair's bootstrap is seeded alone, so a pair's
numbers do not depend on the others measured with it).

    python -m benchmarks.faceswap_paired --pairs arena_20ep:arena_ppb8_instance_20ep --work W

(W: a folder holding both points' run folders, as faceswap_mask40's --work; with `--id`, also
its `testsets/` of cached identity models.)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import RESULTS_DIR, write_results
from benchmarks.faceswap_mask40 import ENTRY
from fakearena.data.manifest import read_manifest
from fakearena.data.synthetic import synth_key
from fakearena.generation.truth import TruthScorer

NAME = "faceswap_paired"
RESAMPLES = 2000


def row_scores(run_dir: Path) -> dict[tuple, tuple[float, float, bool]]:
    """(fake-truth MSE, closer to truth) of every fake, keyed by its row."""
    from fakearena.data.media import load_image

    manifest = read_manifest(run_dir / "fakes" / ENTRY / f"{ENTRY}.csv")
    scorer, out = TruthScorer(), {}
    for i, row in enumerate(manifest.frame.to_dict("records")):
        score = scorer.score(row, load_image(manifest.abspath(i)))
        if score is not None:
            out[tuple(synth_key(row))] = (score.mse_fake_truth, score.closer)
    return out


def donor_named(run_dir: Path, cache: Path, seed: int = 0) -> dict[tuple, bool]:
    """Whether each fake's nearest person (centroids of the gallery's shots) is its donor,
    under the inner-face identity model of `faceswap_mask40`'s `id_top1`, keyed by its row."""
    from benchmarks.synthetic_identity import arena_rows
    from fakearena.generation.swap_literature import read_fakes
    from fakearena.metrics.identity_model import cached_identity_model
    from fakearena.metrics.identity_source import gallery_shots
    from fakearena.metrics.swap_identity import identity_gallery, unit_rows
    from fakearena.metrics.synthetic_swap_identity import inner_face_settings, same_size

    manifest = read_manifest(run_dir / "fakes" / ENTRY / f"{ENTRY}.csv")
    rows = manifest.frame.to_dict("records")
    fakes = read_fakes(manifest.frame, manifest.root)
    size = int(np.asarray(fakes[0]).shape[0])
    model = cached_identity_model(inner_face_settings(seed, size, None), cache)
    people, _ = arena_rows(seed)
    shots, owners = gallery_shots(people, seed=seed, size=size)
    names, centroids = identity_gallery(model.embed(shots), [str(p) for p in owners])
    # ties rank in the gallery's (sorted name) order, as id_retrieval: argmax takes the first
    nearest = (unit_rows(model.embed(same_size(fakes, size))) @ centroids.T).argmax(1)
    return {
        tuple(synth_key(row)): names[int(n)] == str(int(row["synth_donor"]))
        for row, n in zip(rows, nearest)
    }


def summary(mse: np.ndarray, *shares: np.ndarray) -> tuple[float, ...]:
    """Truth PSNR of the mean MSE, then the mean of each 0/1 column."""
    return (float(10 * np.log10(1 / mse.mean())), *(float(c.mean()) for c in shares))


def paired(a_dir: Path, b_dir: Path, seed: int = 0, cache: Path | None = None) -> dict[str, Any]:
    """B - A on truth PSNR and closer share (and donor ID top-1 with `cache`, the folder of
    the cached identity models), bootstrapped over the source people."""
    a, b = row_scores(a_dir), row_scores(b_dir)
    if set(a) != set(b):
        raise ValueError(f"{a_dir} and {b_dir} do not hold the same rows")
    keys = sorted(a)
    person = np.array([k[0] for k in keys])
    a_mse, b_mse = (np.array([s[k][0] for k in keys]) for s in (a, b))
    a_cols = [np.array([a[k][1] for k in keys], dtype=float)]
    b_cols = [np.array([b[k][1] for k in keys], dtype=float)]
    names = ["truth_psnr", "closer_to_truth"]
    if cache is not None:
        named_a, named_b = donor_named(a_dir, cache), donor_named(b_dir, cache)
        a_cols.append(np.array([named_a[k] for k in keys], dtype=float))
        b_cols.append(np.array([named_b[k] for k in keys], dtype=float))
        names.append("id_top1")
    people = np.unique(person)
    members = [np.flatnonzero(person == p) for p in people]
    rng = np.random.default_rng(seed)
    deltas = []
    for _ in range(RESAMPLES):
        rows = np.concatenate([members[i] for i in rng.integers(0, len(people), len(people))])
        va = summary(a_mse[rows], *(c[rows] for c in a_cols))
        vb = summary(b_mse[rows], *(c[rows] for c in b_cols))
        deltas.append([y - x for x, y in zip(va, vb)])
    deltas = np.array(deltas)
    observed = zip(names, summary(a_mse, *a_cols), summary(b_mse, *b_cols))
    out: dict[str, Any] = {"a": a_dir.name, "b": b_dir.name, "rows": len(keys)}
    out["people"] = len(people)
    for k, (name, va, vb) in enumerate(observed):
        low, high = np.percentile(deltas[:, k], [2.5, 97.5])
        out[name] = {
            "a": round(va, 4),
            "b": round(vb, 4),
            "b_minus_a": round(vb - va, 4),
            "ci95": [round(float(low), 4), round(float(high), 4)],
            "share_b_not_ahead": round(float((deltas[:, k] <= 0).mean()), 4),
        }
    return out


def previous_pairs(results: Path) -> list[dict[str, Any]]:
    """The pairs of the results file (none when there is none)."""
    path = results / f"{NAME}.json"
    return json.loads(path.read_text())["pairs"] if path.is_file() else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--pairs", nargs="+", required=True, help="A:B run folder names")
    parser.add_argument("--work", required=True, help="the folder holding the run folders")
    parser.add_argument("--results", default=str(RESULTS_DIR))
    parser.add_argument(
        "--id", action="store_true", help="also donor ID top-1 (identity models in WORK/testsets)"
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    work = Path(args.work)
    pairs = []
    for pair in args.pairs:
        a, b = pair.split(":")
        pairs.append(paired(work / a, work / b, cache=work / "testsets" if args.id else None))
        print(pairs[-1], flush=True)
    measured = {(p["a"], p["b"]) for p in pairs}
    kept = [p for p in previous_pairs(Path(args.results)) if (p["a"], p["b"]) not in measured]
    payload = {"unit": "source person", "resamples": RESAMPLES, "seed": 0}
    payload["pairs"] = [*kept, *pairs]
    print(f"wrote {write_results(NAME, payload, args.results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
