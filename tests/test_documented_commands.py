"""Every `fakearena ...` command written in README.md and docs/*.md composes as written.

Commands are taken from code blocks (continuation lines joined, `# comments` dropped) and from
inline code spans (in tables, of the first column: the others show output). Job commands are
composed with their Hydra config (what `--cfg job` prints, without running anything); sweeps
(`a,b`) are composed once per value; the small tools are parsed by their own argument
declarations. A placeholder `key=...` ("your value") is left out
for a config group and given a value otherwise; anything else must compose exactly as written.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser

from fakearena.cli import COMMANDS, main
from fakearena.config import config_dir
from fakearena.data.builders.cli import ALIASES, BUILDERS
from fakearena.data.cli import SYNTH, VALIDATE, VERIFY
from fakearena.faces.cli import ARGS as FACES_ARGS
from fakearena.metrics.cli import ARGS as FID_ARGS
from fakearena.metrics.confound_cli import ARGS as CONFOUND_ARGS
from fakearena.report.cli import ARGS as LEADERBOARD_ARGS

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
# Documented on purpose as input that fails (docs/bad_inputs.md lists what it prints).
BAD_INPUT_EXAMPLES = {
    "fakearena train nonexistent_key=1",
    "fakearena train trainer.max_epoch=3",
    "fakearena train +trainer.max_epoch=3",
}
_COMMAND = re.compile(r"(?:^|[\s/])(?:-m fakearena\.cli|fakearena)\s+(?P<rest>[^\s#].*)$")
_SPAN_COMMAND = re.compile(r"^(?:\S*/)?(?:srun\s+)?fakearena\s+(?P<rest>\S.*)$")
PLUGINS = {
    "hydra/launcher=joblib": "hydra_plugins.hydra_joblib_launcher",
    "hydra/launcher=submitit_slurm": "hydra_plugins.hydra_submitit_launcher",
    "hydra/sweeper=optuna_detector": "hydra_plugins.hydra_optuna_sweeper",
}


def _split_code(text: str) -> tuple[list[str], str]:
    """Lines of fenced and 4-space indented code blocks, and the prose around them."""
    text = re.sub(r"\\\n\s*", " ", text)  # continuation lines
    fenced = [
        line
        for b in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)
        for line in b.splitlines()
    ]
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    indented = re.findall(r"^ {4}(\S.*)$", prose, flags=re.M)
    prose = re.sub(r"^ {4}\S.*$", "", prose, flags=re.M)
    return fenced + indented, prose


def _spans(prose: str) -> list[str]:
    """Inline code spans; in a table row only the first column's (the others show output)."""
    spans = []
    for line in prose.splitlines():
        if line.lstrip().startswith("|"):
            line = line.strip().strip("|").split("|")[0]
        spans += re.findall(r"`([^`]+)`", line)
    return spans


def documented_commands() -> list[tuple[str, str]]:
    """(file name, command) of every fakearena command in the docs, in order, deduplicated."""
    seen, found = set(), []
    for path in DOCS:
        lines, prose = _split_code(path.read_text(encoding="utf-8"))
        commands = []
        for line in lines:
            match = _COMMAND.search(line.split(" # ")[0].strip())
            if match:
                commands.append("fakearena " + match["rest"].strip())
        for span in _spans(prose):
            match = _SPAN_COMMAND.match(" ".join(span.split()))
            if match:
                commands.append("fakearena " + match["rest"])
        for command in commands:
            if command not in seen:
                seen.add(command)
                found.append((path.name, command))
    return found


COMMANDS_IN_DOCS = documented_commands()


def test_the_docs_hold_the_commands_they_should():
    names = {shlex.split(command)[1] for _, command in COMMANDS_IN_DOCS}
    assert set(COMMANDS) <= names | {"<command>"}
    assert len(COMMANDS_IN_DOCS) > 30


GROUPS = {p.name for p in config_dir().iterdir() if p.is_dir()}


def _placeholders(args: list[str]) -> list[str]:
    """`key=...` placeholders: a config group's is left out, any other key gets a value."""
    out = []
    for arg in args:
        key, _, value = arg.partition("=")
        if value == "...":
            if key.lstrip("+") not in GROUPS:
                out.append(f"{key}=your_value")
        elif arg != "...":
            out.append(arg)
    return out


def _job_overrides(name: str, args: list[str]) -> tuple[str, list[list[str]]]:
    """The config name and the override lists a job command line composes (one per sweep value)."""
    config_name = COMMANDS[name].config_name
    overrides, rest = [], list(args)
    if name == "detect" and rest and "=" not in rest[0] and not rest[0].startswith("-"):
        rest[0] = f"input='{rest[0]}'"
    while rest:
        arg = rest.pop(0)
        if arg in ("-m", "--multirun"):
            continue
        if arg in ("--config-name", "-cn"):
            config_name = rest.pop(0)
            continue
        if arg.startswith("--config-name="):
            config_name = arg.split("=", 1)[1]
            continue
        if arg == "--cfg":
            rest.pop(0)
            continue
        overrides.append(arg)
    parsed = OverridesParser.create().parse_overrides(overrides)
    sweeps = {
        n: [f"{o.get_key_element()}={v}" for v in o.sweep_string_iterator()]
        for n, o in enumerate(parsed)
        if o.is_sweep_override()
    }
    base = [sweeps[n][0] if n in sweeps else arg for n, arg in enumerate(overrides)]
    variants = [base]
    for position, values in sweeps.items():
        variants += [[*base[:position], value, *base[position + 1 :]] for value in values[1:]]
    return str(config_name), variants


TOOLS = {
    "fid": FID_ARGS,
    "confound": CONFOUND_ARGS,
    "leaderboard": LEADERBOARD_ARGS,
    "faces extract": FACES_ARGS,
    "data synth": SYNTH,
    "data validate": VALIDATE,
    "data verify": VERIFY,
}


def _tool(args: list[str]):
    """The ToolArgs of a small tool's command line and the arguments left for it."""
    key = " ".join(args[:2])
    if key in TOOLS:
        return TOOLS[key], args[2:]
    if args[:2] == ["data", "build"]:
        return BUILDERS[ALIASES.get(args[2], args[2])][1], args[3:]
    return TOOLS[args[0]], args[1:]


@pytest.mark.parametrize(("doc", "command"), COMMANDS_IN_DOCS, ids=[c for _, c in COMMANDS_IN_DOCS])
def test_documented_command_composes(doc: str, command: str, capsys):
    args = _placeholders(shlex.split(command)[1:])
    if not args or args[0] in ("--help", "-h") or args[-1] in ("--help", "-h"):
        main(args)  # help answers, whatever comes before it
        return
    name = args[0]
    if name == "<command>":
        return
    assert name in COMMANDS, f"{doc}: `{command}` names no fakearena command"
    for flag, module in PLUGINS.items():
        if flag in args and importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (pip install 'fakearena[sweep]')")
    if COMMANDS[name].config_name is None:
        tool, rest = _tool(args)
        if rest:  # a bare `fakearena fid` in prose names the tool; with arguments, it parses
            tool.parse(rest)
        return
    config_name, variants = _job_overrides(name, args[1:])
    failing = command in BAD_INPUT_EXAMPLES
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        for overrides in variants:
            if failing:
                with pytest.raises(Exception, match=r"nonexistent_key|max_epoch"):
                    compose(config_name, overrides=overrides, return_hydra_config=True)
                continue
            cfg = compose(config_name, overrides=overrides, return_hydra_config=True)
            for extra in cfg.get("common") or []:  # the arena hands these to every train stage
                compose("train", overrides=[str(extra)])
