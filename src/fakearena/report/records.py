"""Finding result records and telling which runs share one configuration.

The leaderboard reads nothing but `results.json` files (and the images their `artifacts`
point to). Runs that differ only in their seed (and in where they wrote their output, or how
they logged) are one configuration; their metrics are folded into mean +- std. A
`fakearena evaluate` run is a configuration of its own, tied to the training configuration
whose checkpoint it scored when that run is on the board too; names come from
`fakearena.report.naming`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fakearena.errors import FakearenaError
from fakearena.report.naming import distinguishing, flatten, ignored
from fakearena.results import RESULTS_FILE, read_results


@dataclass
class RunRecord:
    """One `results.json` and the folder it was read from."""

    record: dict[str, Any]
    run_dir: Path
    scored_seed: Any = None  # an evaluation's: the seed of the training run it scored

    @property
    def seed(self) -> Any:
        """The seed that tells this run from the others of its configuration: the training
        seed of the checkpoint for an evaluation (when known), else the run's own."""
        return self.scored_seed if self.scored_seed is not None else self.record.get("seed")

    @property
    def kind(self) -> str:
        """ "detect" for detector runs, "generate" for generator runs (gan, faceswap, ...)."""
        return "detect" if self.record.get("task") == "detect" else "generate"

    @property
    def command(self) -> str:
        """The command that wrote the record: "train", "evaluate", ... (inferred for records
        older than the `invocation` field: evaluate's config has `ckpt` and no trainer)."""
        invocation = self.record.get("invocation") or {}
        if invocation.get("command"):
            return str(invocation["command"])
        config = self.record.get("config") or {}
        return "evaluate" if "ckpt" in config and "trainer" not in config else "train"

    @property
    def checkpoint_run(self) -> Path | None:
        """The training run folder of the checkpoint an evaluate run scored (None otherwise)."""
        value = (self.record.get("artifacts") or {}).get("checkpoint")
        if not value or self.command != "evaluate":
            return None
        path = Path(value)
        return path.parent.parent if path.parent.name == "checkpoints" else path.parent

    @property
    def run_dirs(self) -> set[Path]:
        """Where the run was read from and where it was written (they differ after a move)."""
        written = (self.record.get("artifacts") or {}).get("run_dir")
        dirs = {self.run_dir.resolve()}
        if written:
            dirs.add(Path(written).resolve())
        return dirs

    @property
    def model(self) -> str:
        """The detector or generator name (the task name when neither is set)."""
        rec = self.record
        return rec.get("detector") or rec.get("generator") or str(rec.get("task", "?"))

    @property
    def train_name(self) -> str:
        """The training data's manifest name(s), joined by '+'."""
        names = [str(ref.get("name", "?")) for ref in self.record.get("train_data") or []]
        return "+".join(names) if names else "-"

    @property
    def commit(self) -> str:
        """Short git commit of the code that produced the run."""
        commit = (self.record.get("environment") or {}).get("git_commit") or "-"
        dirty = commit.endswith("-dirty")
        short = commit.removesuffix("-dirty")[:8]
        return short + ("-dirty" if dirty else "")

    def artifact_path(self, value: str) -> Path:
        """An artifact path from the record, found even when the run folder moved.

        Relative paths are relative to the run folder; an absolute path under the run folder
        the record was written in is re-rooted at the folder the record was read from.
        """
        path = Path(value)
        if not path.is_absolute():
            return self.run_dir / path
        if path.exists():
            return path
        written_in = (self.record.get("artifacts") or {}).get("run_dir")
        if written_in:
            try:
                return self.run_dir / path.relative_to(written_in)
            except ValueError:
                pass
        return path


@dataclass
class Configuration:
    """Runs of one configuration (same everything but the seed).

    `evaluates` is, for `fakearena evaluate` runs, the key of the training configuration
    whose checkpoints they scored (None when that training run is not on the board).
    """

    key: str
    runs: list[RunRecord] = field(default_factory=list)
    label: str = ""
    evaluates: str | None = None

    @property
    def evaluation(self) -> bool:
        """Whether these are `fakearena evaluate` runs (scores of an existing checkpoint)."""
        return self.first.command == "evaluate"

    @property
    def first(self) -> RunRecord:
        return self.runs[0]

    @property
    def seeds(self) -> list[Any]:
        return sorted((r.seed for r in self.runs), key=lambda s: (s is None, str(s)))


def collect_records(
    sources: Iterable[str | os.PathLike[str] | Mapping[str, Any]],
) -> list[RunRecord]:
    """Result records under folders, `results.json` files, or records given as dicts.

    A dict record is placed at its `artifacts.run_dir` (or the current folder). Raises
    FakearenaError when a path does not exist or a folder holds no `results.json`.
    """
    runs: list[RunRecord] = []
    seen: set[Path] = set()
    for source in sources:
        if isinstance(source, Mapping):
            run_dir = Path((source.get("artifacts") or {}).get("run_dir") or ".")
            runs.append(RunRecord(dict(source), run_dir))
            continue
        path = Path(source)
        if path.is_file():
            files = [path]
        elif path.is_dir():
            files = sorted(path.rglob(RESULTS_FILE))
            if not files:
                raise FakearenaError(
                    f"no {RESULTS_FILE} under {path}; give the folder of finished runs "
                    "(each run writes one when it ends)"
                )
        else:
            raise FakearenaError(f"{path} does not exist; give run folders or results.json files")
        for file in files:
            resolved = file.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            runs.append(RunRecord(read_results(file), resolved.parent))
    return runs


def identity(run: RunRecord, evaluates: str | None = None) -> dict[str, Any]:
    """What makes a configuration: command, task, model, data by sha256, the config but the
    seed and what does not change the numbers; for an evaluation also what it scored (the
    training configuration, or the checkpoint when that run is not on the board)."""
    rec = run.record
    run_dirs = {str(run.run_dir), str((rec.get("artifacts") or {}).get("run_dir") or run.run_dir)}
    config = {
        k: v
        for k, v in flatten(rec.get("config") or {}).items()
        if not ignored(k) and not _inside_run_dir(v, run_dirs)
    }
    found = {
        "command": run.command,
        "task": rec.get("task"),
        "model": run.model,
        "train_data": [_data_identity(ref) for ref in rec.get("train_data") or []],
        "config": config,
    }
    if run.command == "evaluate":
        test = [_data_identity(ref) for ref in rec.get("test_data") or []]
        scored = evaluates or str((rec.get("artifacts") or {}).get("checkpoint"))
        found.update(test_data=test, split=rec.get("split"), evaluates=scored)
    return found


def group_configurations(runs: list[RunRecord]) -> list[Configuration]:
    """Group runs into configurations and give each a readable, unique label.

    A label is the model name plus the settings that set the configuration apart from the
    others of the same model and training data (`meso4 data.image_size=128`); an evaluation
    takes the label of the training configuration it scored (its table says it is one).
    """
    trained = _group([r for r in runs if r.command != "evaluate"], {})
    _name(trained, lambda conf: conf.first.model)
    owner = {d: conf.key for conf in trained for run in conf.runs for d in run.run_dirs}
    seeds = {
        d: run.record.get("seed") for conf in trained for run in conf.runs for d in run.run_dirs
    }
    for run in runs:
        if run.checkpoint_run is not None:
            run.scored_seed = seeds.get(run.checkpoint_run.resolve())
    evaluated = _group([r for r in runs if r.command == "evaluate"], owner)
    labels = {conf.key: conf.label for conf in trained}
    _name(evaluated, lambda conf: _evaluated_name(conf, labels))
    configurations = trained + evaluated
    _dedupe_labels(configurations)
    return configurations


def _group(runs: list[RunRecord], owner: dict[Path, str]) -> list[Configuration]:
    groups: dict[str, Configuration] = {}
    for run in runs:
        scored = run.checkpoint_run
        evaluates = owner.get(scored.resolve()) if scored is not None else None
        key = json.dumps(identity(run, evaluates), sort_keys=True, default=str)
        conf = groups.setdefault(key, Configuration(key, evaluates=evaluates))
        conf.runs.append(run)
    return list(groups.values())


def _name(configurations: list[Configuration], base) -> None:
    """Label each configuration: its base name plus what sets it apart from its siblings
    (same base name, kind and training data)."""
    siblings: dict[tuple[str, str, str], list[Configuration]] = {}
    for conf in configurations:
        siblings.setdefault((conf.first.kind, base(conf), conf.first.train_name), []).append(conf)
    for (_, name, _), group in siblings.items():
        parts = distinguishing([conf.first.record for conf in group])
        for conf, shown in zip(group, parts):
            conf.label = " ".join([name, *shown])


def _evaluated_name(conf: Configuration, labels: dict[str, str]) -> str:
    """An evaluation's base name: the label of the configuration it scored, or the model and
    the folder of its checkpoint's run."""
    if conf.evaluates in labels:
        return labels[conf.evaluates]
    scored = conf.first.checkpoint_run
    return f"{conf.first.model} ({scored.name})" if scored is not None else conf.first.model


def _dedupe_labels(configurations: list[Configuration]) -> None:
    """Distinguish configurations whose labels collide (same model, different train data).

    An evaluation may share the label of the configuration it scored (another table), and
    evaluations of one configuration on different sets share it too (their test set tells
    them apart).
    """
    counts: dict[tuple[Any, ...], int] = {}
    for conf in configurations:
        counts[_label_key(conf)] = counts.get(_label_key(conf), 0) + 1
    for conf in configurations:
        if counts[_label_key(conf)] > 1 and conf.first.kind == "detect":
            conf.label = f"{conf.label} @{conf.first.train_name}"
    seen: dict[tuple[Any, ...], int] = {}
    for conf in configurations:
        n = seen.get(_label_key(conf), 0)
        seen[_label_key(conf)] = n + 1
        if n:
            conf.label = f"{conf.label} #{n + 1}"


def _label_key(conf: Configuration) -> tuple[Any, ...]:
    """What must be unique: the label, per table (and per test set for evaluations)."""
    if not conf.evaluation:
        return (False, conf.label)
    test = tuple(str(ref.get("name")) for ref in conf.first.record.get("test_data") or [])
    return (True, conf.label, test)


def _data_identity(reference: dict[str, Any]) -> Any:
    """A manifest by its content hash; data rendered in memory (no file, e.g. the synthetic
    faces, drawn from the seed) by its name, its config being part of the identity already."""
    if reference.get("sha256") and (reference.get("path") or "path" not in reference):
        return reference["sha256"]
    return reference.get("name")


def _inside_run_dir(value: Any, run_dirs: set[str]) -> bool:
    """Whether a config value is a path inside the run's own folder (differs per run)."""
    return isinstance(value, str) and any(value.startswith(d) for d in run_dirs)
