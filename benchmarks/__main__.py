"""The performance suite: `python -m benchmarks [--quick] [--only NAME ...]`.

Runs each benchmark (ours against its baseline in the same run, beside the machine's limit),
prints one table and writes `benchmarks/results/<name>.json` (with `--quick`, a seconds-long
smoke version, to `benchmarks/results/quick/`: never a timing record). Every benchmark also
runs alone: `python benchmarks/<name>.py [--quick]`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import (
    ensure_importable,
    load_average,
    print_checks,
    write_results,
)

ensure_importable()

# name -> module under benchmarks/ (each has `run(quick) -> payload with "checks"`)
BENCHMARKS = (
    "fid_features",
    "train_step",
    "data_loading",
    "crop_formats",
    "compile_speed",
    "faces",
    "synthetic",
    "metrics",
    "arena",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="seconds-long smoke versions")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, help="run only these")
    parser.add_argument("--out-dir", default=None, help="folder for the JSON files")
    args = parser.parse_args(argv)
    names = args.only or list(BENCHMARKS)
    checks, failed = [], []
    print(f"load average at start: {load_average()}", flush=True)
    for name in names:
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        try:
            payload = importlib.import_module(f"benchmarks.{name}").run(args.quick)
        except Exception:  # one broken benchmark must not hide the others' numbers
            traceback.print_exc()
            failed.append(name)
            checks.append({"benchmark": name, "ours": "error", "unit": "", "pass": False})
            continue
        payload["wall_seconds"] = round(time.perf_counter() - start, 2)
        path = write_results(name, payload, args.out_dir, args.quick)
        print(f"   {payload['wall_seconds']:.1f} s, wrote {path}", flush=True)
        checks += payload["checks"]
    print(f"\nload average at end: {load_average()}")
    print_checks(checks)
    if failed:
        print(f"\nbenchmarks that raised: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
