"""Two Stairway instances on one database, as replicas of a Deployment run: one refreshes and
evaluates, the other serves the same answers, and a source is never refreshed by both at once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog.database import create_engine
from catalog.locks import refresh_transaction
from catalog.sources.definitions import FileSource, Schedule
from service.app import create_app
from service.settings import Settings
from tests.conftest import EXAMPLES
from tests.service.conftest import TestClient, data, open_config

SOURCE = "northwind"
ANSWERS = """{
  entities(first: 500, filter: {kind: ["Component"]}) {
    totalCount
    edges { node { ref owner { ref } scorecard(name: "ai-platform-maturity") { level { ordinal } floor { ordinal } } } }
  }
  scorecardRollup(name: "ai-platform-maturity", groupBy: OWNER) { key count averageLevel }
  organizationMaturity { level { ordinal } }
  sources { name status entityCount }
}"""
REFRESH = 'mutation { refreshSource(name: "northwind") { status counts { added } } }'


@pytest.fixture
def replicas(database: str, tmp_path: Path) -> Iterator[tuple[TestClient, TestClient]]:
    """Two apps on the same database and configuration, neither refreshing on a schedule."""
    source = FileSource(SOURCE, (str(EXAMPLES),), Schedule(frequency=None))
    config = open_config(sources=(source,), cache_dir=str(tmp_path / "cache"))
    settings = Settings(
        database_url=database,
        config=config,
        schedule_sources=False,
        scorecard_folders=(str(EXAMPLES.parent / "scorecards"),),
    )
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        yield first, second


def test_one_replica_refreshes_and_evaluates_and_the_other_serves_the_same_answers(
    replicas: tuple[TestClient, TestClient],
) -> None:
    writer, reader = replicas
    refreshed = data(writer, REFRESH)["refreshSource"]
    assert refreshed["status"] == "OK" and refreshed["counts"]["added"] > 20
    served = data(reader, ANSWERS)
    assert served == data(writer, ANSWERS)
    components = served["entities"]["edges"]
    assert len(components) == served["entities"]["totalCount"] > 10
    stored = served["scorecardRollup"]  # from the results the writer stored when it evaluated
    assert sum(group["count"] for group in stored) == sum(1 for edge in components if edge["node"]["scorecard"])
    assert stored and all(group["averageLevel"] >= 1 for group in stored)
    assert served["sources"] == [{"name": SOURCE, "status": "OK", "entityCount": refreshed["counts"]["added"]}]

    # Facts reported to the reader move the levels the writer shows.
    for submission in json.loads((EXAMPLES.parent / "facts.json").read_text()):
        assert reader.post("/api/facts", json=submission).status_code == 201
    moved = data(writer, ANSWERS)
    assert moved != served and moved == data(reader, ANSWERS)


def test_a_source_one_replica_is_refreshing_is_skipped_by_the_other(
    replicas: tuple[TestClient, TestClient], database: str
) -> None:
    first, second = replicas
    engine = create_engine(database)
    try:
        with engine.connect() as connection, refresh_transaction(connection, SOURCE) as held:
            assert held  # this connection stands for the first replica, mid-refresh
            assert data(second, REFRESH)["refreshSource"] == {"status": "SKIPPED", "counts": {"added": 0}}
            assert data(first, ANSWERS)["entities"]["totalCount"] == 0
        assert data(second, REFRESH)["refreshSource"]["status"] == "OK"
        assert data(first, ANSWERS)["entities"]["totalCount"] > 10
    finally:
        engine.dispose()
