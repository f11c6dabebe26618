"""The Alembic migrations create exactly the schema the models describe, keep the data of older
databases, and run once however many replicas start together."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
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
from scorecards.dora import DoraKeys, dora_keys
from scorecards.tables import DEPLOYMENT_CHANGES
from tests.conftest import BACKENDS, EXAMPLES


def test_migrated_database_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == []


def test_migrating_twice_is_harmless(engine: Engine) -> None:
    migrate(engine)
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == newest_revision() == "0007"


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


# 0007: deployment_commits became deployment_changes, each change with the lead time it counts with. The
# tables as 0006 made them, and a delivery history whose keys are worked out by hand.

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FINISHED = NOW - timedelta(days=1)
AT_0006 = sa.MetaData()
DEPLOYMENTS_0006 = sa.Table(
    "deployments",
    AT_0006,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("entity_ref", sa.String(512)),
    sa.Column("environment", sa.String(63)),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("status", sa.String(16)),
    sa.Column("rollback", sa.Boolean),
    sa.Column("version", sa.String(255)),
    sa.Column("lead_time_seconds", sa.Float),
    sa.Column("content_hash", sa.String(64)),
    sa.Column("received_at", sa.DateTime(timezone=True)),
)
COMMITS_0006 = sa.Table(
    "deployment_commits",
    AT_0006,
    sa.Column("deployment_id", sa.String(255), primary_key=True),
    sa.Column("sha", sa.String(64), primary_key=True),
    sa.Column("committed_at", sa.DateTime(timezone=True)),
)
# d1 shipped commits 1 h 0.5 s and 4 h old, d2 failed (its commit counts for nothing), d3 gave 2 h instead of
# commits, d4 failed giving 10 h, d5 went to staging. Production: 4 deployments, 2 failed; lead times
# 3600.5 s, 4 h and 2 h: median 2 h.
DEPLOYED_0006 = [
    ("d1", "success", "production", None, [("bbbbbbb", timedelta(hours=4)), ("aaaaaaa", timedelta(seconds=3600.5))]),
    ("d2", "failure", "production", None, [("ccccccc", timedelta(hours=5))]),
    ("d3", "success", "production", 7200.0, []),
    ("d4", "failure", "production", 36000.0, []),
    ("d5", "success", "staging", None, [("ddddddd", timedelta(hours=50))]),
]
A_COMPONENT = "component:default/alpha"


def _at_0006_with_deployments(engine: Engine) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
    with engine.begin() as connection:
        for deployment_id, status, environment, lead_time, commits in DEPLOYED_0006:
            connection.execute(
                DEPLOYMENTS_0006.insert().values(
                    id=deployment_id,
                    entity_ref=A_COMPONENT,
                    environment=environment,
                    finished_at=FINISHED,
                    status=status,
                    rollback=False,
                    lead_time_seconds=lead_time,
                    content_hash="-",
                    received_at=NOW,
                )
            )
            for sha, age in commits:
                connection.execute(
                    COMMITS_0006.insert().values(deployment_id=deployment_id, sha=sha, committed_at=FINISHED - age)
                )


def test_0007_carries_commits_and_given_lead_times_over_as_changes(engine: Engine) -> None:
    _at_0006_with_deployments(engine)

    assert migrate(engine) == ("0006", newest_revision())

    columns = ["deployment_id", "position", "sha", "committed_at", "environment", "finished_at", "lead_seconds"]
    with engine.connect() as connection:
        changes = rows(connection, DEPLOYMENT_CHANGES, columns)
        assert set(connection.execute(sa.select(DEPLOYMENT_CHANGES.c.entity_ref)).scalars()) == {A_COMPONENT}
        keys = dora_keys(connection, None, NOW)
    assert changes == [
        ("d1", 0, "aaaaaaa", FINISHED - timedelta(seconds=3600.5), "production", FINISHED, 3600.5),  # sha order
        ("d1", 1, "bbbbbbb", FINISHED - timedelta(hours=4), "production", FINISHED, 14400.0),
        ("d2", 0, "ccccccc", FINISHED - timedelta(hours=5), "production", FINISHED, None),
        ("d3", 0, None, None, "production", FINISHED, 7200.0),
        ("d4", 0, None, None, "production", FINISHED, None),
        ("d5", 0, "ddddddd", FINISHED - timedelta(hours=50), "staging", FINISHED, 180000.0),
    ]
    assert keys == {A_COMPONENT: DoraKeys(4, 2, 4 * 7 / 90, 2.0, 0.5, None)}


def test_0007_downgrades_to_the_commits_it_started_from(engine: Engine) -> None:
    _at_0006_with_deployments(engine)
    with engine.connect() as connection:
        before = rows(connection, COMMITS_0006, ["deployment_id", "sha", "committed_at"])
    assert len(before) == 4
    migrate(engine)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
    with engine.connect() as connection:
        assert rows(connection, COMMITS_0006, ["deployment_id", "sha", "committed_at"]) == before
        inspector = sa.inspect(connection)
        assert "deployment_changes" not in inspector.get_table_names()
        indexes = {index["name"]: index["column_names"] for index in inspector.get_indexes("deployments")}
    assert indexes == {
        "ix_deployments_entity_time": ["entity_ref", "environment", "finished_at"],
        "ix_deployments_environment_time": ["environment", "finished_at"],
    }
    # ... and up again, as new.
    migrate(engine)
    with engine.connect() as connection:
        assert dora_keys(connection, None, NOW) == {A_COMPONENT: DoraKeys(4, 2, 4 * 7 / 90, 2.0, 0.5, None)}
