"""A scratch database for a benchmark: a temporary SQLite file, a given SQLite file, or a throwaway
PostgreSQL schema dropped afterwards; migrated and empty."""

from __future__ import annotations

import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from catalog.database import create_engine, database_url, migrate


@contextmanager
def scratch_engine(url: str | None) -> Iterator[sa.engine.Engine]:
    """A migrated, empty database: a temporary SQLite file, the given SQLite file, or a scratch schema."""
    if url is None:
        with tempfile.TemporaryDirectory() as folder:
            engine = create_engine(f"sqlite:///{folder}/dora.db")
            migrate(engine)
            yield engine
            engine.dispose()
        return
    if url.startswith("sqlite"):
        engine = create_engine(url)
        migrate(engine)
        yield engine
        engine.dispose()
        return
    schema = f"bench_dora_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    scoped = sa.make_url(database_url(url)).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = create_engine(scoped.render_as_string(hide_password=False))
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
