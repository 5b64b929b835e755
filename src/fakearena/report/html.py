"""A self-contained HTML leaderboard: tables plus PNGs embedded as base64 (one file to share).

Layout rules (checked in tests/test_leaderboard_layout.py): a table wider than the window
scrolls inside its own box, never the page; names wrap instead of widening their column and
stay in view (sticky) while the metrics scroll past; nothing is cut to fit.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path

from fakearena.report.table import Link, Table


@dataclass
class Figure:
    """An image block of the report."""

    title: str
    path: Path


STYLE = """
body { font-family: -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 24px;
       color: #1f2328; background: #fff; max-width: 1600px; }
h1 { font-size: 26px; margin-bottom: 4px; }
h2 { font-size: 19px; margin-top: 30px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.meta { color: #59636e; font-size: 13px; }
table { border-collapse: separate; border-spacing: 0; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #d0d7de; border-width: 0 1px 1px 0; padding: 4px 8px;
         text-align: right; white-space: nowrap; background: #fff; }
tr > :first-child { border-left-width: 1px; }
thead th { border-top-width: 1px; }
th { background: #f6f8fa; position: sticky; top: 0; z-index: 2; }
td.text, th.text { text-align: left; }
td.wrap, th.wrap { white-space: normal; overflow-wrap: anywhere; min-width: 9em; max-width: 16em;
                   text-align: left; }
td.name, th.name { white-space: normal; overflow-wrap: anywhere; min-width: 12em;
                   max-width: 22em; text-align: left; }
.sticky { position: sticky; left: 0; z-index: 1; box-shadow: 1px 0 0 #d0d7de; }
th.sticky { z-index: 3; }
tr:nth-child(even) td { background: #fafbfc; }
tr.first td { border-top: 2px solid #8c959f; }
td.missing { color: #9198a1; text-align: center; }
.note { color: #59636e; font-size: 12px; margin: 2px 0 10px; max-width: 1100px; }
.scroll { overflow-x: auto; max-width: 100%; }
figure { display: inline-block; margin: 8px 16px 8px 0; vertical-align: top; max-width: 100%; }
figure img { max-width: min(720px, 100%); max-height: 640px; border: 1px solid #d0d7de; }
figure img.small { min-width: 256px; image-rendering: pixelated; }
figure img.wide { max-width: 100%; max-height: none; }
figcaption { font-size: 12px; color: #59636e; }
a { color: #0969da; text-decoration: none; } a:hover { text-decoration: underline; }
"""
# Columns that name a configuration: they wrap, and stay in view while a wide table scrolls.
NAME_COLUMNS = {"detector", "generator"}
# Other text columns that may be long (test set names, train data, per-source sets).
WRAP_COLUMNS = {"test set", "train data", "train \\ test"}
TEXT_COLUMNS = {
    "detector",
    "generator",
    "train data",
    "test set",
    "train \\ test",
    "commit",
    "env",
    "seeds (runs)",
    "packages",
}


def data_uri(path: Path) -> str:
    """An image file as a data: URI."""
    suffix = path.suffix.lower().lstrip(".")
    mime = {"jpg": "jpeg"}.get(suffix, suffix)
    payload = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"data:image/{mime};base64,{payload}"


def table_html(table: Table) -> str:
    """One table (with its title and note) as HTML, scrolling inside its own box."""
    classes = [_column_class(h) for h in table.headers]
    head = "".join(
        f'<th class="{css}">{html.escape(h)}</th>' for css, h in zip(classes, table.headers)
    )
    body = []
    # a rank starts a configuration's block; its continuation rows have none
    ranked = bool(table.headers) and table.headers[0] == "#"
    grouped = ranked and any(row[0] == "" for row in table.rows)
    for index, row in enumerate(table.rows):
        starts_group = grouped and index > 0 and row[0] != ""
        cells = []
        for css, value in zip(classes, row):
            if isinstance(value, list):
                links = " ".join(
                    f'<a href="{html.escape(link.href)}">{html.escape(link.text)}</a>'
                    for link in value
                    if isinstance(link, Link)
                )
                cells.append(f'<td class="text">{links}</td>')
            elif value == "-":
                cells.append(f'<td class="{f"missing {css}".strip()}">-</td>')
            else:
                cells.append(f'<td class="{css}">{html.escape(str(value))}</td>')
        body.append(f'<tr class="{"first" if starts_group else ""}">{"".join(cells)}</tr>')
    note = f'<p class="note">{html.escape(table.note)}</p>' if table.note else ""
    return (
        f"<h2>{html.escape(table.title)}</h2>{note}<div class='scroll'><table>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _column_class(header: str) -> str:
    """CSS classes of a column: a name wraps and sticks at the left edge once the columns
    before it scrolled away; other long text wraps."""
    if header in NAME_COLUMNS:
        return "name sticky"
    if header in WRAP_COLUMNS:
        return "wrap"
    return "text" if header in TEXT_COLUMNS else ""


def figures_html(title: str, figures: list[Figure]) -> str:
    """A titled row of embedded images."""
    items = "".join(
        f'<figure><img class="{_size_class(f.path)}" src="{data_uri(f.path)}" '
        f'alt="{html.escape(f.title)}"><figcaption>{html.escape(f.title)}</figcaption></figure>'
        for f in figures
    )
    return f"<h2>{html.escape(title)}</h2><div>{items}</div>"


def _size_class(path: Path) -> str:
    """ "small" for images narrower than 256 px (shown enlarged, pixels kept sharp)."""
    from PIL import Image

    with Image.open(path) as image:
        return "small" if image.width < 256 else ""


def render_html(title: str, meta: list[str], blocks: list[Table | tuple[str, list[Figure]]]) -> str:
    """The whole page: a header, then tables and figure groups in order."""
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        *(f'<div class="meta">{html.escape(line)}</div>' for line in meta),
    ]
    for block in blocks:
        if isinstance(block, Table):
            parts.append(table_html(block))
        else:
            parts.append(figures_html(*block))
    parts.append("</body></html>")
    return "\n".join(parts)
