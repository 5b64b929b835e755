"""The in-process `fakearena` runner of the CLI message tests (test_cli_*_messages.py)."""

from __future__ import annotations

import sys
from collections.abc import Callable


def in_process_cli(capsys, monkeypatch) -> Callable[..., tuple[int, str, str]]:
    """`fakearena ARGS` in this process, through `fakearena.cli.main`: (exit code, stdout,
    stderr). Hydra's global state is cleared after each call."""
    from hydra.core.global_hydra import GlobalHydra

    from fakearena.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["fakearena"])
        try:
            main(list(args))
            code = 0
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        finally:
            GlobalHydra.instance().clear()
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def one_line(text: str) -> str:
    """A message as one line (the console wraps nothing, but stderr may end in a newline)."""
    return " ".join(text.split())
