"""Arguments of the small tools (`fid`, `leaderboard`, `data ...`, `faces extract`).

One style for every fakearena command, as in the Hydra job commands: `key=value`, plus the
few paths a tool takes positionally (`fakearena fid A B` is `fakearena fid a=A b=B`). Each tool
declares its arguments once (`ToolArgs`); that declaration parses, types and checks them and
prints the `--help` text, so the help always lists exactly what is accepted.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf

from fakearena.errors import ConfigError

HELP_FLAGS = ("-h", "--help", "help")
_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


@dataclass(frozen=True)
class Arg:
    """One argument of a tool.

    Attributes:
        name: the key (`name=value`).
        default: the value when not given; its type (bool, int, float, str) types the input.
        help: one line for `--help`.
        positional: may also be given bare, in declaration order (`fakearena fid A B`).
        many: a positional taking every remaining bare argument (a list).
        required: the tool cannot run without it.
        kind: the type when `default` is None (str by default; None keeps YAML parsing,
            e.g. for lists).
    """

    name: str
    default: Any = None
    help: str = ""
    positional: bool = False
    many: bool = False
    required: bool = False
    kind: type | None = str

    def typed(self, value: Any, command: str) -> Any:
        """`value` converted to this argument's type, or a ConfigError naming the key."""
        kind = type(self.default) if self.default is not None else self.kind
        if value is None or kind is None or self.many:
            return value
        if kind is bool:
            text = str(value).strip().lower()
            if text in _TRUE or text in _FALSE:
                return text in _TRUE
            raise ConfigError(f"`fakearena {command}`: {self.name} is true or false, got {value!r}")
        if kind in (int, float):
            try:
                number = float(value)
            except (TypeError, ValueError):
                number = None
            if (
                number is None
                or isinstance(value, bool)
                or (kind is int and not number.is_integer())
            ):
                what = "an integer" if kind is int else "a number"
                raise ConfigError(
                    f"`fakearena {command}`: {self.name} must be {what}, got {value!r} "
                    f"(e.g. {self.name}={self.default if self.default is not None else 1})"
                )
            return kind(number)
        return str(value)


@dataclass(frozen=True)
class ToolArgs:
    """The arguments of one tool: parsing, checking and the `--help` text."""

    command: str  # what follows `fakearena`, e.g. "fid" or "data validate"
    summary: str
    args: tuple[Arg, ...]
    epilog: str = ""
    names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(a.name for a in self.args))

    def usage(self) -> str:
        """The `--help` text: synopsis, summary and every argument with its default."""
        synopsis = [f"fakearena {self.command}"]
        for arg in self.args:
            if arg.positional:
                label = arg.name.upper() + (" ..." if arg.many else "")
                synopsis.append(label if arg.required else f"[{label}]")
        synopsis.append("[key=value ...]")
        lines = ["usage: " + " ".join(synopsis), "", self.summary, "", "arguments (default):"]
        width = max(len(a.name) + 1 + len(_shown(a.default)) for a in self.args)
        for arg in self.args:
            key = f"{arg.name}={_shown(arg.default)}"
            note = " (required)" if arg.required else ""
            lines.append(f"  {key:<{width}}  {arg.help}{note}")
        if self.epilog:
            lines += ["", self.epilog]
        return "\n".join(lines)

    def wants_help(self, argv: Sequence[str]) -> bool:
        return any(a in HELP_FLAGS for a in argv)

    def parse(self, argv: Sequence[str]) -> DictConfig:
        """Parse `argv`; ConfigError on an unknown key (with the closest one), a `--flag`, a
        stray bare argument, a value of the wrong type or a missing required argument."""
        given: dict[str, Any] = {}
        bare: list[str] = []
        dotlist: list[str] = []
        for item in argv:
            if item.startswith("--") and item not in HELP_FLAGS:
                key = item[2:].split("=", 1)[0].replace("-", "_")
                raise ConfigError(
                    f"`fakearena {self.command}` takes key=value arguments, not {item!r}"
                    + (f"; write {key}=..." if key in self.names else "")
                    + f" (see `fakearena {self.command} --help`)"
                )
            if "=" in item:
                key = item.split("=", 1)[0].lstrip("+")
                if key not in self.names:
                    raise ConfigError(self._unknown(key))
                dotlist.append(item.lstrip("+"))
            else:
                bare.append(item)
        parsed = OmegaConf.to_container(OmegaConf.from_dotlist(dotlist)) if dotlist else {}
        for key, value in parsed.items():
            given[key] = value
        self._place_bare(bare, given)
        values = {}
        for arg in self.args:
            if arg.name in given:
                values[arg.name] = arg.typed(given[arg.name], self.command)
            elif arg.required:
                raise ConfigError(
                    f"`fakearena {self.command}` needs {arg.name}="
                    f"{arg.name.upper()} ({arg.help}); see `fakearena {self.command} --help`"
                )
            else:
                values[arg.name] = [] if arg.many and arg.default is None else arg.default
        return OmegaConf.create(values)

    def _place_bare(self, bare: list[str], given: dict[str, Any]) -> None:
        slots = [a for a in self.args if a.positional and a.name not in given]
        for arg in slots:
            if not bare:
                return
            if arg.many:
                given[arg.name], bare[:] = list(bare), []
                return
            given[arg.name] = bare.pop(0)
        if bare:
            raise ConfigError(
                f"`fakearena {self.command}`: unexpected argument {bare[0]!r}; arguments are "
                f"key=value (see `fakearena {self.command} --help`)"
            )

    def _unknown(self, key: str) -> str:
        close = difflib.get_close_matches(key, self.names, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}? " if close else ""
        return (
            f"`fakearena {self.command}` has no argument {key!r}; {hint}arguments are: "
            + ", ".join(self.names)
        )


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
