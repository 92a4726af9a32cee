"""Plain-text tables for the terminal: columns as wide as their widest cell."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["aligned"]


def aligned(rows: Sequence[Sequence[str]], *, left: int = 1, gap: int = 2) -> list[str]:
    """Rows of cells as lines with every column as wide as its widest cell: the first
    `left` columns left-aligned, the rest (numbers) right-aligned, `gap` spaces between."""
    if not rows:
        return []
    ncols = max(len(row) for row in rows)
    widths = [max(len(row[k]) for row in rows if k < len(row)) for k in range(ncols)]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(widths[k]) if k < left else cell.rjust(widths[k])
            for k, cell in enumerate(row)
        ]
        lines.append((" " * gap).join(cells).rstrip())
    return lines
