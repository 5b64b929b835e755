"""`fakearena arena` end to end on a tiny config: every generator x detector cell is reported."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from fakearena.results import read_results

from conftest import run_cli


@pytest.mark.slow
def test_smoke_arena_reports_every_generator_detector_cell_and_resumes(tmp_path: Path):
    run_dir = tmp_path / "arena"
    first = run_cli("arena", "--config-name", "arena_smoke", f"hydra.run.dir={run_dir}")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "report:" in first.stdout

    summary = json.loads((run_dir / "arena.json").read_text())
    names = [stage["name"] for stage in summary["stages"]]
    assert "train generator dcgan" in names and "train detector meso4" in names
    assert all(stage["status"] == "ran" for stage in summary["stages"])

    test_sets = {"dcgan", "faceswap", "blend"}
    for detector in ("small_cnn", "meso4"):
        record = read_results(run_dir / "detectors" / detector)
        for test_set in test_sets:
            auc = record["metrics"][f"test/{test_set}/auc"]["value"]
            assert 0.0 <= auc <= 1.0
    for generator in ("dcgan", "faceswap"):
        assert read_results(run_dir / "generators" / generator)["task"] in ("gan", "faceswap")
    for test_set in test_sets:  # every test set carries its confound check
        check = read_results(run_dir / "testsets" / test_set)
        assert check["task"] == "testset" and check["test_set"] == test_set
        auc = check["metrics"]["testset/confound_auc"]
        assert auc["flagged"] == (abs(auc["value"] - 0.5) > 0.1) and len(auc["ci95"]) == 2
    assert "confound check" in names

    report = run_dir / "report"
    assert (report / "auc_heatmap.png").is_file()
    html = (report / "leaderboard.html").read_text()
    with open(report / "leaderboard_runs.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    detector_rows = [r for r in rows if r.get("task") == "detect"]
    assert len(detector_rows) == 2
    for row in detector_rows:
        for test_set in test_sets:
            assert row[f"test/{test_set}/auc"] not in ("", "-")
    assert "meso4" in html and "faceswap" in html
    md = (report / "leaderboard.md").read_text()
    headline = md.split("## Generators\n", 1)[1].split("\n## ", 1)[0]
    lines = [line.split(" | ") for line in headline.splitlines() if line.startswith("| ")]
    names = [line[1] for line in lines[1:]]
    assert len(lines[0]) <= 6 and len(names) == len(set(names)) == 3  # one row per generator
    assert "faceswap" in names and "## Generator details" in md
    from PIL import Image

    with Image.open(report / "images" / "faceswap_swap_preview.png") as preview:
        assert preview.width >= 6 * 96  # faces at >= 96 px under column titles
    assert "Test sets: who is in them (confound check)" in html

    again = run_cli("arena", "--config-name", "arena_smoke", f"hydra.run.dir={run_dir}")
    assert again.returncode == 0, again.stderr[-3000:]
    rerun = json.loads((run_dir / "arena.json").read_text())
    statuses = {s["name"]: s["status"] for s in rerun["stages"]}
    assert statuses["train detector meso4"] == "skipped"
    assert statuses["train generator dcgan"] == "skipped"
