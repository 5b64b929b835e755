"""Where the Hydra configs live, and composing them outside the CLI (tests, scripts, notebooks).

Installed from a wheel, the configs are package data (`fakearena/conf`); in a source checkout
they are the top-level `conf/` folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from fakearena.errors import ConfigError


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
