"""Every `python -m benchmarks...` command quoted in README.md, docs/ and the benchmark result
READMEs names a module that exists, and its arguments parse with that module's own parser."""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import shlex
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = sorted(
    [REPO / "README.md", *(REPO / "docs").glob("*.md"), *(REPO / "benchmarks").rglob("*.md")]
)
# modules retired with a note in the README that quotes them (how to rerun: the commit that
# wrote their results)
RETIRED = {
    "benchmarks.faceswap_truth": "benchmarks/results/faceswap/README.md",
    "benchmarks.faceswap_mask": "benchmarks/results/faceswap/README.md",
}
_START = re.compile(r"python -m (benchmarks[\w.]*)")


class _Parsed(Exception):
    """Raised by the patched parser once the arguments parsed."""


def quoted_commands(text: str) -> list[str]:
    """Each `python -m benchmarks...` command of a markdown text: inside backticks (which may
    wrap across lines) or on an indented code line (with `\\` continuations), one string each.
    Usage lines with [--optional] parts are left out."""
    lines, commands = text.splitlines(), []
    for i, line in enumerate(lines):
        for match in _START.finditer(line):
            before = line[: match.start()]
            if before.count("`") % 2:  # inside backticks: up to the closing one
                rest = "\n".join([line[match.start() :], *lines[i + 1 : i + 4]])
                command = rest.split("`", 1)[0]
            else:  # a code line: with its continuation lines
                parts, j = [line[match.start() :]], i
                while parts[-1].rstrip().endswith("\\") and j + 1 < len(lines):
                    parts[-1] = parts[-1].rstrip()[:-1]
                    j += 1
                    parts.append(lines[j])
                command = " ".join(parts).split("#", 1)[0]
            command = " ".join(command.split())
            if "[-" not in command:
                commands.append(command)
    return commands


def all_commands() -> list[tuple[str, str]]:
    """(document, command) for every quoted benchmark command."""
    return [
        (str(doc.relative_to(REPO)), command)
        for doc in DOCS
        for command in quoted_commands(doc.read_text())
    ]


def parsed_args(module_name: str, argv: list[str], monkeypatch) -> argparse.Namespace | None:
    """`argv` parsed by the module's own argparse parser, its main stopped right after;
    None for a module that reads its arguments without argparse."""
    module = importlib.import_module(module_name)
    if "ArgumentParser" not in inspect.getsource(module):
        return None
    original = argparse.ArgumentParser.parse_args

    def parse_then_stop(self, args=None, namespace=None):
        raise _Parsed(original(self, args, namespace))

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
    with pytest.raises(_Parsed) as parsed:
        module.main(argv)
    return parsed.value.args[0]


def test_the_documents_quote_benchmark_commands_and_the_scan_finds_them():
    commands = all_commands()
    modules = {_START.match(c).group(1) for _, c in commands}
    assert len(commands) > 50
    assert {"benchmarks.gan_quality", "benchmarks.faceswap_mask40"} <= modules
    text = "run `python -m benchmarks.gan_quality --task diffusion --minutes 2 5 10 --out\nx/y`."
    code = "    python -m benchmarks.gan_grain --name g \\\n        a.png b.png  # two grids"
    assert quoted_commands(text) == [
        "python -m benchmarks.gan_quality --task diffusion --minutes 2 5 10 --out x/y"
    ]
    assert quoted_commands(code) == ["python -m benchmarks.gan_grain --name g a.png b.png"]
    assert quoted_commands("`python -m benchmarks [--quick] [--only NAME]`") == []


@pytest.mark.parametrize(("doc", "command"), all_commands())
def test_each_quoted_benchmark_command_names_a_module_and_parses(doc, command, monkeypatch):
    argv = shlex.split(command)
    module_name = argv[2]
    if module_name in RETIRED:
        assert not (REPO / f"{module_name.replace('.', '/')}.py").exists()
        assert "removed" in (REPO / RETIRED[module_name]).read_text()
        return
    assert (REPO / f"{module_name.replace('.', '/')}.py").is_file() or (
        REPO / module_name.replace(".", "/") / "__main__.py"
    ).is_file(), f"{doc} quotes `{command}`, but {module_name} does not exist"
    if module_name == "benchmarks":
        return
    parsed_args(module_name, argv[3:], monkeypatch)


def test_a_wrong_option_is_caught_by_the_same_check(monkeypatch):
    with pytest.raises(SystemExit):
        parsed_args("benchmarks.gan_grain", ["--no-such-option", "a.png"], monkeypatch)
    args = parsed_args("benchmarks.gan_grain", ["--name", "g", "a.png"], monkeypatch)
    assert args.name == "g" and [str(p) for p in args.grids] == ["a.png"]
