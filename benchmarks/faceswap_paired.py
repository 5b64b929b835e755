"""Is one face-swap recipe ahead of another on the same 800 rows? A paired bootstrap over
the source people (VALIDITY.md section 2: the unit that repeats) of two
`benchmarks.faceswap_mask40` points' fake sets.

Each fake of both sets is scored against its true swap (`fakearena.generation.truth`); the
rows are matched by (source, shot, donor, seed). The 40 source people are resampled with
replacement (seeded), each time both sets' truth PSNR (of the mean MSE) and closer-to-truth
share over the same resampled rows; the result is the observed difference B - A with its 95%
interval, and the share of resamples where B is not ahead. Writes
benchmarks/results/faceswap_paired.json: the pairs measured replace the file's pairs of the same
names, the file's other pairs are kept (each pair's bootstrap is seeded alone, so a pair's
numbers do not depend on the others measured with it).

    python -m benchmarks.faceswap_paired --pairs arena_20ep:arena_ppb8_instance_20ep --work W

(W: a folder holding both points' run folders, as faceswap_mask40's --work.)
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


def summary(mse: np.ndarray, closer: np.ndarray) -> tuple[float, float]:
    return float(10 * np.log10(1 / mse.mean())), float(closer.mean())


def paired(a_dir: Path, b_dir: Path, seed: int = 0) -> dict[str, Any]:
    """B - A on truth PSNR and closer share, bootstrapped over the source people."""
    a, b = row_scores(a_dir), row_scores(b_dir)
    if set(a) != set(b):
        raise ValueError(f"{a_dir} and {b_dir} do not hold the same rows")
    keys = sorted(a)
    person = np.array([k[0] for k in keys])
    a_mse, b_mse = (np.array([s[k][0] for k in keys]) for s in (a, b))
    a_closer, b_closer = (np.array([s[k][1] for k in keys], dtype=float) for s in (a, b))
    people = np.unique(person)
    members = [np.flatnonzero(person == p) for p in people]
    rng = np.random.default_rng(seed)
    deltas = []
    for _ in range(RESAMPLES):
        rows = np.concatenate([members[i] for i in rng.integers(0, len(people), len(people))])
        pa, ca = summary(a_mse[rows], a_closer[rows])
        pb, cb = summary(b_mse[rows], b_closer[rows])
        deltas.append((pb - pa, cb - ca))
    deltas = np.array(deltas)
    (pa, ca), (pb, cb) = summary(a_mse, a_closer), summary(b_mse, b_closer)
    out: dict[str, Any] = {"a": a_dir.name, "b": b_dir.name, "rows": len(keys)}
    out["people"] = len(people)
    for k, (name, va, vb) in enumerate((("truth_psnr", pa, pb), ("closer_to_truth", ca, cb))):
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
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    work = Path(args.work)
    pairs = []
    for pair in args.pairs:
        a, b = pair.split(":")
        pairs.append(paired(work / a, work / b))
        print(pairs[-1], flush=True)
    measured = {(p["a"], p["b"]) for p in pairs}
    kept = [p for p in previous_pairs(Path(args.results)) if (p["a"], p["b"]) not in measured]
    payload = {"unit": "source person", "resamples": RESAMPLES, "seed": 0}
    payload["pairs"] = [*kept, *pairs]
    print(f"wrote {write_results(NAME, payload, args.results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
