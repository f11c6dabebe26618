"""Database engines and schema migrations: SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from catalog.locks import take_lock
from catalog.median import register_median

DEFAULT_DATABASE_URL = "sqlite:///stairway.db"
MIGRATIONS = Path(__file__).with_name("migrations")


def database_url(url: str | None = None) -> str:
    """The URL given, else `STAIRWAY_DATABASE_URL`, else a SQLite file in the working directory."""
    url = url or os.environ.get("STAIRWAY_DATABASE_URL") or DEFAULT_DATABASE_URL
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def create_engine(url: str | None = None) -> Engine:
    """An engine for the URL, with SQLite tuned for one writer and many readers."""
    url = database_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        sa.event.listen(engine, "connect", _tune_sqlite)
        sa.event.listen(engine, "begin", _begin_sqlite)
        return engine
    # A database that does not answer fails a connection in seconds, not after the OS's minutes.
    return sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})


def _tune_sqlite(connection: object, _record: object) -> None:
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA page_size=8192")  # new files only: fewer, fuller pages for ~1 KB rows
    _set_journal_mode(cursor, "WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-32768")  # 32 MiB: bulk index inserts thrash the 2 MiB default
    # Checkpoint at 4,096 pages of log (32 MiB), not at the default 1,000: a batch of 1,000 deployments
    # dirties more than that (its rows land all over the entity indexes), so nearly every commit ran a
    # checkpoint; less often, a checkpoint writes a page rewritten by several commits once.
    cursor.execute("PRAGMA wal_autocheckpoint=4096")
    cursor.close()
    register_median(connection)  # type: ignore[arg-type]  # the DORA keys' medians
    # Python's sqlite3 opens a transaction only before INSERT/UPDATE/DELETE, so DDL such as an
    # ingest's DROP INDEX would commit on its own. Take over: SQLAlchemy's begin emits BEGIN.
    connection.isolation_level = None  # type: ignore[attr-defined]


def _begin_sqlite(connection: sa.Connection) -> None:
    connection.exec_driver_sql("BEGIN")


def _set_journal_mode(cursor: sqlite3.Cursor, mode: str) -> bool:
    """Switch the file's journal mode; False when another connection holds it open (a later one switches)."""
    try:
        row = cursor.execute(f"PRAGMA journal_mode={mode}").fetchone()
    except sqlite3.OperationalError:  # "database is locked": WAL comes and goes only with one connection
        return False
    return str(row[0]).upper() == mode


@contextmanager
def bulk_load_journal(connection: sa.Connection) -> Iterator[None]:
    """On SQLite, while a whole catalogue is written into empty tables, a rollback journal instead of the WAL.

    In WAL mode every page is written twice, to the log and at the checkpoint into the file; a
    rollback journal saves only pages that existed before, and an empty catalogue has almost none.
    Readers meanwhile see the empty catalogue, as they would in WAL mode. Call it outside a
    transaction; when another connection has the file open, nothing changes. WAL comes back after.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    switched = _set_journal_mode(cursor, "DELETE")
    try:
        yield
    finally:
        if switched:
            _set_journal_mode(cursor, "WAL")
        cursor.close()


def alembic_config() -> Config:
    """Alembic's configuration for Stairway's migrations (the connection is handed over in `attributes`)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine) -> tuple[str | None, str | None]:
    """Bring the database's schema up to the newest migration; the revisions before and after.

    The whole upgrade is one transaction. On PostgreSQL it first takes an advisory lock, so that
    replicas starting together (or `stairway migrate` beside a starting server) take turns: the
    first upgrades, the others wait and then find nothing to do.
    """
    config = alembic_config()
    with engine.begin() as connection:
        take_lock(connection, "migrate")
        before = MigrationContext.configure(connection).get_current_revision()
        if schema_state(before) == AHEAD:
            raise SchemaAhead(before)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        return before, MigrationContext.configure(connection).get_current_revision()


CURRENT, BEHIND, AHEAD = "current", "behind", "ahead"


class SchemaAhead(RuntimeError):
    """The database was migrated by a newer Stairway than this one."""

    def __init__(self, revision: str | None) -> None:
        super().__init__(
            f"the database's schema is at revision {revision}, which this version of Stairway does not know "
            f"(its newest is {newest_revision()}): a newer version migrated it"
        )


def current_revision(engine: Engine) -> str | None:
    """The revision the database's schema is at (None: not migrated at all)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_state(revision: str | None) -> str:
    """CURRENT when `revision` is this version's newest, BEHIND when it is older, AHEAD when this
    version does not know it (a newer one migrated the database)."""
    newest = newest_revision()
    if revision == newest:
        return CURRENT
    if revision is None:
        return BEHIND
    scripts = ScriptDirectory.from_config(alembic_config())
    try:
        scripts.get_revision(revision)
    except Exception:  # alembic raises several kinds for a revision it has no script for
        return AHEAD
    return BEHIND


def newest_revision() -> str | None:
    """The revision `migrate` brings a database to."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
