"""The leaderboard's significance table on handmade runs with predictions files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fakearena.metrics.significance import paired_bootstrap_auc
from fakearena.report.leaderboard import write_leaderboard
from fakearena.report.significance import TITLE
from fakearena.results import SCHEMA_VERSION, metric, write_results

N_PEOPLE, SHOTS = 40, 6
PERSON = np.repeat(np.arange(N_PEOPLE), SHOTS)
LABELS = np.tile(np.arange(SHOTS) % 2, N_PEOPLE)
OFFSET = np.random.default_rng(9).normal(0, 0.15, N_PEOPLE)[PERSON]


def probs(strength: float, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, 0.1, LABELS.size)
    return np.clip(0.5 + OFFSET + strength * (LABELS - 0.5) + noise, 0, 1)


def detector_run(run_dir: Path, detector: str, seed: int, values: np.ndarray) -> None:
    """A results.json of a detector scored on test set `blend`, with its predictions.csv."""
    run_dir.mkdir(parents=True)
    frame = pd.DataFrame(
        {
            "path": [f"blend/{i:04d}.png" for i in range(LABELS.size)],
            "video_id": [f"img{i}" for i in range(LABELS.size)],
            "identity": [f"p{p:02d}" for p in PERSON],
            "source": np.where(LABELS == 1, "blend", "real"),
            "label": LABELS,
            "prob": values,
        }
    ).sample(frac=1.0, random_state=seed)  # row order differs between runs: joined by path
    frame.to_csv(run_dir / "predictions.csv", index=False)
    record = {
        "schema_version": SCHEMA_VERSION,
        "task": "detect",
        "detector": detector,
        "train_data": [{"name": "faces", "sha256": "sha-faces", "rows": 100}],
        "test_data": [{"name": "faces", "sha256": "sha-faces", "split": "test"}],
        "metrics": {"test/blend/auc": metric(0.5, n=LABELS.size)},
        "seed": seed,
        "artifacts": {"run_dir": str(run_dir), "predictions": {"blend": "predictions.csv"}},
        "environment": {"packages": {"torch": "2.14.1"}, "git_commit": "abc"},
        "config": {"seed": seed, "detector": {"name": detector}},
    }
    write_results(run_dir, record)


def md_rows(text: str) -> list[list[str]]:
    lines = text.split(f"## {TITLE}\n", 1)[1].split("\n## ", 1)[0].splitlines()
    rows = [line for line in lines if line.startswith("|") and not line.startswith("|---")]
    return [[c.strip() for c in row.strip("|").split(" | ")] for row in rows]


def test_leaderboard_marks_a_significant_difference_and_a_tie(tmp_path: Path):
    strengths = {"strong": 0.5, "weak": 0.05, "weak_twin": 0.05}
    for name, strength in strengths.items():
        for seed in (0, 1):
            detector_run(
                tmp_path / name / f"seed{seed}", name, seed, probs(strength, 10 * seed + len(name))
            )
    written = write_leaderboard([tmp_path], tmp_path / "report", sort_by="test/blend/auc")
    rows = md_rows(written["md"].read_text())
    assert rows[0][:3] == ["test set", "A", "B"]
    by_pair = {tuple(sorted(r[1:3])): r for r in rows[1:]}
    assert set(by_pair) == {("strong", "weak"), ("strong", "weak_twin"), ("weak", "weak_twin")}
    assert by_pair[("strong", "weak")][7] == "strong better"
    assert by_pair[("weak", "weak_twin")][7] == "tie (no significant difference)"
    assert (
        by_pair[("strong", "weak")][5] == "2" and by_pair[("strong", "weak")][6] == "80 identities"
    )
    # the cell is the paired bootstrap itself, on the rows joined by path, seed k with seed k
    row = by_pair[("strong", "weak")]
    first, second = row[1], row[2]
    result, _ = paired_bootstrap_auc(
        np.stack([probs(strengths[first], 10 * s + len(first)) for s in (0, 1)]),
        np.stack([probs(strengths[second], 10 * s + len(second)) for s in (0, 1)]),
        LABELS,
        [f"img{i}" for i in range(LABELS.size)],
        [f"p{p:02d}" for p in PERSON],
    )
    assert row[3].startswith(f"{result.delta:.3f} [{result.ci95[0]:.3f}, {result.ci95[1]:.3f}]")
