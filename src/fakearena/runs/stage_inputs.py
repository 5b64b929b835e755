"""What a stage's result depends on: its composed config and the sha256 of its input files.

A stage is done only when its result was made from the same inputs: the parent composes the
stage's command line as the child will (`conf/<command>.yaml` plus the overrides), resolves it,
drops what does not change the result (`paths`, `hydra.*`: where outputs go), and hashes every
manifest and checkpoint the config names, a `test_data` entry that is a data config included.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from fakearena.config import compose, config_dir
from fakearena.utils.io import sha256_file

IGNORED_KEYS = ("paths",)
INPUT_SUFFIXES = (".csv", ".ckpt")


@dataclass
class StageInputs:
    """A stage's settings (dotted key -> resolved value) and input files (path -> sha256)."""

    settings: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """One sha256 over settings and file hashes: equal fingerprints, equal inputs."""
        text = json.dumps({"settings": self.settings, "files": self.files}, sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "settings": self.settings, "files": self.files}

    def changes_from(self, previous: dict[str, Any]) -> list[str]:
        """What differs from a recorded `to_dict()`, as `key: old -> new` lines."""
        lines = []
        for kind, now in (("settings", self.settings), ("files", self.files)):
            before = previous.get(kind) or {}
            for key in sorted(set(now) | set(before)):
                if now.get(key) != before.get(key):
                    old, new = before.get(key, "(unset)"), now.get(key, "(unset)")
                    label = key if kind == "settings" else f"sha256 of {key}"
                    lines.append(f"{label}: {_short(old)} -> {_short(new)}")
        return lines


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


def stage_inputs(args: list[str]) -> StageInputs:
    """The inputs of `fakearena <args>` (`args[0]` is the command)."""
    command, overrides = args[0], [a for a in args[1:] if not a.startswith("hydra.")]
    if not (config_dir() / f"{command}.yaml").is_file():  # a plain tool: its arguments
        settings = {"args": overrides}
        return StageInputs(settings, _hash_files(_file_values(overrides)))
    try:
        cfg = _compose(command, overrides)
    except Exception as error:  # the child will say what is wrong with its command line
        return StageInputs({"args": overrides, "composition_error": str(error)[:200]})
    settings = {k: v for k, v in _leaves(cfg).items() if k.split(".")[0] not in IGNORED_KEYS}
    paths = _file_values(settings.values())
    for entry in cfg.get("test_data") or []:
        if not str(entry).endswith(".csv"):  # a data config: the manifests it names
            paths += _data_config_files(command, overrides, str(entry))
    return StageInputs(settings, _hash_files(paths))


def _compose(config_name: str, overrides: list[str]) -> DictConfig:
    """Compose like the child will: inside a running Hydra app, with its search path."""
    from hydra import compose as hydra_compose
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        return hydra_compose(config_name=config_name, overrides=overrides)
    return compose(config_name, overrides)


def _data_config_files(command: str, overrides: list[str], entry: str) -> list[str]:
    try:
        data = _compose(command, [*overrides, f"data={entry}"]).data
        return _file_values(_leaves(data).values())
    except Exception:  # an unknown name: the child's preflight names it
        return []


def _leaves(node: DictConfig | ListConfig, prefix: str = "") -> dict[str, Any]:
    """Dotted key -> resolved value of every leaf; a leaf that cannot resolve keeps its text."""
    leaves: dict[str, Any] = {}
    keys = range(len(node)) if isinstance(node, ListConfig) else list(node.keys())
    for key in keys:
        dotted = f"{prefix}{key}"
        if OmegaConf.is_missing(node, key):
            leaves[dotted] = "???"
            continue
        try:
            value = node[key]
        except Exception:
            leaves[dotted] = str(node._get_node(key)._value())  # type: ignore[union-attr]
            continue
        if isinstance(value, (DictConfig, ListConfig)):
            inner = _leaves(value, f"{dotted}.")
            leaves.update(inner or {dotted: [] if isinstance(value, ListConfig) else {}})
        else:
            leaves[dotted] = value
    return leaves


def _file_values(values: Any) -> list[str]:
    """Strings among `values` (and inside `[a,b]` overrides) that name manifests/checkpoints."""
    found = []
    for value in values:
        if not isinstance(value, str):
            continue
        text = value.split("=", 1)[-1].strip("[]'\"")
        for part in text.split(","):
            part = part.strip().strip("'\"")
            if part.endswith(INPUT_SUFFIXES):
                found.append(part)
    return found


def _hash_files(paths: list[str]) -> dict[str, str]:
    """sha256 of each file, its card (`.yaml` beside a manifest) folded in; 'missing' if absent."""
    hashes = {}
    for text in dict.fromkeys(paths):
        path = Path(text)
        if not path.is_file():
            hashes[text] = "missing"
            continue
        digest = sha256_file(path)
        card = path.with_suffix(".yaml")
        if path.suffix == ".csv" and card.is_file():
            digest = hashlib.sha256((digest + sha256_file(card)).encode()).hexdigest()
        hashes[text] = digest
    return hashes
