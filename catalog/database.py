"""Database engines and schema migrations: SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

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
    return sa.create_engine(url, pool_pre_ping=True)


def _tune_sqlite(connection: object, _record: object) -> None:
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA page_size=8192")  # new files only: fewer, fuller pages for ~1 KB rows
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-32768")  # 32 MiB: bulk index inserts thrash the 2 MiB default
    cursor.close()
    # Python's sqlite3 opens a transaction only before INSERT/UPDATE/DELETE, so DDL such as an
    # ingest's DROP INDEX would commit on its own. Take over: SQLAlchemy's begin emits BEGIN.
    connection.isolation_level = None  # type: ignore[attr-defined]


def _begin_sqlite(connection: sa.Connection) -> None:
    connection.exec_driver_sql("BEGIN")


def migrate(engine: Engine) -> None:
    """Bring the database's schema up to the newest migration."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
