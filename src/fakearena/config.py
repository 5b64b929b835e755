"""Where the Hydra configs live, and composing them outside the CLI (tests, scripts, notebooks).

Installed from a wheel, the configs are package data (`fakearena/conf`); in a source checkout
they are the top-level `conf/` folder. Importing this module registers the `${if_cuda:A,B}`
resolver (A where CUDA is present, else B) that `conf/trainer/auto.yaml` uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from fakearena.errors import ConfigError


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


def compose(config_name: str, overrides: Sequence[str] = ()) -> DictConfig:
    """Compose a primary config with overrides, as the CLI would (no output folder is made).

    `hydra.runtime`/`hydra.job` interpolations are resolved by Hydra's compose API, so configs
    using `${hydra:...}` need `return_hydra_config=True`; the run functions read `paths`.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return hydra_compose(config_name=config_name, overrides=list(overrides))


def to_container(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config as plain dicts (for results.json); unresolvable keys are kept raw."""
    try:
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    except Exception:
        return OmegaConf.to_container(cfg, resolve=False)  # type: ignore[return-value]


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
