"""Scorecard results over a real catalogue and database: facts, exemptions, stored results, history."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from catalog.ingest import ingest
from scorecards.definitions import Scorecard, parse_scorecard
from scorecards.exemptions import ExemptionError, active_exemptions, create_exemption, delete_exemption
from scorecards.facts import FactError, check_submission, fact_history, latest_facts, record_facts
from scorecards.results import evaluate_entities, level_history, store_results

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def catalogue(tmp_path: Path) -> str:
    folder = tmp_path / "catalog"
    folder.mkdir()
    (folder / "all.yaml").write_text(
        textwrap.dedent(
            """
            apiVersion: backstage.io/v1alpha1
            kind: Group
            metadata: {name: team-a}
            spec: {type: team, children: []}
            ---
            apiVersion: backstage.io/v1alpha1
            kind: Component
            metadata:
              name: ranker
              annotations: {stairway.dev/serving-platform: kserve}
            spec: {type: service, lifecycle: production, owner: team-a, providesApis: [ranking]}
            ---
            apiVersion: backstage.io/v1alpha1
            kind: Component
            metadata: {name: etl}
            spec: {type: service, lifecycle: production, owner: team-a}
            ---
            apiVersion: backstage.io/v1alpha1
            kind: API
            metadata: {name: ranking}
            spec: {type: openapi, lifecycle: production, owner: team-a, definition: "openapi: 3.0.0"}
            """
        ),
        encoding="utf-8",
    )
    return str(folder)


@pytest.fixture
def scorecard(definition: dict[str, Any]) -> Scorecard:
    card, problems = parse_scorecard(definition, "small.yaml")
    assert card is not None, problems
    return card


@pytest.fixture
def loaded(engine: Engine, tmp_path: Path) -> Engine:
    ingest(engine, [catalogue(tmp_path)], workers=0)
    return engine


def submit(engine: Engine, body: dict[str, Any], now: datetime = NOW) -> None:
    with engine.begin() as connection:
        record_facts(connection, check_submission(body, now), now)


def levels(engine: Engine, scorecard: Scorecard, now: datetime = NOW) -> dict[str, int]:
    with engine.connect() as connection:
        return {ref: r.level.ordinal for ref, r in evaluate_entities(connection, [scorecard], None, now)}


def test_only_entities_the_scorecard_applies_to_are_evaluated(loaded: Engine, scorecard: Scorecard) -> None:
    assert levels(loaded, scorecard) == {"component:default/ranker": 2, "component:default/etl": 1}


def test_a_reported_fact_raises_the_level_and_its_history_is_kept(loaded: Engine, scorecard: Scorecard) -> None:
    ranker = "component:default/ranker"
    submit(
        loaded,
        {
            "entityRef": "Component:ranker",
            "source": "ci",
            "facts": {"dataValidation": False},
            "observedAt": "2026-11-20T10:00:00Z",
        },
    )
    assert levels(loaded, scorecard)[ranker] == 2
    submit(loaded, {"entityRef": "component:default/ranker", "source": "ci", "facts": {"dataValidation": True}})
    assert levels(loaded, scorecard)[ranker] == 3
    # A late report of an older observation is kept in the history but does not replace the newer one.
    submit(
        loaded,
        {"entityRef": ranker, "source": "ci", "facts": {"dataValidation": False}, "observedAt": "2026-11-01T00:00:00Z"},
    )
    assert levels(loaded, scorecard)[ranker] == 3
    with loaded.connect() as connection:
        assert [(name, value) for _source, name, value, _at in fact_history(connection, ranker)] == [
            ("dataValidation", True),
            ("dataValidation", False),
            ("dataValidation", False),
        ]
        assert latest_facts(connection, [ranker])[ranker]["ci"]["dataValidation"].value is True


def test_a_fact_older_than_the_checks_max_age_stops_counting(loaded: Engine, scorecard: Scorecard) -> None:
    submit(loaded, {"entityRef": "component:default/ranker", "source": "ci", "facts": {"dataValidation": True}})
    assert levels(loaded, scorecard, NOW + timedelta(days=29))["component:default/ranker"] == 3
    assert levels(loaded, scorecard, NOW + timedelta(days=31))["component:default/ranker"] == 2


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"entityRef": "component:default/nope", "source": "ci", "facts": {"x": 1}}, "entityRef", 404),
        ({"entityRef": "nope", "source": "ci", "facts": {"x": 1}}, "entityRef", 422),
        ({"entityRef": "component:ranker", "source": "c i", "facts": {"x": 1}}, "source", 422),
        ({"entityRef": "component:ranker", "source": "ci", "facts": {}}, "facts", 422),
        ({"entityRef": "component:ranker", "source": "ci", "facts": [1]}, "facts", 422),
        ({"entityRef": "component:ranker", "source": "ci", "facts": {"a.b": 1}}, "facts.a.b", 422),
        (
            {"entityRef": "component:ranker", "source": "ci", "facts": {"x": 1}, "observedAt": "yesterday"},
            "observedAt",
            422,
        ),
        (
            {"entityRef": "component:ranker", "source": "ci", "facts": {"x": 1}, "observedAt": "2026-11-02T09:30:00"},
            "observedAt",
            422,
        ),
        (
            {"entityRef": "component:ranker", "source": "ci", "facts": {"x": 1}, "observedAt": "2027-01-01T00:00:00Z"},
            "observedAt",
            422,
        ),
        ({"entityRef": "component:ranker", "source": "ci", "facts": {"x": 1}, "extra": 1}, "extra", 422),
        ([1, 2], "body", 422),
    ],
)
def test_a_bad_submission_is_refused_naming_the_field_and_stores_nothing(
    loaded: Engine, body: Any, field: str, status: int
) -> None:
    with pytest.raises(FactError) as raised:
        submit(loaded, body)
    assert (raised.value.field, raised.value.status) == (field, status)
    with loaded.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM fact_history")).scalar_one() == 0


def exempt(engine: Engine, definition: Scorecard, **fields: Any):
    arguments = {
        "entity_ref": "component:etl",
        "scorecard": "small",
        "check": "serving-api",
        "reason": "a batch job serves no API",
        "expires_at": NOW + timedelta(days=30),
        "now": NOW,
    } | fields
    with engine.begin() as connection:
        return create_exemption(connection, [definition], **arguments)


def test_an_exemption_lifts_the_level_until_it_expires_or_is_deleted(loaded: Engine, scorecard: Scorecard) -> None:
    etl = "component:default/etl"
    exemption = exempt(loaded, scorecard)
    assert exemption.entity_ref == etl and exemption.id > 0
    assert levels(loaded, scorecard)[etl] == 2
    assert levels(loaded, scorecard, NOW + timedelta(days=30, seconds=1))[etl] == 1  # nobody touched it
    with loaded.begin() as connection:
        assert delete_exemption(connection, exemption.id) == exemption
        assert delete_exemption(connection, exemption.id) is None
    assert levels(loaded, scorecard)[etl] == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"entity_ref": "component:nope"}, "entityRef"),
        ({"scorecard": "other"}, "scorecard"),
        ({"check": "no-such-check"}, "check"),
        ({"reason": "  "}, "reason"),
        ({"expires_at": NOW - timedelta(days=1)}, "expiresAt"),
        ({"expires_at": NOW + timedelta(days=400)}, "expiresAt"),
        ({"expires_at": datetime(2027, 1, 1)}, "expiresAt"),
    ],
)
def test_a_bad_exemption_is_refused(loaded: Engine, scorecard: Scorecard, fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ExemptionError) as raised:
        exempt(loaded, scorecard, **fields)
    assert raised.value.field == field
    with loaded.connect() as connection:
        assert active_exemptions(connection, None, NOW) == {}


def test_results_are_stored_per_entity_and_scorecard_with_a_daily_snapshot(
    loaded: Engine, scorecard: Scorecard
) -> None:
    with loaded.begin() as connection:
        summary = store_results(connection, [scorecard], None, NOW - timedelta(days=1))
        assert (summary.entities, summary.results) == (2, 2)
    submit(loaded, {"entityRef": "component:ranker", "source": "ci", "facts": {"dataValidation": True}})
    with loaded.begin() as connection:
        store_results(connection, [scorecard], ["component:default/ranker"], NOW)
        store_results(
            connection, [scorecard], ["component:default/ranker"], NOW + timedelta(hours=1)
        )  # same day: replaced
    with loaded.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT entity_ref, level, lopsided FROM scorecard_results ORDER BY entity_ref")
        ).all()
        assert [tuple(row) for row in rows] == [
            ("component:default/etl", 1, False),
            ("component:default/ranker", 3, False),
        ]
        history = level_history(connection, "component:default/ranker", "small")
        assert [(point.day.isoformat(), point.level) for point in history] == [("2026-11-25", 2), ("2026-11-26", 3)]
        assert history[-1].area_levels == {"data": 3, "serving": 3, "training": 5}
        since = level_history(connection, "component:default/ranker", "small", since=NOW.date())
        assert [point.level for point in since] == [3]


def test_an_entity_that_leaves_the_catalogue_loses_its_result(
    loaded: Engine, scorecard: Scorecard, tmp_path: Path
) -> None:
    with loaded.begin() as connection:
        store_results(connection, [scorecard], None, NOW)
    descriptors = tmp_path / "catalog" / "all.yaml"
    documents = descriptors.read_text(encoding="utf-8").split("---\n")
    descriptors.write_text("---\n".join(doc for doc in documents if "name: etl" not in doc), encoding="utf-8")
    assert ingest(loaded, [str(tmp_path / "catalog")], workers=0).removed == 1
    with loaded.begin() as connection:
        store_results(connection, [scorecard], None, NOW)
        refs = connection.execute(sa.text("SELECT entity_ref FROM scorecard_results ORDER BY 1")).scalars().all()
    assert refs == ["component:default/ranker"]
