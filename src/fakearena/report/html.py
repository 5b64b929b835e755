"""A self-contained HTML leaderboard: tables plus PNGs embedded as base64 (one file to share)."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path

from fakearena.report.tables import Link, Table


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
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: right; white-space: nowrap; }
th { background: #f6f8fa; position: sticky; top: 0; }
td.text, th.text { text-align: left; }
tr:nth-child(even) td { background: #fafbfc; }
tr.first td { border-top: 2px solid #8c959f; }
td.missing { color: #9198a1; text-align: center; }
.note { color: #59636e; font-size: 12px; margin: 2px 0 10px; }
.scroll { overflow-x: auto; }
figure { display: inline-block; margin: 8px 16px 8px 0; vertical-align: top; }
figure img { max-width: 720px; max-height: 640px; border: 1px solid #d0d7de; }
figure img.small { min-width: 256px; image-rendering: pixelated; }
figcaption { font-size: 12px; color: #59636e; }
a { color: #0969da; text-decoration: none; } a:hover { text-decoration: underline; }
"""
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
    """One table (with its title and note) as HTML."""
    text_cols = {i for i, h in enumerate(table.headers) if h in TEXT_COLUMNS}
    head = "".join(
        f'<th class="{"text" if i in text_cols else ""}">{html.escape(h)}</th>'
        for i, h in enumerate(table.headers)
    )
    body = []
    # a rank starts a configuration's block; its continuation rows have none
    ranked = bool(table.headers) and table.headers[0] == "#"
    grouped = ranked and any(row[0] == "" for row in table.rows)
    for index, row in enumerate(table.rows):
        starts_group = grouped and index > 0 and row[0] != ""
        cells = []
        for i, value in enumerate(row):
            if isinstance(value, list):
                links = " ".join(
                    f'<a href="{html.escape(link.href)}">{html.escape(link.text)}</a>'
                    for link in value
                    if isinstance(link, Link)
                )
                cells.append(f'<td class="text">{links}</td>')
            elif value == "-":
                cells.append('<td class="missing">-</td>')
            else:
                css = "text" if i in text_cols else ""
                cells.append(f'<td class="{css}">{html.escape(str(value))}</td>')
        body.append(f'<tr class="{"first" if starts_group else ""}">{"".join(cells)}</tr>')
    note = f'<p class="note">{html.escape(table.note)}</p>' if table.note else ""
    return (
        f"<h2>{html.escape(table.title)}</h2>{note}<div class='scroll'><table>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


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
