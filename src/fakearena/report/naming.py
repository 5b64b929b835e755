"""Names of configurations: the model plus the settings that set it apart from its siblings.

A configuration is named by what its command line changed and what matters to its numbers
(`meso4 data.image_size=128`), never by defaults every sibling shares, nor by settings that
change how a run is carried out rather than what it computes (paths, loggers, callbacks,
devices, workers, progress bars, `_target_` class paths). A record's `invocation` (overrides
and config-group choices, written by every job since issue 17) says what was changed; older
records fall back to their resolved config.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

# Keys (and everything under them) that never name or split a configuration.
IGNORED_PREFIXES = (
    "seed",
    "paths",
    "hydra",
    "logger",
    "callbacks",
    "local",
    "ckpt",
    "ckpt_path",
    "resume",
    "tags",
    "progress",
    "device",
    "devices",
    "num_nodes",
    "num_workers",
    "batch_size",  # evaluate's: scoring in other batches gives the same numbers
    "data.manifests",  # the data is identified by the manifests' sha256 instead
    "data.num_workers",
    "trainer.devices",
    "trainer.num_nodes",
    "trainer.accelerator",
    "trainer.enable_progress_bar",
    "trainer.enable_model_summary",
    "trainer.log_every_n_steps",
    "trainer.default_root_dir",
)
# Group choices another column already shows (the model's name, the train data, the task).
SHOWN_ELSEWHERE = ("detector", "generator", "data", "task")
# Settings most worth seeing first in a name; the rest follow alphabetically.
PRIORITY = (
    "detector.",
    "generator.",
    "data.image_size",
    "data.",
    "augment",
    "task.",
    "trainer.max_epochs",
    "debug",
    "experiment",
    "perturb",
    "split",
)
MAX_PARTS = 4
MAX_VALUE = 24
# a string with a folder and one of these suffixes is a file path: names show its stem only
PATH_SUFFIXES = (".csv", ".yaml", ".yml", ".json", ".ckpt", ".pt", ".pth", ".png", ".mp4", ".npz")


def ignored(key: str) -> bool:
    """Whether a dotted config key never names or splits a configuration."""
    last = key.rsplit(".", 1)[-1]
    if last in ("seed", "_target_", "_partial_"):  # e.g. data.synthetic.seed = ${seed}
        return True
    return any(key == p or key.startswith(p + ".") for p in IGNORED_PREFIXES)


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


def settings(record: Mapping[str, Any]) -> dict[str, Any]:
    """What may name a run: `key -> value` of its overrides and group choices, values as
    resolved in its config; every (non-ignored) config value for a record without an
    invocation."""
    config = flatten(record.get("config") or {})
    invocation = record.get("invocation") or {}
    if not invocation:
        return {k: v for k, v in config.items() if not ignored(k)}
    choices = invocation.get("choices") or {}
    named: dict[str, Any] = {}
    for group, choice in choices.items():
        if group not in SHOWN_ELSEWHERE and not ignored(group):
            named[group] = choice
    for override in invocation.get("overrides") or []:
        key, _, value = str(override).lstrip("+~").partition("=")
        if key in choices or ignored(key) or key in SHOWN_ELSEWHERE:
            continue
        named[key] = config.get(key, value)
    return named


def value_of(record: Mapping[str, Any], key: str) -> Any:
    """A run's value for `key`: its group choice, else its resolved config value."""
    choices = (record.get("invocation") or {}).get("choices") or {}
    if key in choices:
        return choices[key]
    return flatten(record.get("config") or {}).get(key)


def distinguishing(records: list[Mapping[str, Any]]) -> list[list[str]]:
    """For sibling configurations (one record each): the `key=value` parts that tell each
    apart, most telling first, at most `MAX_PARTS` (then `+N more`).

    A part is left out of a name where its value says nothing: null or empty (`test_data=[]`,
    `data.sources=null`: the siblings that set it are named by it instead). A path shows its
    file's stem, never its folders (the full overrides are in the leaderboard CSV).
    """
    named = [settings(r) for r in records]
    keys = sorted(set().union(*named), key=_priority)
    differing = [k for k in keys if len({_text(value_of(r, k)) for r in records}) > 1]
    parts = []
    for record in records:
        values = [(k, value_of(record, k)) for k in differing]
        values = [(k, v) for k, v in values if not _empty(v)]
        shown = [f"{k}={_short(v)}" for k, v in values[:MAX_PARTS]]
        if len(values) > MAX_PARTS:
            shown.append(f"+{len(values) - MAX_PARTS} more")
        parts.append(shown)
    return parts


def overrides_text(record: Mapping[str, Any]) -> str:
    """Every override of a record's command line, whole (JSON list), for the CSV; a record
    without an invocation gives its naming settings (`key=value`, values in full)."""
    invocation = record.get("invocation") or {}
    if invocation:
        return json.dumps([str(o) for o in invocation.get("overrides") or []])
    return json.dumps([f"{k}={_text(v)}" for k, v in sorted(settings(record).items())])


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, (list, tuple, dict)) and not value)


def _looks_like_path(text: str) -> bool:
    """An absolute or relative file path (not a source name such as `ffpp/Deepfakes`)."""
    if text.startswith(("/", "~", "./", "../")) or re.match(r"^[A-Za-z]:[\\/]", text):
        return True
    return "/" in text and PurePosixPath(text).suffix.lower() in PATH_SUFFIXES


def _priority(key: str) -> tuple[int, str]:
    for rank, prefix in enumerate(PRIORITY):
        if key == prefix.rstrip(".") or key.startswith(prefix):
            return rank, key
    return len(PRIORITY), key


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _short(value: Any) -> str:
    """A value as a name shows it: paths by their stem, lists unquoted, at most MAX_VALUE."""
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        text = "[" + ",".join(_short_item(v) for v in value) + "]"
    else:
        text = _short_item(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def _short_item(value: Any) -> str:
    if isinstance(value, str):
        return PurePosixPath(value.replace("\\", "/")).stem if _looks_like_path(value) else value
    return json.dumps(value, default=str)
