"""`median(x)`, an aggregate function for SQLite, registered on every connection Stairway opens to it.

SQLite has no percentile function; PostgreSQL's `percentile_cont(0.5) WITHIN GROUP (ORDER BY x)` is its
counterpart there. Computing a median with window functions instead (row_number and count over each
group, then the middle rows) took SQLite seconds for a few hundred thousand values: its window functions
sort and buffer every partition, while an aggregate only keeps the values of the group at hand.

Like SQL's own aggregates, `median` skips NULLs, and is NULL for a group without any value. For an even
number of values it is the mean of the two middle ones.
"""

from __future__ import annotations

import sqlite3
import statistics

NAME = "median"


class Median:
    """The state of one group: SQLite calls `step` with each value, then `finalize` for the answer."""

    def __init__(self) -> None:
        self.values: list[float | None] = []
        # Called once a row: the list's own append runs no Python code, a fifth faster than a method.
        self.step = self.values.append

    def finalize(self) -> float | None:
        values = [value for value in self.values if value is not None]
        return statistics.median(values) if values else None


def register_median(connection: sqlite3.Connection) -> None:
    """Make `median(x)` available to SQL on this SQLite connection."""
    connection.create_aggregate(NAME, 1, Median)  # type: ignore[arg-type]  # typeshed allows int values only
