"""SQLite's `median(x)` aggregate: the middle value, the mean of the two middle ones for an even count, NULLs
skipped; registered on every connection Stairway's engines open."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from catalog.database import create_engine
from catalog.median import register_median


@pytest.fixture
def connection() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    register_median(connection)
    connection.execute("CREATE TABLE observed (key TEXT, value REAL)")
    yield connection
    connection.close()


def medians(connection: sqlite3.Connection, rows: list[tuple[str, float | None]]) -> dict[str, float | None]:
    connection.executemany("INSERT INTO observed VALUES (?, ?)", rows)
    return dict(connection.execute("SELECT key, median(value) FROM observed GROUP BY key").fetchall())


def test_an_odd_count_gives_the_middle_value_in_any_order(connection: sqlite3.Connection) -> None:
    assert medians(connection, [("a", 7.0), ("a", 1.0), ("a", 100.0), ("b", 3.5)]) == {"a": 7.0, "b": 3.5}


def test_an_even_count_gives_the_mean_of_the_two_middle_values(connection: sqlite3.Connection) -> None:
    rows = [("a", 10.0), ("a", 2.0), ("a", 4.0), ("a", 7.0), ("b", 1.0), ("b", 2.0)]
    assert medians(connection, rows) == {"a": 5.5, "b": 1.5}


def test_nulls_are_skipped_and_a_group_of_only_nulls_has_none(connection: sqlite3.Connection) -> None:
    rows = [("a", None), ("a", 9.0), ("a", 1.0), ("a", None), ("b", None)]
    assert medians(connection, rows) == {"a": 5.0, "b": None}


def test_whole_numbers_and_repeated_values(connection: sqlite3.Connection) -> None:
    assert medians(connection, [("a", 3), ("a", 3), ("a", 3), ("a", 8)]) == {"a": 3.0}


def test_no_rows_at_all_is_null(connection: sqlite3.Connection) -> None:
    assert connection.execute("SELECT median(value) FROM observed").fetchone() == (None,)


def test_every_connection_of_a_sqlite_engine_has_it(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'median.db'}")
    try:
        values = sa.union_all(*(sa.select(sa.literal(value).label("value")) for value in (4.0, 1.0, 2.0, 8.0)))
        median = sa.select(sa.func.median(values.subquery().c.value))
        for _ in range(2):  # a second, fresh connection too
            with engine.connect() as connection:
                assert connection.execute(median).scalar_one() == 3.0
            engine.dispose()
    finally:
        engine.dispose()
