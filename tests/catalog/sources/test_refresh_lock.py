"""One refresh of a source at a time: a replica that finds the source being refreshed skips it."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from catalog.ingest import IngestError, ingest
from catalog.locks import refresh_transaction
from catalog.sources.definitions import FileSource, Schedule
from catalog.sources.status import NEVER, OK, SKIPPED, source_states
from catalog.tables import ENTITIES, utc_now
from tests.catalog.sources.conftest import Refresh
from tests.catalog.sources.test_git import component

MANUAL = Schedule(frequency=None)


def test_a_source_another_replica_is_refreshing_is_skipped_and_others_go_on(
    engine: Engine, refresh: Refresh, tmp_path: Path
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "catalog-info.yaml").write_text(component("alpha"))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "catalog-info.yaml").write_text(component("beta"))
    shared = FileSource("shared", (str(tmp_path / "a"),), MANUAL)
    other = FileSource("other", (str(tmp_path / "b"),), MANUAL)
    # Another replica (here: another connection) is in the middle of refreshing "shared".
    with engine.connect() as replica, refresh_transaction(replica, "shared") as held:
        assert held
        skipped = refresh(shared)
        meanwhile = refresh(other)
    assert skipped.status == SKIPPED and skipped.summary.added == 0
    assert meanwhile.status == OK and meanwhile.summary.added == 1
    with engine.connect() as connection:
        stored = sorted(connection.execute(sa.select(ENTITIES.c.ref)).scalars())
        states = {state.name: state.status for state in source_states(connection, (shared, other), utc_now())}
    assert stored == ["component:default/beta"]
    assert states == {"shared": NEVER, "other": OK}  # the skipping replica recorded nothing for it
    assert refresh(shared).status == OK  # the lock went with the other replica's transaction


def test_an_ingest_into_a_source_being_refreshed_is_refused_and_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "catalog-info.yaml").write_text(component("alpha"))
    with engine.connect() as replica, refresh_transaction(replica, "local") as held:
        assert held
        with pytest.raises(IngestError, match="'local' is being refreshed right now"):
            ingest(engine, [str(tmp_path)], source="local", workers=0)
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(ENTITIES)).scalar_one() == 0
