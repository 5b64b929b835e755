"""Where the Hydra configs live, and composing them outside the CLI (tests, scripts, notebooks).

Installed from a wheel, the configs are package data (`fakearena/conf`); in a source checkout
they are the top-level `conf/` folder. Importing this module registers the `${if_cuda:A,B}`
resolver (A where CUDA is present, else B) that `conf/trainer/auto.yaml` uses.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from fakearena.errors import ConfigError, FakearenaError


def cuda_available() -> bool:
    """Whether torch sees a CUDA device: what `device=auto` and `trainer=auto` both ask."""
    import torch

    return bool(torch.cuda.is_available())


def _if_cuda(on_cuda: Any, otherwise: Any) -> Any:
    return on_cuda if cuda_available() else otherwise


if not OmegaConf.has_resolver("if_cuda"):
    OmegaConf.register_new_resolver("if_cuda", _if_cuda)


def config_dir() -> Path:
    """The folder holding `train.yaml` and the config groups."""
    package_dir = Path(__file__).resolve().parent
    candidates = (package_dir / "conf", package_dir.parents[1] / "conf")
    for candidate in candidates:
        if (candidate / "train.yaml").is_file():
            return candidate
    raise ConfigError(
        "fakearena cannot find its configs (looked in "
        + ", ".join(str(c) for c in candidates)
        + "); reinstall the package with `pip install .` from the repository root"
    )


DATA_ENV = "FAKEARENA_DATA"  # `paths.data_dir`: where the public datasets' manifests are built
# What `paths.data_dir` holds while FAKEARENA_DATA is unset or empty: a path that never exists,
# reads as "the variable was not expanded" and is never a relative ./data folder by accident.
UNSET_DATA_DIR = "$" + DATA_ENV


def data_dir_from_env() -> str:
    """`${fakearena_data_dir:}` (conf/paths): FAKEARENA_DATA, or UNSET_DATA_DIR when unset/empty."""
    value = os.environ.get(DATA_ENV, "").strip()
    return value or UNSET_DATA_DIR


if not OmegaConf.has_resolver("fakearena_data_dir"):  # conf/paths: paths.data_dir
    OmegaConf.register_new_resolver("fakearena_data_dir", data_dir_from_env)


def compose_data_config(name: str, seed: int = 0) -> DictConfig:
    """The data config `conf/data/<name>.yaml`, composed as `fakearena train data=<name>` would.

    Inside a running Hydra job (the CLI) Hydra's own compose is used; elsewhere a fresh one.
    """
    from hydra.core.global_hydra import GlobalHydra

    overrides = [f"data={name}", f"seed={seed}"]
    if GlobalHydra.instance().is_initialized():
        from hydra import compose as hydra_compose

        return hydra_compose(config_name="train", overrides=overrides).data
    return compose("train", overrides).data


def compose(config_name: str, overrides: Sequence[str] = ()) -> DictConfig:
    """Compose a primary config with overrides, as the CLI would (no output folder is made).

    `hydra.runtime`/`hydra.job` interpolations are resolved by Hydra's compose API, so configs
    using `${hydra:...}` need `return_hydra_config=True`; the run functions read `paths`.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return hydra_compose(config_name=config_name, overrides=list(overrides))


def to_container(cfg: DictConfig, warnings: list[str] | None = None) -> dict[str, Any]:
    """The resolved config as plain dicts (for results.json).

    When some interpolation cannot be resolved, the whole config is returned unresolved (every
    `${...}` as written) and, when `warnings` is given, a sentence naming the key, the reason
    and the fix is appended to it, for results.json `warnings` and the console.
    """
    try:
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    except Exception as error:
        if warnings is not None:
            warnings.append(unresolved_config_warning(error))
        return OmegaConf.to_container(cfg, resolve=False)  # type: ignore[return-value]


def unresolved_config_warning(error: Exception) -> str:
    """The sentence for a config that `OmegaConf.to_container(resolve=True)` could not resolve."""
    key = getattr(error, "full_key", None)
    cause: BaseException | None = error  # OmegaConf wraps what the resolver raised
    while cause is not None and not isinstance(cause, KeyError):
        cause = cause.__cause__ or cause.__context__
    text = cause.args[0] if cause is not None and cause.args else str(error)
    reason = " ".join(str(text).split("\n")[0].split())
    where = f"config key {key}" if key else "the config"
    return (
        f"{where} could not be resolved ({reason}), so results.json `config` holds the whole "
        "config unresolved (every ${...} as written, not the value the run used); set what "
        "it names (e.g. the environment variable) or give the key a plain value"
    )


def composition_error(config_name: str, overrides: Sequence[str], error: Exception) -> ConfigError:
    """A failed Hydra composition as one paragraph naming the key and the likely fix.

    An unknown key gets the closest existing one (`trainer.max_epoch=3`: did you mean
    trainer.max_epochs=3?), an unknown group option the closest option and the list; other
    failures (override syntax) keep Hydra's text on one line.

    Args:
        config_name: the primary config (`train`, `evaluate`, ...), also the command name.
        overrides: the command line's overrides.
        error: what Hydra raised while composing.
    """
    from hydra.errors import MissingConfigException, OverrideParseException

    command = f"`fakearena {config_name}`"
    if isinstance(error, OverrideParseException):
        return ConfigError(
            f"{command}: cannot read the override {error.override!r} "
            f"({' '.join(str(error).split())}); overrides are key=value"
        )
    if isinstance(error, MissingConfigException) and error.options and error.missing_cfg_file:
        group, _, option = str(error.missing_cfg_file).rpartition("/")
        close = difflib.get_close_matches(option, list(error.options), n=1, cutoff=0.6)
        hint = f"did you mean {group}={close[0]}? " if close else ""
        return ConfigError(
            f"{command}: {group}={option} is not an option of {group}; {hint}options are: "
            f"{', '.join(error.options)} (the files in conf/{group}/)"
        )
    match = re.match(r"Could not override '([^']+)'", str(error))
    if match is None:
        return ConfigError(f"{command}: " + " ".join(str(error).split()))
    key = match.group(1)
    given = next((o for o in overrides if _override_key(o) == key), f"{key}=...")
    value = given.split("=", 1)[1] if "=" in given else "..."
    keys = _config_keys(config_name, [o for o in overrides if _override_key(o) != key])
    close = closest_key(key, keys)
    if close is not None:
        return ConfigError(
            f"{command}: {key} is not a config key; did you mean {close}={value}? "
            f"(`fakearena {config_name} --cfg job` prints every key)"
        )
    parent = key.rpartition(".")[0]
    siblings = sorted(
        {k[len(parent) + 1 :].split(".")[0] for k in keys if k.startswith(parent + ".")}
    )
    listing = f"; keys under {parent}: {', '.join(siblings)}" if parent and siblings else ""
    return ConfigError(
        f"{command}: {key} is not a config key{listing}. +{key}={value} would add it, which "
        "only helps where the code reads it (e.g. a Lightning Trainer argument under trainer); "
        f"`fakearena {config_name} --cfg job` prints every key"
    )


def closest_key(key: str, keys: Sequence[str]) -> str | None:
    """The existing dotted key `key` most likely meant, or None.

    A close name under the same parent (`trainer.max_epoch` -> `trainer.max_epochs`), else
    the one key elsewhere with exactly that name (`trainer.image_size` -> `data.image_size`).
    """
    parent, _, name = key.rpartition(".")
    close = difflib.get_close_matches(name, _children(parent, keys), n=1, cutoff=0.6)
    if close:
        return f"{parent}.{close[0]}" if parent else close[0]
    elsewhere = [k for k in keys if k.rpartition(".")[2] == name and k != key]
    return elsewhere[0] if len(elsewhere) == 1 else None


def _children(parent: str, keys: Sequence[str]) -> list[str]:
    """The names directly under `parent` ("" for the top level) among dotted `keys`."""
    prefix = parent + "." if parent else ""
    return sorted({k[len(prefix) :].split(".")[0] for k in keys if k.startswith(prefix)})


def _override_key(override: str) -> str:
    """The key of a `key=value` override (without `+`, `++`, `~` or a `@package`)."""
    return override.split("=", 1)[0].lstrip("+~").split("@", 1)[0]


def _config_keys(config_name: str, overrides: Sequence[str]) -> list[str]:
    """Every dotted key (nodes and leaves) of the composed config; [] when it cannot compose."""
    for attempt in (overrides, ()):
        try:
            tree = OmegaConf.to_container(compose(config_name, attempt), resolve=False)
        except Exception:
            continue
        return sorted(_dotted(tree))
    return []


def _dotted(tree: Any, prefix: str = "") -> set[str]:
    keys = set()
    if isinstance(tree, dict):
        for name, value in tree.items():
            key = f"{prefix}{name}"
            keys.add(key)
            keys |= _dotted(value, key + ".")
    return keys


def instantiation_error(error: BaseException) -> FakearenaError | None:
    """The user error behind a failed `hydra.utils.instantiate`, or None for a bug.

    Hydra wraps what a constructor raised; a `FakearenaError` inside is returned as it is, and
    an unexpected keyword argument (a key the class does not take, e.g. `+trainer.max_epoch`)
    becomes a ConfigError naming the key and the closest argument.
    """
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, FakearenaError):
            return cause
        if isinstance(cause, TypeError):
            return _unexpected_argument(error, cause)
        cause = cause.__cause__
    return None


def _unexpected_argument(error: BaseException, cause: TypeError) -> ConfigError | None:
    found = re.search(r"unexpected keyword argument '([^']+)'", str(cause))
    target = re.search(r"target '([^']+)'", str(error))
    if found is None or target is None:
        return None
    import inspect

    from hydra.utils import get_method

    full_key = re.search(r"full_key: (\S+)", str(error))
    node = full_key.group(1) if full_key else ""
    key = f"{node}.{found.group(1)}" if node else found.group(1)
    try:
        accepted = list(inspect.signature(get_method(target.group(1))).parameters)
    except Exception:
        accepted = []
    close = difflib.get_close_matches(found.group(1), accepted, n=1, cutoff=0.6)
    hint = f"did you mean {node + '.' if node else ''}{close[0]}? " if close else ""
    return ConfigError(
        f"{key} is not an argument of {target.group(1)}; {hint}remove it or use an argument "
        "that class takes"
    )


_INTERNAL_GROUPS = ("hydra", "local")


def _defaults_list(config_file: Path) -> list[Any]:
    import yaml

    data = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    return list(data.get("defaults") or [])


def config_groups(config_name: str) -> dict[str, tuple[list[str], str | None]]:
    """Groups a primary config composes: group -> (its options, the default or None).

    Read from the files only (no Hydra, no composition), so it is fast enough for `--help`.
    """
    root = config_dir()
    groups: dict[str, tuple[list[str], str | None]] = {}
    for entry in _defaults_list(root / f"{config_name}.yaml"):
        if not isinstance(entry, dict):
            continue
        for key, default in entry.items():
            group = key.split()[-1]  # "optional local" -> "local"
            if group in _INTERNAL_GROUPS or not (root / group).is_dir():
                continue
            options = sorted(p.stem for p in (root / group).glob("*.yaml"))
            groups[group] = (options, None if default is None else str(default))
    return groups


def job_help(command: str, config_name: str, summary: str, note: str = "") -> str:
    """`fakearena <command> --help` of a job command: summary, `note`, groups and keys.

    Read from the config files only (no Hydra import: its own help takes seconds).
    """
    lines = [
        f"usage: fakearena {command} [key=value ...] [-m] [--cfg job] [--hydra-help]",
        "",
        summary,
    ]
    if note:
        lines += ["", note]
    groups = config_groups(config_name)
    if groups:
        lines += ["", "config groups (group=option; * marks the default):"]
        width = max(len(group) for group in groups)
        for group, (options, default) in groups.items():
            shown = ", ".join(f"{o}*" if o == default else o for o in options)
            lines.append(f"  {group:<{width}}  {shown}" + ("" if default else "  (default: none)"))
    body = (config_dir() / f"{config_name}.yaml").read_text(encoding="utf-8").splitlines()
    keys = _without_defaults_block(body)
    lines += ["", f"keys (conf/{config_name}.yaml):", *(f"  {line}" for line in keys)]
    lines += [
        "",
        f"`fakearena {command} --cfg job` prints the composed config, `-m` sweeps "
        "comma-separated values, `--hydra-help` lists Hydra's own options.",
    ]
    return "\n".join(lines)


def _without_defaults_block(lines: list[str]) -> list[str]:
    """A primary config's text minus its `defaults:` list (shown as groups instead)."""
    out, skipping = [], False
    for line in lines:
        if line.startswith("defaults:"):
            skipping = True
            continue
        if skipping and (line.startswith((" ", "-")) or not line.strip()):
            continue
        skipping = False
        out.append(line)
    while out and not out[-1].strip():
        out.pop()
    return out
