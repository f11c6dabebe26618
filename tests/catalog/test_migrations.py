"""The Alembic migrations create exactly the schema the models describe, keep the data of older
databases, and run once however many replicas start together."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import catalog.tables  # noqa: F401  (registers the tables)
import scorecards.tables  # noqa: F401
from catalog.database import alembic_config, create_engine, migrate, newest_revision
from catalog.ingest import ingest
from catalog.provenance import to_utc
from catalog.tables import ENTITIES
from tests.conftest import BACKENDS, EXAMPLES


def test_migrated_database_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == []


def test_migrating_twice_is_harmless(engine: Engine) -> None:
    migrate(engine)
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == newest_revision() == "0006"


FIRST_TABLES = ("entities", "entity_tags", "relations", "processing_errors", "source_files")


def rows(connection: sa.Connection, table: sa.Table, columns: list[str]) -> list[tuple[object, ...]]:
    """The rows' values, times in UTC (SQLite hands them back naive, PostgreSQL with a zone)."""
    selected = [table.c[name] for name in columns]
    return [
        tuple(to_utc(value) if isinstance(value, datetime) else value for value in row)
        for row in connection.execute(sa.select(*selected).order_by(*selected))
    ]


def test_a_database_made_by_the_first_migration_keeps_its_data_through_every_later_one(
    engine: Engine, tmp_path: Path
) -> None:
    # The example catalogue as today's code stores it, in a database of its own ...
    current = create_engine(f"sqlite:///{tmp_path / 'current.db'}")
    migrate(current)
    assert ingest(current, [str(EXAMPLES)], workers=0).errors == 0
    # ... copied into the tables of a database the first migration made, as a 0001 install held it.
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
        command.upgrade(config, "0001")
    first = sa.MetaData()
    kept: dict[str, tuple[list[str], list[tuple[object, ...]]]] = {}
    with current.connect() as source, engine.begin() as target:
        for name in FIRST_TABLES:
            old = sa.Table(name, first, autoload_with=target)
            new = sa.Table(name, sa.MetaData(), autoload_with=source)
            renamed = {"has_errors": "read_again"}  # 0004 renamed it
            columns = [column.name for column in old.columns]
            copied = rows(source, new, [renamed.get(column, column) for column in columns])
            target.execute(old.insert(), [dict(zip(columns, row, strict=True)) for row in copied])
            kept[name] = (columns, copied)
    assert len(kept["entities"][1]) > 20 and all(copied for _columns, copied in kept.values())

    assert migrate(engine) == ("0001", newest_revision())

    with engine.connect() as migrated, current.connect() as source:
        for name, (columns, before) in kept.items():
            table = sa.Table(name, sa.MetaData(), autoload_with=migrated)
            renamed = [{"has_errors": "read_again"}.get(column, column) for column in columns]
            assert rows(migrated, table, renamed) == before, name
        # 0003 read each entity's provenance from the body it kept, as an ingest does today.
        provenance = ["ref", "template_ref", "template_version"]
        assert rows(migrated, ENTITIES, provenance) == rows(source, ENTITIES, provenance)
        assert any(row[1] for row in rows(migrated, ENTITIES, provenance))
    current.dispose()
    # Today's code takes the migrated database as its own: nothing read again is new or changed.
    again = ingest(engine, [str(EXAMPLES)], workers=0)
    assert (again.added, again.updated, again.removed, again.errors) == (0, 0, 0, 0)


ONLY_POSTGRES = [backend for backend in BACKENDS if backend == "postgresql"]


@pytest.mark.parametrize("database", ONLY_POSTGRES, indirect=True)
def test_replicas_starting_together_migrate_one_at_a_time(engine: Engine) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")  # a new, empty database
    replicas = 4
    barrier = threading.Barrier(replicas)
    engines = [create_engine(engine.url.render_as_string(hide_password=False)) for _ in range(replicas)]

    def start(replica: Engine) -> tuple[str | None, str | None]:
        barrier.wait()
        return migrate(replica)

    try:
        with ThreadPoolExecutor(replicas) as pool:
            outcomes = list(pool.map(start, engines))
    finally:
        for replica in engines:
            replica.dispose()
    head = newest_revision()
    assert (outcomes.count((None, head)), outcomes.count((head, head))) == (1, replicas - 1)
