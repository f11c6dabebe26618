"""One refresh of a source at a time: across replicas on PostgreSQL, within the process on SQLite."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection

# The process's own locks, for SQLite (one replica): they stand for this process, which is what a
# module holds; PostgreSQL's advisory locks stand for the whole deployment.
_local_locks: dict[tuple[str, str], threading.Lock] = {}
_registry = threading.Lock()


def lock_key(name: str) -> sa.ColumnElement[int]:
    """An advisory lock's 64-bit key, computed by PostgreSQL from the schema and the name: stable across
    processes and replicas, and distinct for deployments that share a database in separate schemas."""
    return sa.func.hashtextextended(sa.func.concat(sa.func.current_schema(), f":stairway:{name}"), 0)


@contextmanager
def refresh_transaction(connection: Connection, source: str) -> Iterator[bool]:
    """A transaction on `connection` in which this process alone refreshes `source`; yields False
    (and writes nothing) when another refresh of it holds the lock.

    On PostgreSQL the lock is a transaction-level advisory lock: it goes with the commit or the
    rollback, or with the connection if the replica dies. On SQLite a lock in this process is held
    until after the commit (SQLite itself lets one writer in).
    """
    if connection.dialect.name == "postgresql":
        with connection.begin():
            yield take_lock(connection, f"source:{source}", wait=False)
        return
    key = (str(connection.engine.url), source)
    with _registry:
        lock = _local_locks.setdefault(key, threading.Lock())
    if not lock.acquire(blocking=False):
        yield False
        return
    try:
        with connection.begin():
            yield True
    finally:
        lock.release()


def take_lock(connection: Connection, name: str, wait: bool = True) -> bool:
    """On PostgreSQL, the transaction-level advisory lock `name` (waiting for it, unless not `wait`);
    whether it is held. Elsewhere there is nothing to take: True."""
    if connection.dialect.name != "postgresql":
        return True
    if wait:
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(lock_key(name))))
        return True
    return bool(connection.execute(sa.select(sa.func.pg_try_advisory_xact_lock(lock_key(name)))).scalar_one())
