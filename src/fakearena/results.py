"""The result record: `results.json`, the only thing the leaderboard reads.

A record says what produced each number: task, model names, train/test manifests by sha256,
metrics (value, N, CI), seed, the resolved config, package versions, git commit and timing.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from fakearena.errors import FakearenaError
from fakearena.utils.io import atomic_write_json

SCHEMA_VERSION = 1
RESULTS_FILE = "results.json"
TRACKED_PACKAGES = (
    "fakearena",
    "torch",
    "torchvision",
    "lightning",
    "torchmetrics",
    "timm",
    "hydra-core",
    "numpy",
    "scikit-learn",
    "facenet-pytorch",
)


def now_iso() -> str:
    """Current UTC time, ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def metric(value: float, n: int | None = None, ci95: list[float] | None = None, **extra: Any):
    """One metric entry: the value with its sample count and 95% CI where there is one."""
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"metric value {value} is not finite; refuse to record it")
    entry: dict[str, Any] = {"value": value, "n": None if n is None else int(n)}
    if ci95 is not None:
        entry["ci95"] = [float(ci95[0]), float(ci95[1])]
    entry.update(extra)
    return entry


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape the numbers."""
    versions = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_commit(start: Path | None = None) -> str | None:
    """The source tree's git commit (with `-dirty` when modified), or None outside git."""
    where = start or Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5
        )
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=5,
        )
        suffix = "-dirty" if dirty.stdout.strip() else ""
        return commit.stdout.strip() + suffix
    except (OSError, subprocess.SubprocessError):
        return None


def environment() -> dict[str, Any]:
    """Machine and software facts recorded with every result."""
    import torch

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": package_versions(),
        "git_commit": git_commit(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
        "hostname": platform.node(),
    }


def invocation() -> dict[str, Any] | None:
    """The command line of the running Hydra job: command, overrides and config-group choices.

    What the user typed names a configuration better than its resolved config does (the
    leaderboard labels runs by the overrides that differ). None outside a Hydra job.
    """
    try:
        from hydra.core.hydra_config import HydraConfig

        if not HydraConfig.initialized():
            return None
        hydra = HydraConfig.get()
        choices = {
            str(k): None if v is None else str(v)
            for k, v in hydra.runtime.choices.items()
            if str(k) != "hydra" and not str(k).startswith("hydra/")
        }
        return {
            "command": str(hydra.job.name),
            "overrides": [str(o) for o in hydra.overrides.task],
            "choices": choices,
        }
    except Exception:  # a config without the hydra node (compose API)
        return None


def build_record(
    *,
    task: str,
    metrics: dict[str, dict[str, Any]],
    config: dict[str, Any],
    seed: int | None,
    started_at: str,
    wall_seconds: float,
    generator: str | None = None,
    detector: str | None = None,
    train_data: list[dict[str, Any]] | None = None,
    test_data: list[dict[str, Any]] | None = None,
    artifacts: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble a result record (schema `SCHEMA_VERSION`)."""
    record = {
        "schema_version": SCHEMA_VERSION,
        "task": task,
        "generator": generator,
        "detector": detector,
        "train_data": train_data or [],
        "test_data": test_data or [],
        "metrics": metrics,
        "seed": seed,
        "started_at": started_at,
        "ended_at": now_iso(),
        "wall_seconds": round(float(wall_seconds), 3),
        "artifacts": artifacts or {},
        "environment": environment(),
        "invocation": invocation(),
        "config": config,
    }
    if extra:
        record.update(extra)
    return record


def write_results(run_dir: str | os.PathLike[str], record: dict[str, Any]) -> Path:
    """Write `record` as `run_dir/results.json`, atomically."""
    return atomic_write_json(Path(run_dir) / RESULTS_FILE, record)


def read_results(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a `results.json` (or the one inside a run folder)."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise FakearenaError(f"No result record at {path}; is this a finished run folder?") from exc
    except json.JSONDecodeError as exc:
        raise FakearenaError(
            f"{path} is not valid JSON ({exc}); rerun the job that wrote it"
        ) from exc
    if record.get("schema_version") != SCHEMA_VERSION:
        raise FakearenaError(
            f"{path} has schema_version {record.get('schema_version')!r}, this fakearena reads "
            f"{SCHEMA_VERSION}; rerun the job with this version"
        )
    return record
