"""Shared benchmark helpers: timing, machine info, matmul rate, the summary table, JSON results.

Every benchmark module exposes `run(quick: bool) -> dict` returning a payload with a `checks`
list (rows of the summary table, built with `check`) plus whatever detail it measured, and a
`main(argv)` that runs it alone (`python benchmarks/<name>.py [--quick]`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
QUICK_DIR = RESULTS_DIR / "quick"  # smoke-run results (git-ignored): never a timing record
TABLE_COLUMNS = ("benchmark", "ours", "baseline", "ratio", "limit", "target", "pass")


def best_time(function: Callable[[], Any], repeats: int = 3, warmup: int = 1) -> float:
    """Fastest wall time of `repeats` calls after `warmup` calls (the CPU is shared: noisy)."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def paired_best(
    functions: dict[str, Callable[[], Any]], repeats: int = 3, warmup: int = 1
) -> dict[str, float]:
    """Fastest wall time of each function, calls interleaved (A B A B ...).

    On a shared machine the load changes over seconds; interleaving gives every contender the
    same chance of a quiet moment, so their ratio is fairer than from back-to-back loops.
    """
    for function in functions.values():
        for _ in range(warmup):
            function()
    best = {name: float("inf") for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def matmul_gflops(size: int = 2048, repeats: int = 3) -> float:
    """This machine's fp32 torch matmul rate now, in GFLOP/s (2 n^3 per product)."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    return 2 * size**3 / best_time(lambda: a @ b, repeats) / 1e9


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def machine_info() -> dict[str, Any]:
    """CPU, threads, load and package versions: what a number depends on."""
    import numpy
    import torch

    return {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average": load_average(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def check(
    benchmark: str,
    *,
    ours: float,
    unit: str,
    baseline: float | None = None,
    baseline_name: str = "",
    ratio: float | None = None,
    limit: str = "",
    target: str = "",
    passed: bool | None = None,
) -> dict[str, Any]:
    """One row of the summary table. `ratio` defaults to ours / baseline.

    `passed` is None where the benchmark has no target (a measurement, not a goal).
    """
    if ratio is None and baseline:
        ratio = ours / baseline
    return {
        "benchmark": benchmark,
        "ours": ours,
        "unit": unit,
        "baseline": baseline,
        "baseline_name": baseline_name,
        "ratio": ratio,
        "limit": limit,
        "target": target,
        "pass": passed,
    }


def table_rows(checks: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """Checks as printable cells."""
    rows = []
    for c in checks:
        unit = c.get("unit", "")
        baseline = c.get("baseline")
        base = "" if baseline is None else f"{_fmt(baseline)} {unit}".strip()
        if c.get("baseline_name"):
            base = f"{base} ({c['baseline_name']})" if base else c["baseline_name"]
        verdict = {True: "pass", False: "FAIL", None: "-"}[c.get("pass")]
        rows.append(
            {
                "benchmark": c["benchmark"],
                "ours": f"{_fmt(c['ours'])} {unit}".strip(),
                "baseline": base,
                "ratio": "" if c.get("ratio") is None else f"{c['ratio']:.3g}x",
                "limit": c.get("limit", ""),
                "target": c.get("target", ""),
                "pass": verdict,
            }
        )
    return rows


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """A plain aligned text table."""
    cells = [[_fmt(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def print_checks(checks: Sequence[dict[str, Any]]) -> None:
    print_table(table_rows(checks), TABLE_COLUMNS)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if value is None:
        return ""
    return str(value)


def results_dir(quick: bool, out_dir: str | Path | None = None) -> Path:
    """Where JSON goes: `out_dir`, else results/ (full runs) or results/quick/ (smoke runs)."""
    if out_dir is not None:
        return Path(out_dir)
    return QUICK_DIR if quick else RESULTS_DIR


def write_results(
    name: str, payload: dict[str, Any], out_dir: str | Path | None = None, quick: bool = False
) -> Path:
    """Write `<dir>/<name>.json` with the machine info and the wall time of the benchmark."""
    directory = results_dir(quick, out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    record = {"benchmark": name, "quick": quick, "machine": machine_info(), **payload}
    return write_json(path, record)


def write_json(path: str | Path, record: Any, indent: int = 2) -> Path:
    """Write `record` as JSON atomically (a temporary file beside it, then a rename), creating
    its folder: an interrupted benchmark never leaves a half-written results file."""
    from fakearena.utils.io import atomic_write_text  # gpu_check imports this module first

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(record, indent=indent, default=_json_default) + "\n")
    return path


def _json_default(value: Any) -> Any:
    import numpy

    if isinstance(value, numpy.generic):
        return value.item()
    if isinstance(value, numpy.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def standalone(
    name: str, run: Callable[[bool], dict[str, Any]], argv: list[str] | None, doc: str | None
) -> int:
    """`main` of a benchmark module: parse --quick/--out-dir, run, print the checks, write JSON."""
    parser = argparse.ArgumentParser(description=(doc or name).strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="seconds-long smoke version")
    parser.add_argument("--out-dir", default=None, help="folder for <name>.json")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    payload = run(args.quick)
    payload["wall_seconds"] = round(time.perf_counter() - start, 2)
    print_checks(payload["checks"])
    path = write_results(name, payload, args.out_dir, args.quick)
    print(f"wrote {path}")
    return 0


def ensure_importable() -> None:
    """Let `python benchmarks/<name>.py` import `benchmarks._common` and `fakearena` (src/)."""
    root = Path(__file__).resolve().parents[1]
    for entry in (root / "src", root):
        if str(entry) not in sys.path:
            sys.path.insert(0, str(entry))
