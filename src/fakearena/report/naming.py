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
from collections.abc import Mapping
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
    apart, most telling first, at most `MAX_PARTS` (then `+N more`)."""
    named = [settings(r) for r in records]
    keys = sorted(set().union(*named), key=_priority)
    differing = [k for k in keys if len({_text(value_of(r, k)) for r in records}) > 1]
    parts = []
    for record in records:
        shown = [f"{k}={_short(value_of(record, k))}" for k in differing[:MAX_PARTS]]
        if len(differing) > MAX_PARTS:
            shown.append(f"+{len(differing) - MAX_PARTS} more")
        parts.append(shown)
    return parts


def _priority(key: str) -> tuple[int, str]:
    for rank, prefix in enumerate(PRIORITY):
        if key == prefix.rstrip(".") or key.startswith(prefix):
            return rank, key
    return len(PRIORITY), key


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _short(value: Any) -> str:
    if value is None:
        return "null"
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"
