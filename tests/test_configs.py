"""Every config file composes; the primary configs compose with their defaults."""

from __future__ import annotations

import pytest
from hydra.utils import get_object
from omegaconf import OmegaConf

from fakearena.config import compose, config_dir

CONF = config_dir()
PRIMARY = sorted(p.stem for p in CONF.glob("*.yaml"))
GROUP_FILES = sorted(
    (p.parent.name, p.stem)
    for p in CONF.glob("*/*.yaml")
    if p.parent.name not in ("hydra", "local")
)


def test_configs_live_in_the_repository_conf_folder():
    assert (CONF / "train.yaml").is_file()
    assert {"data", "task", "detector", "generator", "trainer", "logger", "callbacks"} <= {
        p.name for p in CONF.iterdir() if p.is_dir()
    }


@pytest.mark.parametrize("name", PRIMARY)
def test_primary_config_composes(name: str):
    cfg = compose(name)
    assert "seed" in cfg or "paths" in cfg


@pytest.mark.parametrize(("group", "option"), GROUP_FILES, ids=[f"{g}/{o}" for g, o in GROUP_FILES])
def test_every_group_option_composes(group: str, option: str):
    cfg = compose("train", [f"{group}={option}"])
    node = cfg.get(group)
    node = OmegaConf.to_container(node, resolve=False) if node is not None else {}
    for target in _targets(node):
        assert callable(get_object(target)), f"{group}/{option}: _target_ {target} is not callable"


def _targets(node: object) -> list[str]:
    """Every `_target_` string inside a config node."""
    if isinstance(node, dict):
        found = [node["_target_"]] if isinstance(node.get("_target_"), str) else []
        return found + [t for value in node.values() for t in _targets(value)]
    if isinstance(node, list):
        return [t for value in node for t in _targets(value)]
    return []


def test_unknown_option_lists_the_available_ones():
    from hydra.errors import MissingConfigException

    with pytest.raises(MissingConfigException, match="small_cnn"):
        compose("train", ["detector=does_not_exist"])


def test_group_folders_hold_only_yaml_configs():
    for folder in CONF.iterdir():
        if folder.is_dir():
            # nested groups (hydra/launcher, hydra/sweeper) hold configs too
            files = [p for p in folder.rglob("*") if p.is_file()]
            stray = [p.name for p in files if p.suffix not in (".yaml", ".md")]
            assert not stray, f"unexpected files in {folder}: {stray}"
