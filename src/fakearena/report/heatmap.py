"""The detector x test set AUC heatmap: colours diverging from chance, N and flags in cells."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from fakearena.report.fold import Folded, number
from fakearena.report.plots import pyplot, save_figure
from fakearena.report.units import flag_text

HEATMAP_ROW_CHARS, HEATMAP_COLUMN_CHARS = 40, 24  # heatmap labels wrap beyond these widths
HEATMAP_CMAP = "RdBu"  # diverging: red below chance, white at 0.5, blue above


def auc_heatmap(
    rows: list[str], columns: list[str], values: list[list[Folded | None]], path: Path
) -> Path:
    """Detector (rows) x test set (columns) frame AUC, annotated; missing cells grey "-"."""
    return save_figure(heatmap_figure(rows, columns, values), path)


def heatmap_norm():
    """AUC to colour: a diverging scale centred at chance (0.5), so an AUC of 0.04 (a
    detector that inverts its labels) is as far from white as 0.96, on the other side."""
    from matplotlib.colors import TwoSlopeNorm

    return TwoSlopeNorm(vmin=0.0, vcenter=0.5, vmax=1.0)


def heatmap_cell_text(value: Folded | None) -> str:
    """`0.042` / `±0.010` over seeds / `N=6 videos` / `⚠ small N` (only the lines it has)."""
    if value is None:
        return "-"
    lines = [number(value.mean)]
    if value.count > 1:
        lines[0] += f" ±{number(value.std or 0.0, like=value.mean)}"
    if value.units is not None:
        lines.append(value.units.short())
    elif value.n is not None:
        lines.append(f"N={value.n}")
    if value.flags:
        lines.append(flag_text(value.flags))
    return "\n".join(lines)


def heatmap_figure(rows: list[str], columns: list[str], values: list[list[Folded | None]]):
    """The AUC heatmap as a matplotlib figure, sized so that every label fits whole.

    Colours diverge from white at chance (`heatmap_norm`); each cell says its N, and cells
    on too few units or on collapsed scores are hatched and marked. Long labels wrap at
    spaces (never cut); the figure grows with the longest line and the number of lines, and
    matplotlib's constrained layout keeps the tick labels inside it.
    """
    plt = pyplot()
    from matplotlib.patches import Rectangle

    row_labels = [_wrap(label, HEATMAP_ROW_CHARS) for label in rows]
    column_labels = [_wrap(label, HEATMAP_COLUMN_CHARS) for label in columns]
    longest = max(len(line) for label in row_labels for line in label.splitlines())
    row_lines = sum(label.count("\n") + 1 for label in row_labels)
    column_lines = max(label.count("\n") + 1 for label in column_labels)
    width = min(3.5 + 0.075 * longest + 1.5 * len(columns), 30.0)
    height = min(1.6 + 0.45 * column_lines + max(0.8 * len(rows), 0.22 * row_lines), 30.0)
    grid = np.array([[np.nan if v is None else v.mean for v in row] for row in values], float)
    fig, ax = plt.subplots(figsize=(width, height), dpi=110, layout="constrained")
    cmap = plt.get_cmap(HEATMAP_CMAP).with_extremes(bad="#d9d9d9")
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, norm=heatmap_norm(), aspect="auto")
    for i, row in enumerate(values):
        for j, value in enumerate(row):
            strong = value is not None and abs(value.mean - 0.5) > 0.35  # dark cell: white text
            color = "white" if strong else "black"
            text = heatmap_cell_text(value)
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=color)
            if value is not None and value.flags:
                ax.add_patch(
                    Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="//", lw=0, alpha=0.5)
                )
    ax.set_xticks(range(len(columns)), labels=column_labels, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), labels=row_labels, fontsize=9)
    ax.set_xlabel("test set")
    ax.set_ylabel("detector")
    ax.set_title(
        "Frame AUC (mean over seeds)\nwhite = chance (0.5); hatched ⚠: small N or collapsed scores",
        fontsize=9,
    )
    bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02, label="AUC")
    bar.set_ticks([0.0, 0.25, 0.5, 0.75, 1.0])
    return fig


def _wrap(label: str, width: int) -> str:
    """A label broken into lines of at most `width` characters, at spaces where it can."""
    return "\n".join(textwrap.wrap(label, width, break_on_hyphens=False)) or label
