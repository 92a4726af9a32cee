"""Small HTML summaries for notebooks (`_repr_html_`): a title, a few facts, a few tables.

Plain string building with every value escaped: the summaries are a few kB, and the core
dependencies stay short (jinja2 is for the report, an optional extra).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

__all__ = ["card", "table"]

_STYLE = (
    "<style>.tradesim-card table{border-collapse:collapse;margin:0.3em 0 0.8em}"
    ".tradesim-card th,.tradesim-card td{padding:0.15em 0.6em;text-align:right}"
    ".tradesim-card th:first-child,.tradesim-card td:first-child{text-align:left}"
    ".tradesim-card caption{text-align:left;font-weight:bold;padding:0.2em 0}</style>"
)


def table(
    header: Sequence[str], rows: Iterable[Sequence[object]], caption: str = "", left: int = 1
) -> str:
    """An HTML table; every cell escaped; the first `left` columns (words) left-aligned, the
    rest (numbers) right-aligned."""
    style = " style='text-align:left'"

    def cell(tag: str, k: int, value: object) -> str:
        return f"<{tag}{style if k < left else ''}>{escape(str(value))}</{tag}>"

    head = "".join(cell("th", k, h) for k, h in enumerate(header))
    body = "".join(
        "<tr>" + "".join(cell("td", k, c) for k, c in enumerate(row)) + "</tr>" for row in rows
    )
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def card(title: str, facts: Sequence[tuple[str, object]], tables: Sequence[str] = ()) -> str:
    """A titled block: facts as a two-column table, then `tables` (already HTML)."""
    rows = "".join(
        f"<tr><th>{escape(str(k))}</th><td style='text-align:left'>{escape(str(v))}</td></tr>"
        for k, v in facts
    )
    return (
        f"{_STYLE}<div class='tradesim-card'><strong>{escape(title)}</strong>"
        f"<table>{rows}</table>{''.join(tables)}</div>"
    )
