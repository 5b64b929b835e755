"""Reports that stay readable across launches: names from the overrides that differ and
matter (never paths, empty lists or nulls), one warning per kind with a count, and a
lossless leaderboard CSV (whole overrides in their own column)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from fakearena.report.leaderboard import write_leaderboard
from fakearena.report.records import collect_records, group_configurations
from fakearena.results import SCHEMA_VERSION, metric, write_results

MIX = "/home/someone/data/dfdc/faces/dfdc_mix.csv"


def launch(run: Path, overrides: list[str], config_data: dict, test_data: list, **metrics):
    """A `fakearena train` record of one launch, with its command line and resolved config."""
    record = {
        "schema_version": SCHEMA_VERSION,
        "task": "detect",
        "detector": "meso4",
        "train_data": [{"name": "ffpp_c23", "sha256": "f" * 64, "path": "/d/ffpp_c23.csv"}],
        "test_data": [{"name": "ffpp_c23", "sha256": "f" * 64, "split": "test"}],
        "metrics": {"test/auc": metric(0.9, n=1400), **metrics},
        "seed": 0,
        "artifacts": {"run_dir": str(run)},
        "environment": {"packages": {"torch": "2.14.1"}, "git_commit": "abcdef0123456789"},
        "invocation": {
            "command": "train",
            "overrides": ["detector=meso4", "data=ffpp_c23", *overrides],
            "choices": {"detector": "meso4", "data": "ffpp_c23"},
        },
        "config": {
            "seed": 0,
            "data": {"image_size": 256, "sources": None, **config_data},
            "test_data": test_data,
            "paths": {"output_dir": str(run)},
        },
    }
    write_results(run, record)
    return run


def small(videos: int) -> dict:
    entry = metric(0.5, n=videos * 10, n_videos=videos, n_videos_real=1)
    entry["n_videos_fake"] = videos - 1
    entry["warning"] = (
        f"only {videos} videos (1 real, {videos - 1} fake), fewer than 30 videos or 10 of a "
        "class: these metrics and their intervals say little"
    )
    return entry


def test_names_show_what_differs_without_paths_empty_lists_or_nulls(tmp_path: Path):
    sources = ["real", "ffpp/Deepfakes"]
    launch(
        tmp_path / "a",
        ["data.image_size=128", f"data.sources=[{','.join(sources)}]", f"test_data=[{MIX}]"],
        {"image_size": 128, "sources": sources},
        [MIX],
        **{"test/dfdc_mix/auc": small(6)},
    )
    launch(tmp_path / "b", ["test_data=[]"], {}, [])
    launch(tmp_path / "c", ["data.image_size=64", "data.sources=null"], {"image_size": 64}, [])
    labels = sorted(c.label for c in group_configurations(collect_records([tmp_path])))
    assert labels == [
        "meso4 data.image_size=128 data.sources=[real,ffpp/Deepfakes] test_data=[dfdc_mix]",
        "meso4 data.image_size=256",
        "meso4 data.image_size=64",
    ]
    written = write_leaderboard([tmp_path], tmp_path / "out")
    md = written["md"].read_text()
    assert "/home/someone" not in md and "=[]" not in md and "=null" not in md
    table = pd.read_csv(written["csv"])  # lossless: the whole command line of each row
    overrides = {row["name"]: json.loads(row["overrides"]) for _, row in table.iterrows()}
    assert overrides[labels[0]][-1] == f"test_data=[{MIX}]"
    assert overrides["meso4 data.image_size=256"][-1] == "test_data=[]"
    runs = pd.read_csv(written["runs_csv"])
    assert set(runs["overrides"]) == set(table["overrides"])


def test_one_warning_per_kind_with_a_count(tmp_path: Path):
    sets = {f"test/clips{i}/auc": small(2 + i) for i in range(8)}
    launch(tmp_path / "a", [], {}, [], **sets)
    md = write_leaderboard([tmp_path], tmp_path / "out")["md"].read_text()
    note = md.split("## Detectors\n", 1)[1].split("\n|", 1)[0]
    assert len(re.findall(r"only \d+ videos", note)) == 1  # the sentence once, not 8 times
    assert "⚠ 8 cells: only 2 videos (1 real, 1 fake)" in note
    assert "(e.g. meso4 on clips0); also: meso4 on clips1, " in note
    assert md.count("⚠") == 8 + 1  # each cell still marked, the note once
