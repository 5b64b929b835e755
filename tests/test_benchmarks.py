"""The benchmark suite's plumbing: tables, JSON records, fits, and a --quick smoke run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `benchmarks` is a top-level folder, not an installed package
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import _common, arena, metrics, train_step  # noqa: E402


def test_results_record_has_machine_info_and_checks(tmp_path) -> None:
    check = _common.check("x", ours=3.0, unit="img/s", baseline=2.0, target=">= 2x", passed=False)
    path = _common.write_results("demo", {"checks": [check]}, out_dir=tmp_path, quick=True)
    record = json.loads(path.read_text())
    assert path == tmp_path / "demo.json"
    assert record["benchmark"] == "demo" and record["quick"] is True
    machine = record["machine"]
    for key in ("cpu", "cpu_count", "torch_threads", "load_average", "torch"):
        assert key in machine
    assert machine["cpu_count"] == os.cpu_count()
    assert record["checks"][0]["ratio"] == pytest.approx(1.5)


def test_write_json_round_trips_numpy_and_never_leaves_a_half_written_file(
    tmp_path, monkeypatch
) -> None:
    import fakearena.utils.io

    path = tmp_path / "deep" / "record.json"
    record = {"auc": np.float32(0.75), "counts": np.arange(3), "where": Path("a/b")}
    assert _common.write_json(path, record) == path
    assert json.loads(path.read_text()) == {"auc": 0.75, "counts": [0, 1, 2], "where": "a/b"}
    before = path.read_bytes()
    with pytest.raises(TypeError, match="not JSON serialisable: object"):
        _common.write_json(path, {"bad": object()})

    def interrupted(source, target):  # the process dies between writing and renaming
        raise KeyboardInterrupt

    monkeypatch.setattr(fakearena.utils.io.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _common.write_json(path, {"auc": 0.5, "padding": "x" * 100_000})
    assert path.read_bytes() == before  # the earlier record is intact
    assert sorted(p.name for p in path.parent.iterdir()) == ["record.json"]  # no temp left


def test_table_rows_show_ratio_and_verdict() -> None:
    rows = _common.table_rows(
        [
            _common.check("a", ours=1.0, unit="s", baseline=4.0, baseline_name="ref", passed=True),
            _common.check("b", ours=2.0, unit="s", passed=None),
            _common.check("c", ours=2.0, unit="s", baseline=1.0, passed=False),
        ]
    )
    assert rows[0]["ratio"] == "0.25x" and rows[0]["pass"] == "pass"
    assert rows[0]["baseline"] == "4 s (ref)"
    assert rows[1]["ratio"] == "" and rows[1]["pass"] == "-"
    assert rows[2]["pass"] == "FAIL"


def test_paired_best_takes_each_functions_minimum() -> None:
    calls: list[str] = []
    best = _common.paired_best(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=2, warmup=1
    )
    assert calls == ["a", "b", "a", "b", "a", "b"]  # warm-up, then interleaved
    assert set(best) == {"a", "b"} and all(0 <= v < 1 for v in best.values())


@pytest.mark.parametrize("exponent", [0.5, 1.0, 2.0])
def test_fit_exponent_recovers_a_power_law(exponent: float) -> None:
    sizes = [1_000, 10_000, 100_000]
    seconds = [3e-6 * n**exponent for n in sizes]
    assert metrics.fit_exponent(sizes, seconds) == pytest.approx(exponent)


def test_peak_extra_memory_sees_a_large_allocation() -> None:
    mib, value = metrics.peak_extra_mib(lambda: np.ones(64 * 2**20 // 8).sum())
    assert value == 64 * 2**20 // 8
    if mib is None:
        pytest.skip("no /proc/self/clear_refs on this system")
    assert 60 <= mib <= 200


def test_step_seconds_is_the_median_gap_after_warmup() -> None:
    starts = [0.0, 5.0, 6.0, 7.5, 8.5, 9.5]  # gaps 5, 1, 1.5, 1, 1
    assert train_step.step_seconds(starts, warmup=1) == pytest.approx(1.0)
    assert train_step.step_seconds(starts, warmup=0) == pytest.approx(1.0)
    assert train_step.step_seconds([0.0, 2.0, 5.0], warmup=0) == pytest.approx(2.5)


def test_arena_summary_checks_the_limits() -> None:
    summary = {
        "wall_seconds": 700.0,
        "stages": [
            {"name": "prepare faces", "status": "ran", "wall_seconds": 5.0, "peak_rss_mib": 300},
            {"name": "train dcgan", "status": "ran", "wall_seconds": 600.0, "peak_rss_mib": 900},
        ],
    }
    result = arena.summarize(summary)
    wall, memory = result["checks"][:2]
    assert wall["ours"] == pytest.approx(700 / 60) and wall["pass"] is False
    assert "train dcgan" in wall["limit"]
    assert memory["ours"] == 900 and memory["pass"] is True
    assert [c["benchmark"].strip() for c in result["checks"][2:]] == [
        "stage prepare faces",
        "stage train dcgan",
    ]


def test_arena_quick_is_skipped_not_run() -> None:
    payload = arena.run(quick=True)
    assert payload["checks"][0]["pass"] is None and "skipped" in payload


@pytest.mark.slow
def test_quick_suite_runs_and_writes_json(tmp_path) -> None:
    only = ("fid_features", "train_step", "data_loading", "synthetic", "metrics", "arena")
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    command = [sys.executable, "-m", "benchmarks", "--quick", "--out-dir", str(tmp_path)]
    process = subprocess.run(
        [*command, "--only", *only],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    header = "benchmark"
    assert header in process.stdout and "target" in process.stdout
    for name in only:
        record = json.loads((tmp_path / f"{name}.json").read_text())
        assert record["quick"] is True and record["machine"]["cpu_count"] >= 1
        assert record["checks"], name
        for row in record["checks"]:
            assert row["pass"] in (True, False, None)
