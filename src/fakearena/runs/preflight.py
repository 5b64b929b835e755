"""Checks of a composed job config that need no model: run before torch and Lightning load.

A missing checkpoint, manifest or input file is a user error that should cost a second, not
the several seconds (and the GPU start) of importing the run function's dependencies. Each
check raises the same error, with the same message, that the run function would raise later.
This module imports nothing heavier than `pathlib` and OmegaConf.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from fakearena.data.manifest_file import data_manifest_csv
from fakearena.errors import ConfigError, DataError
from fakearena.utils.checkpoint_paths import check_checkpoint_format, resolve_checkpoint
from fakearena.utils.set_aside import timestamp

RESULTS_FILE = "results.json"


def _checkpoint(cfg: DictConfig, key: str, command: str) -> None:
    """`cfg[key]` names an existing checkpoint file or a run folder holding its best one."""
    value = cfg.get(key) if not OmegaConf.is_missing(cfg, key) else None
    if not value:
        raise ConfigError(f"`fakearena {command}` needs {key}=PATH (a checkpoint, e.g. best.ckpt)")
    check_checkpoint_format(resolve_checkpoint(str(value)))


def _data_dir(cfg: DictConfig) -> str | None:
    """The job's `paths.data_dir`, resolved (None when the config has none)."""
    paths = cfg.get("paths")
    if paths is None or "data_dir" not in paths:
        return None
    return str(paths.data_dir)


def _manifests(cfg: DictConfig) -> None:
    """Every `data.manifests` entry is an existing manifest file."""
    data = cfg.get("data")
    if data is None or "manifests" not in data or OmegaConf.is_missing(data, "manifests"):
        return
    _data_node_manifests(data, str(data.get("name") or "manifest"), _data_dir(cfg))


def _data_node_manifests(data: DictConfig, name: str, data_dir: str | None) -> None:
    entries = data.manifests
    for entry in [entries] if isinstance(entries, str) else list(entries or []):
        data_manifest_csv(str(entry), name, data_dir)


def _data_configs(names: list[str], data_dir: str | None) -> None:
    """The manifests of data configs named by a list key (`test_data`, `test_sets`) exist.

    Entries that are not `conf/data` names (manifest paths) are left to the run function.
    """
    from fakearena.config import compose_data_config, config_dir

    known = {p.stem for p in (config_dir() / "data").glob("*.yaml")}
    for name in names:
        if name not in known:
            continue
        node = compose_data_config(name)
        if "manifests" in node and not OmegaConf.is_missing(node, "manifests"):
            _data_node_manifests(node, name, data_dir)


def fixed_frames_per_video(cfg: DictConfig) -> int | None:
    """The protocol's `frames_per_video`: a positive count, or None for every face crop."""
    value = cfg.get("frames_per_video")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(
            f"frames_per_video={value!r}: give a positive number of frames per video "
            "(DeepfakeBench's protocol uses 32), or null for every face crop"
        )
    return value


def previous_run_files(run_dir: Path) -> list[str]:
    """What in `run_dir` belongs to an earlier run: its results.json and checkpoints."""
    found = [RESULTS_FILE] if (run_dir / RESULTS_FILE).is_file() else []
    found += sorted(f"checkpoints/{p.name}" for p in (run_dir / "checkpoints").glob("*.ckpt"))
    return found


def _run_dir_free(cfg: DictConfig, job_log: str) -> None:
    """The run folder holds no other run's results, unless told to continue or replace them.

    resume=true (or ckpt_path) continues that run; overwrite=true moves everything but Hydra's
    bookkeeping to `<run folder>.replaced-<time>/` first.
    """
    try:
        run_dir = Path(str(cfg.paths.output_dir))
    except Exception:  # composed outside a Hydra run: there is no run folder yet
        return
    found = previous_run_files(run_dir)
    if not found or cfg.get("resume") or cfg.get("ckpt_path"):
        return
    if not cfg.get("overwrite"):
        raise ConfigError(
            f"the run folder {run_dir} holds another run's results ({', '.join(found[:3])}); "
            "training here would replace them. Give a new hydra.run.dir=DIR, continue that run "
            "with resume=true, or pass overwrite=true to train afresh (the old files are then "
            f"moved to {run_dir.name}.replaced-<time>/ beside it)"
        )
    kept = run_dir.with_name(f"{run_dir.name}.replaced-{timestamp()}")
    kept.mkdir()
    for child in run_dir.iterdir():
        if child.name not in (".hydra", job_log):
            child.rename(kept / child.name)
    print(f"fakearena train: overwrite=true: the previous run's files are kept in {kept}")


def train(cfg: DictConfig) -> None:
    """`fakearena train`: the resume checkpoint, the manifests and the test_data sets exist,
    and the run folder holds no other run's results."""
    if cfg.get("ckpt_path") and not Path(str(cfg.ckpt_path)).is_file():
        raise ConfigError(f"ckpt_path={cfg.ckpt_path} does not exist; give an existing .ckpt file")
    _manifests(cfg)
    _data_configs([str(e) for e in cfg.get("test_data") or []], _data_dir(cfg))
    _run_dir_free(cfg, "train.log")


def protocol(cfg: DictConfig) -> None:
    """`fakearena protocol`: its settings hold, and on public data the training data and every
    test set exist."""
    fixed_frames_per_video(cfg)
    if cfg.get("faces") is not None:  # the synthetic world: built by the protocol itself
        return
    names = [str(cfg.train.data), *(str(e) for e in cfg.get("test_sets") or [])]
    _data_configs(names, _data_dir(cfg))


def evaluate(cfg: DictConfig) -> None:
    """`fakearena evaluate`: the checkpoint and the manifests exist."""
    _checkpoint(cfg, "ckpt", "evaluate")
    _manifests(cfg)


def generate(cfg: DictConfig) -> None:
    """`fakearena generate`: ckpt and out are given, the checkpoint (and source data) exist."""
    if not cfg.get("ckpt"):
        raise ConfigError("`fakearena generate` needs ckpt=PATH (a generator's best.ckpt)")
    if not cfg.get("out"):
        raise ConfigError("`fakearena generate` needs out=DIR (where images and manifest go)")
    _checkpoint(cfg, "ckpt", "generate")
    _manifests(cfg)


def detect(cfg: DictConfig) -> None:
    """`fakearena detect`: the input and the checkpoint exist."""
    value = cfg.get("input") if not OmegaConf.is_missing(cfg, "input") else None
    if not value:
        raise ConfigError("`fakearena detect` needs an input: fakearena detect PATH ckpt=...")
    if not Path(str(value)).exists():
        raise DataError(f"input {value} does not exist; give a video, an image or a folder")
    _checkpoint(cfg, "ckpt", "detect")


CHECKS: dict[str, Callable[[DictConfig], None]] = {
    "train": train,
    "evaluate": evaluate,
    "generate": generate,
    "detect": detect,
    "protocol": protocol,
}


def check(command: str, cfg: DictConfig) -> None:
    """Run the checks of `command` (none for commands without input files)."""
    function = CHECKS.get(command)
    if function is not None:
        function(cfg)
