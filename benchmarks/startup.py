"""Startup: wall time and peak memory of `fakearena ... --help`, this tree vs a base commit.

    python benchmarks/startup.py [--base 98bf26f] [--repeats 3]

The base commit's `src/` and `conf/` are exported with `git archive` into a temporary folder;
each command runs as a fresh process (`python -m fakearena.cli ... --help`) from both trees,
interleaved (base, ours, base, ours, ...) so both see the same load; best of `repeats`.
Target: every `--help` under 1 s.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import RESULTS_DIR, print_table, write_results

REPO = Path(__file__).resolve().parents[1]
COMMANDS = (
    [],
    ["train"],
    ["evaluate"],
    ["generate"],
    ["arena"],
    ["detect"],
    ["fid"],
    ["faces", "extract"],
    ["data", "synth"],
    ["leaderboard"],
)
TARGET_SECONDS = 1.0


def export(commit: str, into: Path) -> Path:
    """`src/` and `conf/` of `commit` under `into`; returns the tree's root."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", commit, "src", "conf"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def timed(root: Path, args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of one `fakearena ARGS --help` from tree `root`."""
    env = dict(os.environ, PYTHONPATH=str(root / "src"), PYTHONWARNINGS="ignore")
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "fakearena.cli", *args, "--help"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"`fakearena {' '.join(args)} --help` failed in {root}")
    return seconds, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--base", default="98bf26f", help="commit to compare with")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"base": export(args.base, Path(tmp)), "ours": REPO}
        for command in COMMANDS:
            name = "fakearena " + " ".join([*command, "--help"])
            best = {tree: (float("inf"), 0.0) for tree in trees}
            for _ in range(args.repeats):
                for tree, root in trees.items():
                    seconds, mib = timed(root, command)
                    best[tree] = (min(best[tree][0], seconds), max(best[tree][1], mib))
            results[name] = {
                f"{tree}_{key}": value
                for tree, (seconds, mib) in best.items()
                for key, value in (("seconds", seconds), ("peak_mib", mib))
            }
            print(f"{name}: base {best['base'][0]:.2f} s, ours {best['ours'][0]:.2f} s", flush=True)
    checks = [
        {
            "benchmark": name,
            "ours": r["ours_seconds"],
            "unit": "s",
            "baseline": r["base_seconds"],
            "baseline_name": args.base,
            "ratio": r["base_seconds"] / r["ours_seconds"],
            "limit": f"{r['ours_peak_mib']:.0f} MiB (base {r['base_peak_mib']:.0f})",
            "target": f"< {TARGET_SECONDS:g} s",
            "pass": r["ours_seconds"] < TARGET_SECONDS,
        }
        for name, r in results.items()
    ]
    print_table(
        [
            {
                "command": c["benchmark"],
                "base": f"{c['baseline']:.2f} s",
                "ours": f"{c['ours']:.2f} s",
                "speed-up": f"{c['ratio']:.1f}x",
                "memory": c["limit"],
                "pass": "pass" if c["pass"] else "FAIL",
            }
            for c in checks
        ],
        ("command", "base", "ours", "speed-up", "memory", "pass"),
    )
    payload = {"base": args.base, "repeats": args.repeats, "results": results, "checks": checks}
    print(f"wrote {write_results('startup', payload, RESULTS_DIR)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
