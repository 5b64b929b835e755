"""Imports run one way (DESIGN.md): a package never imports one above it or beside it.

Layers, lowest first; a module may import its own package and any lower layer:
  0 errors, the package root (its version)
  1 config, tool_args, utils
  2 results, data, models
  3 faces (reads data), metrics (reads data and the result schema)
  4 generation (fake-set writers, swap and blend; a restored task comes in as an object)
  5 tasks (a face-swap task pastes back with generation's blend and scores its swaps)
  6 report
  7 runs
  8 cli
Read from the source with the AST, so a lazy import inside a function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "fakearena"
LAYERS = {
    "__init__": 0,
    "errors": 0,
    "config": 1,
    "tool_args": 1,
    "utils": 1,
    "results": 2,
    "data": 2,
    "models": 2,
    "faces": 3,
    "metrics": 3,
    "generation": 4,
    "tasks": 5,
    "report": 6,
    "runs": 7,
    "cli": 8,
}


def _unit(module: str) -> str:
    """`fakearena.data.synthetic.paint` -> `data`; `fakearena.__version__` -> `__init__`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "__init__"


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            if node.module == "fakearena":  # `from fakearena import x`: x is the unit
                found += [(node.lineno, name) for name in names]
            else:
                found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name.split(".")[0] == "fakearena"]


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_top_level_unit_has_a_layer():
    units = {p.stem if p.parent == PACKAGE else p.relative_to(PACKAGE).parts[0] for p in _modules()}
    assert units <= set(LAYERS), f"give these a layer in LAYERS: {sorted(units - set(LAYERS))}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_only_go_down(path: Path):
    own = path.stem if path.parent == PACKAGE else path.relative_to(PACKAGE).parts[0]
    wrong = []
    for line, name in _imports(path):
        unit = _unit(name)
        if unit != own and LAYERS[unit] >= LAYERS[own]:
            wrong.append(f"line {line}: {name} (layer {LAYERS[unit]} >= {own}'s {LAYERS[own]})")
    assert not wrong, f"{path.relative_to(PACKAGE)} imports up or sideways:\n" + "\n".join(wrong)


def test_the_check_sees_lazy_imports(tmp_path: Path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from fakearena.runs.train import run\n")
    assert _imports(probe) == [(2, "fakearena.runs.train")]
