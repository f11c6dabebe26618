"""Statements straight through the database driver, for the bulk paths (ingest, scoring).

Building a SQLAlchemy row or parameter dict per record costs more than the statement itself when
there are tens of thousands of them. SQL here is written with `?` placeholders; `native` turns it
into the driver's own style.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def native(connection: Connection, sql: str) -> str:
    """SQL written with `?` placeholders, in the driver's style (`%s` for psycopg)."""
    if connection.dialect.paramstyle == "qmark":
        return sql
    return sql.replace("%", "%%").replace("?", "%s")


def scan(connection: Connection, sql: str, params: Sequence[object] = ()) -> Iterator[tuple[Any, ...]]:
    """Rows of a query, in the connection's transaction, as the driver gives them (SQLite: timestamps as text)."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(native(connection, sql), tuple(params))
        while rows := cursor.fetchmany(10_000):
            yield from rows
    finally:
        cursor.close()


def execute_many(connection: Connection, sql: str, rows: list[tuple[object, ...]]) -> None:
    """One statement for many tuples of parameters (nothing to do for none)."""
    if rows:
        connection.exec_driver_sql(native(connection, sql), rows)


def insert_rows(connection: Connection, table: str, columns: Sequence[str], rows: list[tuple[object, ...]]) -> None:
    """Insert tuples, already bound (see `bound`), in the order of `columns`."""
    marks = ", ".join("?" * len(columns))
    execute_many(connection, f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def bound(connection: Connection, column: sa.Column[Any], value: object) -> object:
    """A value as the column's type binds it for this database: computed once, used for every row."""
    return binder(connection, column)(value)


def binder(connection: Connection, column: sa.Column[Any]) -> Callable[[Any], object]:
    """What turns a value into what the column's type binds for this database (for one value per row)."""
    processor = column.type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
    if processor is None:
        return lambda value: value
    return processor
