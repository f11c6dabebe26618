"""One refresh of a source at a time: across replicas on PostgreSQL, within the process on SQLite."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_local_locks: dict[tuple[str, str], threading.Lock] = {}
_registry = threading.Lock()


def lock_key(source: str) -> int:
    """The advisory lock's 64-bit key for a source: stable across processes and replicas."""
    digest = hashlib.blake2b(f"stairway-source:{source}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def refresh_lock(connection: Connection, source: str) -> Iterator[bool]:
    """Whether this connection may refresh `source` now; False when another refresh holds it.

    Call inside the refresh's transaction. On PostgreSQL the lock is a transaction-level advisory
    lock: it goes with the commit or rollback, or with the connection if the replica dies. SQLite
    serves one replica, so a lock in this process is enough (SQLite itself lets one writer in).
    """
    if connection.dialect.name == "postgresql":
        held = connection.execute(sa.select(sa.func.pg_try_advisory_xact_lock(lock_key(source)))).scalar_one()
        yield bool(held)
        return
    key = (str(connection.engine.url), source)
    with _registry:
        lock = _local_locks.setdefault(key, threading.Lock())
    if not lock.acquire(blocking=False):
        yield False
        return
    try:
        yield True
    finally:
        lock.release()
