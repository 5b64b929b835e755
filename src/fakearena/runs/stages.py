"""Stages of a multi-step job (arena, protocol): each a `fakearena` command in its own process.

A separate process per stage keeps stages isolated (memory is returned, a crash is contained),
gives each its own wall time and peak RSS, and makes a stage's completion a file on disk: the
job can be rerun and continues where it stopped. A stage counts as done only when its done
file exists and `stage.json` in its folder records the same inputs (`stage_inputs`: composed
config and input files' sha256) as the stage has now; otherwise it reruns, and the folder of
the previous attempt is moved aside (`replaced_dir`), never overwritten.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fakearena.errors import FakearenaError
from fakearena.runs.stage_inputs import StageInputs, stage_inputs
from fakearena.utils.io import atomic_write_json
from fakearena.utils.set_aside import set_aside

RECORD_FILE = "stage.json"
LOG_FILE = "stage.log"
ERROR_PREFIX = "fakearena: error:"


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
    def finished(self) -> bool:
        """The done file exists (for whatever inputs)."""
        return self.done_file.is_file()

    def recorded_inputs(self) -> dict | None:
        """The inputs `stage.json` records for the finished run in the folder, if any."""
        path = self.run_dir / RECORD_FILE
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None


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


def rerun_reason(stage: Stage, inputs: StageInputs) -> str | None:
    """Why the stage must run (None: done with these inputs), as a phrase for the console."""
    recorded = stage.recorded_inputs()
    if not stage.finished:
        if not _has_files(stage.run_dir):
            return None  # never started: nothing to replace
        return f"the previous attempt did not finish (no {stage.done_file.name}: failed or killed)"
    if recorded is None:
        return f"{RECORD_FILE} is missing, so the inputs of its result are unknown"
    if recorded.get("fingerprint") == inputs.fingerprint:
        return None
    changes = inputs.changes_from(recorded)
    shown = "; ".join(changes[:4]) + (f"; +{len(changes) - 4} more" if len(changes) > 4 else "")
    return f"its inputs changed ({shown or 'the fingerprint differs'})"


def run_stage(stage: Stage, position: str = "", replaced_dir: Path | None = None) -> StageReport:
    """Run `fakearena <args>` for a stage, or skip it when done with the same inputs; raise on
    failure with the child's error lines in the message.

    Output goes to `<run_dir>/stage.log`. A previous attempt with other inputs (or an
    unfinished one) is moved to `replaced_dir/<timestamp>/` (default: beside the folder).
    """
    prefix = f"[{position}] " if position else ""
    inputs = stage_inputs(stage.args)
    if stage.finished and rerun_reason(stage, inputs) is None:
        print(f"{prefix}{stage.name}: done already ({stage.done_file}), skipped", flush=True)
        return StageReport(
            stage.name, "skipped", log=str(stage.run_dir / LOG_FILE), extra=_budget(stage)
        )
    reason = rerun_reason(stage, inputs)
    if reason is not None and stage.run_dir.exists():
        moved = set_aside(stage.run_dir, replaced_dir, _relative_name(stage.run_dir, replaced_dir))
        print(f"{prefix}{stage.name}: reruns: {reason}; the previous run is kept in {moved}")
    stage.run_dir.mkdir(parents=True, exist_ok=True)
    log_path = stage.run_dir / LOG_FILE
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
    if process.returncode != 0 or not stage.finished:
        print(" failed", flush=True)
        raise FakearenaError(failure_message(stage, process.returncode, wall, log_path))
    atomic_write_json(stage.run_dir / RECORD_FILE, {**inputs.to_dict(), "args": stage.args})
    budget = "" if stage.budget_minutes is None else f", budget {stage.budget_minutes:g} min"
    print(f" done in {wall:.0f} s (peak {peak_mib:.0f} MiB{budget})", flush=True)
    return StageReport(stage.name, "ran", wall, peak_mib, str(log_path), _budget(stage))


def failure_message(stage: Stage, returncode: int, wall: float, log_path: Path) -> str:
    """The cause (the child's error lines, else its last lines), the kept log and the fix."""
    if not log_path.is_file():
        return (
            f"stage {stage.name!r} failed (exit code {returncode}) after {wall:.0f} s and its "
            f"log {log_path} is gone; run it by hand to see why: fakearena " + " ".join(stage.args)
        )
    lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    causes = [line[len(ERROR_PREFIX) :].strip() for line in lines if line.startswith(ERROR_PREFIX)]
    if returncode == 0:
        causes.append(f"it ended without writing {stage.done_file}")
    elif returncode < 0:
        causes.append(f"it was killed by signal {-returncode}")
    cause = "\n".join(f"    {c}" for c in causes) or "\n".join(f"    {x}" for x in lines[-25:])
    return (
        f"stage {stage.name!r} failed (exit code {returncode}) after {wall:.0f} s:\n{cause}\n"
        f"Its full log is kept in {log_path}. Fix the cause and rerun the same command: "
        "finished stages with unchanged inputs are skipped."
    )


def _relative_name(run_dir: Path, replaced_dir: Path | None) -> str | None:
    """`detectors/meso4` for a stage folder inside the job folder that holds `replaced_dir`."""
    if replaced_dir is None:
        return None
    try:
        return run_dir.relative_to(replaced_dir.parent).as_posix()
    except ValueError:
        return None


def _has_files(folder: Path) -> bool:
    return folder.is_dir() and any(folder.iterdir())


def _budget(stage: Stage) -> dict:
    return {} if stage.budget_minutes is None else {"budget_minutes": stage.budget_minutes}


def run_stages(stages: Sequence[Stage], replaced_dir: Path | None = None) -> list[StageReport]:
    """Run stages in order, numbering them for the progress lines."""
    total = len(stages)
    return [
        run_stage(stage, f"{i}/{total}", replaced_dir) for i, stage in enumerate(stages, start=1)
    ]
