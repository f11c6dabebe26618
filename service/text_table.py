"""Plain-text tables for the command line: columns padded to their widest cell."""

from __future__ import annotations

from collections.abc import Sequence


def format_table(rows: Sequence[Sequence[str]], free_last: bool = False) -> list[str]:
    """The rows as lines of padded columns; with `free_last` the last column (e.g. a long reason)
    is not padded and does not widen the others."""
    padded = len(rows[0]) - 1 if free_last else len(rows[0])
    widths = [max(len(row[column]) for row in rows) for column in range(padded)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:padded], widths, strict=True)]
        lines.append("  ".join([*cells, *row[padded:]]).rstrip())
    return lines
