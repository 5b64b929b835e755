"""`fakearena <command> [key=value ...]`: thin dispatch to the run functions, no logic.

Job commands are Hydra apps (overrides, `--cfg job`, `-m` multirun work after the command);
the small tools parse the same `key=value` style with `fakearena.tool_args`. Nothing heavy is
imported before it is needed: `--help` reads the config files only, and a job's run function
(torch, Lightning) is imported after its config composed and passed `fakearena.runs.preflight`,
so a bad key or a missing file fails in about a second.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fakearena.errors import FakearenaError

HELP_FLAGS = ("-h", "--help")
DEVICE_HELP = (
    "Devices: every command takes device=auto (the first CUDA GPU when there is one, else the "
    "CPU); `fakearena train` takes trainer=auto (trainer=gpu with bf16-mixed where CUDA is "
    "present, else trainer=cpu)."
)


@dataclass(frozen=True)
class Command:
    """One CLI command: a Hydra job (config name + run function) or a plain tool."""

    help: str
    target: str  # "module:function"
    config_name: str | None = None  # set for Hydra jobs


COMMANDS: dict[str, Command] = {
    "train": Command(
        "Train a detector, GAN or face-swap model (task=detect|gan|faceswap).",
        "fakearena.runs.train:run",
        "train",
    ),
    "evaluate": Command(
        "Evaluate a detector checkpoint on one or more manifests (ckpt=... data=...).",
        "fakearena.runs.evaluate:run",
        "evaluate",
    ),
    "generate": Command(
        "Turn a generator checkpoint into a fake set with a manifest (ckpt=... n=... out=...).",
        "fakearena.runs.generate:run",
        "generate",
    ),
    "convert": Command(
        "Swap one person's face in every frame of a video (ckpt=... video=... donor=... out=...).",
        "fakearena.runs.convert:run",
        "convert",
    ),
    "arena": Command(
        "Train generators and detectors, cross-evaluate them, write the leaderboard.",
        "fakearena.runs.arena:run",
        "arena",
    ),
    "protocol": Command(
        "Cross-dataset protocol: train detectors on one dataset, score them on others, tabulate.",
        "fakearena.runs.protocol:run",
        "protocol",
    ),
    "detect": Command(
        "Score a video, image or folder for fakes (fakearena detect PATH ckpt=...).",
        "fakearena.runs.detect:run",
        "detect",
    ),
    "faces": Command(
        "Face tools: `faces extract input=... out=...` (MTCNN crops + manifest).",
        "fakearena.faces.cli:main",
    ),
    "data": Command(
        "Data tools: `data synth|validate|verify|build` (manifests and datasets).",
        "fakearena.data.cli:main",
    ),
    "fid": Command(
        "FID and KID between two manifests or image folders (fakearena fid A B).",
        "fakearena.metrics.cli:main",
    ),
    "confound": Command(
        "Confound check of a test set: identity-only AUC, flag, identities per class.",
        "fakearena.metrics.confound_cli:main",
    ),
    "leaderboard": Command(
        "Collect results.json files under folders into md/csv/html tables and plots.",
        "fakearena.report.cli:main",
    ),
}


def _load(target: str) -> Callable[..., Any]:
    module_name, function_name = target.split(":")
    return getattr(importlib.import_module(module_name), function_name)


def print_help() -> None:
    from fakearena import __version__

    print(f"fakearena {__version__}: deepfake generators and detectors, trained and crossed.\n")
    print("usage: fakearena <command> [key=value ...] [hydra options]\n\ncommands:")
    width = max(len(name) for name in COMMANDS)
    for name, command in COMMANDS.items():
        print(f"  {name:<{width}}  {command.help}")
    print(
        "\nEvery command takes key=value arguments (`fakearena train detector=meso4 seed=1`,\n"
        "`fakearena fid real.csv fakes.csv n=500`); `fakearena <command> --help` lists them.\n"
        "Job commands (train, evaluate, generate, convert, arena, protocol, detect) are Hydra\n"
        "apps: `--cfg job` prints the composed config, `-m` sweeps.\n"
    )
    print(textwrap.fill(DEVICE_HELP, width=92))


def print_job_help(name: str, command: Command) -> None:
    """`fakearena <job> --help`, from the config files alone (Hydra's own help takes seconds)."""
    from fakearena.config import job_help

    print(job_help(name, str(command.config_name), command.help, textwrap.fill(DEVICE_HELP, 92)))


def report_user_error(error: FakearenaError) -> None:
    """Print a user error as one paragraph on stderr."""
    print(f"fakearena: error: {error}", file=sys.stderr)


def _full_errors() -> bool:
    return os.environ.get("HYDRA_FULL_ERROR") == "1"


def _cleanup_empty_run_dir() -> None:
    """Remove a run folder that holds nothing but Hydra's bookkeeping (a failed start).

    Anything else keeps it: a parent job's `stage.log` there holds the failure's cause.
    """
    try:
        from hydra.core.hydra_config import HydraConfig

        hydra_config = HydraConfig.get()
        run_dir = Path(hydra_config.runtime.output_dir)
        kept = {".hydra", f"{hydra_config.job.name}.log"}
    except Exception:
        return
    if not run_dir.is_dir():
        return
    empty_dirs = {p.name for p in run_dir.iterdir() if p.is_dir() and not any(p.iterdir())}
    if all(child.name in kept | empty_dirs for child in run_dir.iterdir()):
        _drop_log_files_under(run_dir)
        shutil.rmtree(run_dir, ignore_errors=True)


def _drop_log_files_under(folder: Path) -> None:
    """Close and detach the root logger's file handlers writing into `folder` (about to go):
    a later record in this process (the next in-process job) must not reopen a removed path."""
    import logging

    root = logging.getLogger()
    for handler in list(root.handlers):
        filename = getattr(handler, "baseFilename", None)
        if filename and Path(filename).resolve().is_relative_to(folder.resolve()):
            root.removeHandler(handler)
            handler.close()


def run_hydra_command(name: str, command: Command, argv: Sequence[str]) -> None:
    """Run a Hydra job command with `argv` as its overrides."""
    import hydra
    from hydra.errors import HydraException

    from fakearena.config import composition_error, config_dir, instantiation_error
    from fakearena.runs.preflight import check

    script = sys.argv[0]
    full_error = os.environ.get("HYDRA_FULL_ERROR")

    @hydra.main(version_base="1.3", config_path=str(config_dir()), config_name=command.config_name)
    def app(cfg):
        _set_full_error(full_error)  # the job itself: Hydra's own reporting, as the user set it
        # Lightning's DDP launcher re-runs `sys.argv` for the other ranks: make it the full
        # `fakearena <command> <overrides>` command line again.
        sys.argv = [script, name, *argv]
        try:
            check(name, cfg)  # missing files fail here, before torch and Lightning load
            return _load(command.target)(cfg)
        except (FakearenaError, HydraException) as error:
            user_error = instantiation_error(error)  # a user error, maybe wrapped by Hydra
            if user_error is None or _full_errors():
                raise
            _cleanup_empty_run_dir()
            report_user_error(user_error)
            raise SystemExit(1) from None

    sys.argv = [script, *argv]  # what Hydra parses: the overrides after the command name
    sweep = any(a in ("-m", "--multirun") for a in argv)
    if not sweep:  # composition errors (a mistyped key) come to us, to be told with the fix
        os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        app()
    except HydraException as error:
        if sweep or full_error == "1":
            raise
        raise composition_error(str(command.config_name), argv, error) from None
    finally:
        _set_full_error(full_error)


def _set_full_error(value: str | None) -> None:
    if value is None:
        os.environ.pop("HYDRA_FULL_ERROR", None)
    else:
        os.environ["HYDRA_FULL_ERROR"] = value


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print_help()
        return
    if args[0] in ("-V", "--version"):
        from fakearena import __version__

        print(__version__)
        return
    name, rest = args[0], args[1:]
    command = COMMANDS.get(name)
    if command is None:
        print(
            f"fakearena: error: unknown command {name!r}; commands are: {', '.join(COMMANDS)}",
            file=sys.stderr,
        )
        raise SystemExit(2)
    if name == "detect" and rest and "=" not in rest[0] and not rest[0].startswith("-"):
        rest[0] = f"input={_quote_override(rest[0])}"
    try:
        if command.config_name is not None:
            if any(arg in HELP_FLAGS for arg in rest):
                print_job_help(name, command)
                return
            run_hydra_command(name, command, rest)
        else:
            code = _load(command.target)(rest)
            if code:
                raise SystemExit(int(code))
    except FakearenaError as error:
        if _full_errors():
            raise
        report_user_error(error)
        raise SystemExit(1) from None
    except ModuleNotFoundError as error:
        if (
            error.name
            and error.name.startswith("fakearena")
            and command.target.startswith(error.name)
        ):
            print(
                f"fakearena: error: command {name!r} is not available in this version "
                f"({error.name} is missing)",
                file=sys.stderr,
            )
            raise SystemExit(2) from None
        raise


def _quote_override(value: str) -> str:
    """Quote a path so that Hydra's override grammar takes it verbatim."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


if __name__ == "__main__":
    main()
