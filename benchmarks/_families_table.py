"""The "Families side by side" table (markdown) from `arena_families/summary.json`.

Rows: each detector trained on every family, then the same detector without each family;
columns: its AUC on each family's test set, mean ± std over seeds. The family a row never
trained on is bold (cross-family generalisation); each cell of a without-row says how much
lower it is than the all-families row on the same test set ("drop") and whether the paired
bootstrap finds that drop significant. README.md quotes the rendered text verbatim
(tests/test_doc_numbers.py).
"""

from __future__ import annotations

import re
from typing import Any

# what a without-row cell appends after its drop, by the paired bootstrap's verdict
MARKS = {"drop": "*", "gain": "*", "tie": "", "untested": " (untested)"}


def auc_cell(cell: dict[str, Any]) -> str:
    """Mean ± std over seeds (the mean alone for one seed), flags in brackets."""
    text = f"{cell['mean']:.3f}"
    if cell.get("std") is not None:
        text += f" ± {cell['std']:.3f}"
    if cell.get("flags"):
        text += f" ({', '.join(cell['flags'])})"
    return text


def drop_cell(cell: dict[str, Any], drop: dict[str, Any] | None, held_out: bool) -> str:
    """A without-row cell: its AUC (bold when held out), the drop and its significance mark."""
    text = auc_cell(cell)
    if held_out:
        text = f"**{text}**"
    if drop is None:
        return f"{text}, drop not tested (no paired rows)"
    return f"{text}, drop {drop['drop']:+.3f}{MARKS[drop['verdict']]}"


def _header(summary: dict[str, Any]) -> list[str]:
    cells = ["detector", "trained on"]
    for family in summary["families"]:
        test_set = summary["test_sets"][family]
        cells.append(f"`{family}` ({test_set['units']} {test_set['unit_plural']})")
    return cells


def _row_cells(row: dict[str, Any], families: list[str]) -> list[str]:
    if row["held_out"] is None:
        trained = f"all {len(families)} families"
        return [row["detector"], trained, *(auc_cell(row["cells"][f]) for f in families)]
    cells = [
        drop_cell(row["cells"][f], row["drops"].get(f), held_out=f == row["held_out"])
        for f in families
    ]
    return [row["detector"], f"without `{row['held_out']}`", *cells]


def notes(summary: dict[str, Any]) -> list[str]:
    """The sentences under the table: what a cell is, the test, the confound check."""
    seeds, boot = summary["seeds"], summary["bootstrap"]
    confound = ", ".join(
        f"`{name}` {summary['test_sets'][name]['confound_auc']:.3f}"
        + (" (**confounded**)" if summary["test_sets"][name]["confound_flagged"] else "")
        for name in summary["families"]
    )
    return [
        f"Test AUC, mean ± std over {len(seeds)} training seeds ({', '.join(map(str, seeds))}); "
        "each column's header gives the units its confidence intervals resample.",
        "**Bold**: the family the row's detector never trained on (cross-family "
        "generalisation). drop: AUC(all families) − AUC(without) on the same rows, a paired "
        "bootstrap over units and seed pairs (seed k with seed k, "
        f"{boot['replicates']} replicates, seed {boot['seed']}); * marks a drop whose 95% "
        "interval excludes 0 (with a minus sign: a significant gain), no mark a tie (no "
        "significant difference), untested: too few units of a class to resample.",
        f"Confound check (identity-only AUC, chance 0.5 ± {summary['confound_tolerance']}): "
        f"{confound}.",
    ]


def render_table(summary: dict[str, Any]) -> str:
    """The section's markdown: the table, then its notes (one paragraph each)."""
    families = list(summary["families"])
    header = _header(summary)
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    lines += ["| " + " | ".join(_row_cells(r, families)) + " |" for r in summary["rows"]]
    return "\n".join(lines) + "\n\n" + "\n\n".join(notes(summary)) + "\n"


SECTION = "## Families side by side"
FIGURE = "benchmarks/results/arena_families/families.png"
PREVIEW = "benchmarks/results/arena_families/faceswap_swap_preview.png"


def render_section(summary: dict[str, Any]) -> str:
    """The whole README section: heading, how it was made, the figures, the table."""
    families = ", ".join(f"`{f}`" for f in summary["families"])
    made_by = f"`{summary['command']}`"
    if summary.get("config_differs_in"):
        keys = ", ".join(f"`{k}`" for k in summary["config_differs_in"])
        made_by = f"an arena whose {keys} settings differ from {made_by}"
    return (
        f"{SECTION}\n\n"
        f"Every detector trained on the fakes of all families ({families}) and once without "
        "each family, then tested on every family's test set (the same unseen test people in "
        f"each): {made_by}, summarised by `{summary['benchmark']}`.\n\n"
        f"![real faces and each family's test fakes]({FIGURE})\n\n"
        f"![face swap preview: source | truth | fake | mask]({PREVIEW})\n\n"
        f"{render_table(summary)}"
    )


def section_mismatch(readme: str, summary: dict[str, Any]) -> str | None:
    """What is wrong with README's section against the summary (None: it quotes it).

    The section must hold the rendered table and notes (runs of whitespace read as one
    space, so wrapped notes match) and show the figure.
    """
    if SECTION not in readme:
        return f"README.md has no {SECTION!r} section"
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    flat = re.sub(r"\s+", " ", section)
    if re.sub(r"\s+", " ", render_table(summary)).strip() not in flat:
        return (
            f"README.md's {SECTION!r} should hold the table rendered from "
            "benchmarks/results/arena_families/summary.json (families.md beside it)"
        )
    if FIGURE not in section:
        return f"README.md's {SECTION!r} should show {FIGURE}"
    return None
