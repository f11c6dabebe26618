"""Shared fixtures: a real database per test (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from catalog.database import create_engine, database_url, migrate

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "catalog"
CORPUS = REPO.parent / "shared" / "corpus"
POSTGRES_URL = os.environ.get("STAIRWAY_TEST_DATABASE_URL")

BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def _postgres_engine(schema: str) -> Engine:
    url = sa.make_url(database_url(POSTGRES_URL)).update_query_dict({"options": f"-csearch_path={schema}"})
    return create_engine(url.render_as_string(hide_password=False))


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty, migrated database of each configured backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'stairway.db'}"
        engine = create_engine(url)
        migrate(engine)
        engine.dispose()
        yield url
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = _postgres_engine(schema)
    migrate(engine)
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(database: str) -> Iterator[Engine]:
    """An engine on the test database."""
    engine = create_engine(database)
    yield engine
    engine.dispose()


class StatementCounter:
    """Counts the SQL statements an engine runs, by their first word."""

    def __init__(self, engine: Engine) -> None:
        self.statements: list[str] = []
        self.texts: list[str] = []
        sa.event.listen(engine, "before_cursor_execute", self._record)
        self.engine = engine

    def _record(self, _conn: object, _cursor: object, statement: str, *_args: object) -> None:
        self.statements.append(statement.lstrip().split(None, 1)[0].upper())
        self.texts.append(statement)

    def writes(self) -> list[str]:
        return [s for s in self.statements if s in ("INSERT", "UPDATE", "DELETE")]

    def writes_except(self, *tables: str) -> list[str]:
        """The INSERT, UPDATE and DELETE statements that touch none of `tables`."""
        return [
            text
            for word, text in zip(self.statements, self.texts, strict=True)
            if word in ("INSERT", "UPDATE", "DELETE") and not any(table in text for table in tables)
        ]

    def reads(self) -> list[str]:
        return [s for s in self.statements if s == "SELECT"]

    def reset(self) -> None:
        self.statements.clear()
        self.texts.clear()

    def close(self) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._record)


@pytest.fixture
def statements(engine: Engine) -> Iterator[StatementCounter]:
    """A counter of the statements run on `engine` from now on."""
    counter = StatementCounter(engine)
    yield counter
    counter.close()
