"""Finding result records and telling which runs share one configuration.

The leaderboard reads nothing but `results.json` files (and the images their `artifacts`
point to). Runs that differ only in their seed (and in where they wrote their output, or how
they logged) are one configuration; their metrics are folded into mean +- std.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fakearena.errors import FakearenaError
from fakearena.results import RESULTS_FILE, read_results

# Config keys that do not change what a run computes (or that the seed drives).
IGNORED_CONFIG_PREFIXES = (
    "seed",
    "paths",
    "hydra",
    "logger",
    "ckpt_path",
    "resume",
    "tags",
    "data.manifests",  # the data is identified by the manifests' sha256 instead
    "data.num_workers",
    "trainer.devices",
    "trainer.num_nodes",
    "trainer.enable_progress_bar",
)


@dataclass
class RunRecord:
    """One `results.json` and the folder it was read from."""

    record: dict[str, Any]
    run_dir: Path

    @property
    def kind(self) -> str:
        """ "detect" for detector runs, "generate" for generator runs (gan, faceswap, ...)."""
        return "detect" if self.record.get("task") == "detect" else "generate"

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
    """Runs of one configuration (same everything but the seed)."""

    key: str
    runs: list[RunRecord] = field(default_factory=list)
    label: str = ""

    @property
    def first(self) -> RunRecord:
        return self.runs[0]

    @property
    def seeds(self) -> list[Any]:
        return sorted((r.record.get("seed") for r in self.runs), key=lambda s: (s is None, s))


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


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one dict with dotted keys (lists kept as values)."""
    if not isinstance(tree, Mapping):
        return {prefix: tree}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, name))
        else:
            flat[name] = value
    return flat


def _ignored(key: str) -> bool:
    if key.split(".")[-1] == "seed":  # e.g. data.synthetic.seed, interpolated from ${seed}
        return True
    return any(key == p or key.startswith(p + ".") for p in IGNORED_CONFIG_PREFIXES)


def identity(run: RunRecord) -> dict[str, Any]:
    """What makes a configuration: task, model, data by sha256, and the config but the seed."""
    rec = run.record
    run_dirs = {str(run.run_dir), str((rec.get("artifacts") or {}).get("run_dir") or run.run_dir)}
    config = {
        k: v
        for k, v in flatten(rec.get("config") or {}).items()
        if not _ignored(k) and not _inside_run_dir(v, run_dirs)
    }
    return {
        "task": rec.get("task"),
        "model": run.model,
        "train_data": [ref.get("sha256") or ref.get("name") for ref in rec.get("train_data") or []],
        "config": config,
    }


def group_configurations(runs: list[RunRecord]) -> list[Configuration]:
    """Group runs into configurations and give each a readable, unique label.

    The label is the model name, plus the config values that set it apart from other
    configurations of the same model and training data (e.g. `small_cnn task.optimizer.lr=0.01`).
    """
    groups: dict[str, Configuration] = {}
    for run in runs:
        key = json.dumps(identity(run), sort_keys=True, default=str)
        groups.setdefault(key, Configuration(key)).runs.append(run)
    configurations = list(groups.values())
    by_base: dict[tuple[str, str, str], list[Configuration]] = {}
    for conf in configurations:
        base = (conf.first.kind, conf.first.model, conf.first.train_name)
        by_base.setdefault(base, []).append(conf)
    for (_, model, _), siblings in by_base.items():
        configs = [identity(c.first)["config"] for c in siblings]
        keys = sorted(set().union(*configs))
        differing = [k for k in keys if len({_text(c.get(k)) for c in configs}) > 1]
        for conf, config in zip(siblings, configs):
            parts = [f"{k}={_short(config.get(k))}" for k in differing[:3]]
            if len(differing) > 3:
                parts.append("...")
            conf.label = " ".join([model, *parts])
    _dedupe_labels(configurations)
    return configurations


def _dedupe_labels(configurations: list[Configuration]) -> None:
    """Distinguish configurations whose labels collide (same model, different train data)."""
    counts: dict[str, int] = {}
    for conf in configurations:
        counts[conf.label] = counts.get(conf.label, 0) + 1
    for conf in configurations:
        if counts[conf.label] > 1 and conf.first.kind == "detect":
            conf.label = f"{conf.label} @{conf.first.train_name}"
    seen: dict[str, int] = {}
    for conf in configurations:
        n = seen.get(conf.label, 0)
        seen[conf.label] = n + 1
        if n:
            conf.label = f"{conf.label} #{n + 1}"


def _inside_run_dir(value: Any, run_dirs: set[str]) -> bool:
    """Whether a config value is a path inside the run's own folder (differs per run)."""
    return isinstance(value, str) and any(value.startswith(d) for d in run_dirs)


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 24 else text[:21] + "..."
