"""Arena: wall time and peak memory per stage of the default `fakearena arena`.

    python benchmarks/arena.py [--quick] [--keep DIR]

Runs `fakearena arena hydra.run.dir=<temporary folder>` (the default config: synthetic faces,
every configured generator and detector, the leaderboard) in a subprocess, then reads the
`arena.json` it writes: per stage wall seconds and peak resident memory of the stage's process.
`--quick` only checks that the command is there (the default arena takes minutes).
Targets: the whole arena <= 10 minutes and every stage <= 6 GiB.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import (
    ensure_importable,
    print_checks,
    write_results,
)

ensure_importable()

NAME = "arena"
TARGET_SECONDS = 600
TARGET_MIB = 6 * 1024
TIMEOUT_SECONDS = 3600


def _skipped(reason: str) -> dict[str, Any]:
    return {
        "skipped": reason,
        "checks": [
            {
                "benchmark": "arena (default config)",
                "ours": f"skipped: {reason}",
                "unit": "",
                "baseline": None,
                "baseline_name": "",
                "ratio": None,
                "limit": "",
                "target": f"<= {TARGET_SECONDS // 60} min, <= 6 GiB",
                "pass": None,
            }
        ],
    }


def run_arena(run_dir: Path) -> tuple[dict[str, Any], float]:
    """Run the default arena into `run_dir`; its arena.json and the outer wall seconds."""
    env = dict(os.environ, WANDB_MODE="offline")
    start = time.perf_counter()
    process = subprocess.run(
        [sys.executable, "-m", "fakearena.cli", "arena", f"hydra.run.dir={run_dir}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )
    wall = time.perf_counter() - start
    if process.returncode != 0:
        tail = (process.stdout + process.stderr)[-3000:]
        raise RuntimeError(f"fakearena arena exited {process.returncode}:\n{tail}")
    summary_path = run_dir / "arena.json"
    if not summary_path.is_file():
        raise RuntimeError(f"fakearena arena finished without writing {summary_path}")
    return json.loads(summary_path.read_text()), wall


def run(quick: bool, keep: Path | None = None) -> dict[str, Any]:
    if importlib.util.find_spec("fakearena.runs.arena") is None:
        return _skipped("this checkout has no fakearena.runs.arena")
    if quick:
        return _skipped("--quick (the default arena takes minutes)")
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = keep or Path(tmp) / "arena"
        summary, outer = run_arena(run_dir)
    return {"wall_seconds_outer": outer, **summarize(summary)}


def summarize(summary: dict[str, Any]) -> dict[str, Any]:
    """Checks and per-stage rows from the `arena.json` an arena run wrote."""
    stages = [
        {
            "name": s["name"],
            "status": s["status"],
            "wall_seconds": float(s["wall_seconds"]),
            "peak_rss_mib": float(s["peak_rss_mib"]),
        }
        for s in summary["stages"]
    ]
    wall = float(summary["wall_seconds"])
    peak = max(s["peak_rss_mib"] for s in stages)
    slowest = max(stages, key=lambda s: s["wall_seconds"])
    checks = [
        {
            "benchmark": "arena wall time (default config)",
            "ours": wall / 60,
            "unit": "min",
            "baseline": None,
            "baseline_name": "",
            "ratio": None,
            "limit": f"slowest: {slowest['name']} {slowest['wall_seconds']:.0f} s",
            "target": f"<= {TARGET_SECONDS // 60} min",
            "pass": wall <= TARGET_SECONDS,
        },
        {
            "benchmark": "arena peak RSS of a stage",
            "ours": peak,
            "unit": "MiB",
            "baseline": None,
            "baseline_name": "",
            "ratio": None,
            "limit": "",
            "target": f"<= {TARGET_MIB} MiB",
            "pass": peak <= TARGET_MIB,
        },
    ]
    for stage in stages:
        checks.append(
            {
                "benchmark": f"  stage {stage['name']}",
                "ours": stage["wall_seconds"],
                "unit": "s",
                "baseline": None,
                "baseline_name": "",
                "ratio": None,
                "limit": f"{stage['peak_rss_mib']:.0f} MiB",
                "target": "",
                "pass": None,
            }
        )
    return {"arena_wall_seconds": wall, "peak_rss_mib": peak, "stages": stages, "checks": checks}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only check the command exists")
    parser.add_argument("--out-dir", default=None, help="folder for arena.json")
    parser.add_argument("--keep", type=Path, default=None, help="run the arena in this folder")
    args = parser.parse_args(argv)
    payload = run(args.quick, args.keep)
    print_checks(payload["checks"])
    print(f"wrote {write_results(NAME, payload, args.out_dir, args.quick)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
