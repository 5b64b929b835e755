"""Stages of a multi-step job (the arena): each a `fakearena` command in its own process.

A separate process per stage keeps stages isolated (memory is returned, a crash is contained),
gives each its own wall time and peak RSS, and makes a stage's completion a file on disk: the
job can be rerun and continues where it stopped.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fakearena.errors import FakearenaError


@dataclass
class Stage:
    """One step: a command line, its folder, the file whose existence means it is done, and
    its wall-clock training budget in minutes (None: none; recorded in the stage report)."""

    name: str
    args: list[str]
    run_dir: Path
    done_file: Path
    budget_minutes: float | None = None

    @property
    def done(self) -> bool:
        return self.done_file.is_file()


@dataclass
class StageReport:
    """What a stage cost: wall seconds and peak resident memory of its process."""

    name: str
    status: str  # "ran" | "skipped"
    wall_seconds: float = 0.0
    peak_rss_mib: float = 0.0
    log: str = ""
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def run_stage(stage: Stage, position: str = "") -> StageReport:
    """Run `fakearena <args>` for a stage (or skip it when done); raise on failure.

    Output goes to `<run_dir>/stage.log`; a failure prints its last lines.
    """
    prefix = f"[{position}] " if position else ""
    if stage.done:
        print(f"{prefix}{stage.name}: done already ({stage.done_file}), skipped", flush=True)
        return StageReport(
            stage.name, "skipped", log=str(stage.run_dir / "stage.log"), extra=_budget(stage)
        )
    stage.run_dir.mkdir(parents=True, exist_ok=True)
    log_path = stage.run_dir / "stage.log"
    print(f"{prefix}{stage.name} ...", end="", flush=True)
    command = [sys.executable, "-m", "fakearena.cli", *stage.args]
    env = dict(os.environ, PYTHONWARNINGS=os.environ.get("PYTHONWARNINGS", "ignore"))
    start = time.perf_counter()
    with open(log_path, "w", encoding="utf-8") as log:
        log.write("$ fakearena " + " ".join(stage.args) + "\n")
        log.flush()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    peak_mib = usage.ru_maxrss / 1024.0  # Linux reports KiB
    if process.returncode != 0 or not stage.done:
        print(" failed", flush=True)
        tail = _tail(log_path, 25)
        raise FakearenaError(
            f"stage {stage.name!r} failed (exit code {process.returncode}) after {wall:.0f} s; "
            f"its log is {log_path}. Last lines:\n{tail}\nFix the cause and rerun the same "
            "command: finished stages are skipped."
        )
    budget = "" if stage.budget_minutes is None else f", budget {stage.budget_minutes:g} min"
    print(f" done in {wall:.0f} s (peak {peak_mib:.0f} MiB{budget})", flush=True)
    return StageReport(stage.name, "ran", wall, peak_mib, str(log_path), _budget(stage))


def _budget(stage: Stage) -> dict:
    return {} if stage.budget_minutes is None else {"budget_minutes": stage.budget_minutes}


def run_stages(stages: Sequence[Stage]) -> list[StageReport]:
    """Run stages in order, numbering them for the progress lines."""
    total = len(stages)
    return [run_stage(stage, f"{i}/{total}") for i, stage in enumerate(stages, start=1)]


def _tail(path: Path, lines: int) -> str:
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join("    " + line for line in text[-lines:])
