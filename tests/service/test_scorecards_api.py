"""Scorecards as a portal sees them over GraphQL, and facts as CI reports them over REST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy.engine import Engine

from catalog.tables import utc_now
from scorecards.results import store_results
from service.app import create_app
from service.settings import Settings
from tests.conftest import EXAMPLES, StatementCounter
from tests.service.conftest import TestClient, app_state, data, example_deliveries, only_error, open_config

RESULT = """
query Result($ref: String!) {
  entity(ref: $ref) {
    scorecard(name: "ai-platform-maturity") {
      level { ordinal id title } nextLevel { id } floor { ordinal } spread lopsided
      areas { area { id } level { ordinal } applicable }
      checks { check { id level { id } area { id } } status observed message exemption { id reason } }
      unlock { check { id remediation } status }
    }
  }
}"""


def result(client: TestClient, ref: str) -> dict[str, Any]:
    found: dict[str, Any] = data(client, RESULT, ref=ref)["entity"]["scorecard"]
    return found


def check(found: dict[str, Any], check_id: str) -> dict[str, Any]:
    return next(c for c in found["checks"] if c["check"]["id"] == check_id)


def test_the_scorecard_definitions_are_listed(client: TestClient) -> None:
    found = data(
        client,
        "{ scorecards { name title levels { ordinal id } areas { id } checks { id remediation } lopsidedThreshold } }",
    )
    (card,) = found["scorecards"]
    assert card["name"] == "ai-platform-maturity"
    assert [level["id"] for level in card["levels"]] == [
        "ad-hoc",
        "repeatable",
        "managed",
        "governed",
        "self-improving",
    ]
    assert len(card["areas"]) == 7 and len(card["checks"]) >= 28 and card["lopsidedThreshold"] == 3
    assert data(client, '{ scorecard(name: "nope") { name } }') == {"scorecard": None}


def test_a_components_result_shows_level_evidence_and_the_unlock_move(client: TestClient) -> None:
    found = result(client, "component:recommendation-api")
    assert (found["level"]["id"], found["nextLevel"]["id"]) == ("repeatable", "managed")
    assert check(found, "has-docs") == {
        "check": {"id": "has-docs", "level": {"id": "repeatable"}, "area": {"id": "developer-experience"}},
        "status": "PASSED",
        "observed": "dir:.",
        "message": 'metadata.annotations["backstage.io/techdocs-ref"] is "dir:."',
        "exemption": None,
    }
    assert check(found, "data-validated-in-ci")["status"] == "NOT_REPORTED"
    assert check(found, "experiments-tracked")["status"] == "NOT_APPLICABLE"  # a service, not a model
    training = next(a for a in found["areas"] if a["area"]["id"] == "training")
    assert training["applicable"] is False
    unmet = [c["check"]["id"] for c in found["unlock"] if c["status"] in ("FAILED", "NOT_REPORTED")]
    assert unmet and all(c["check"]["remediation"] for c in found["unlock"])
    assert {c["status"] for c in found["unlock"][: len(unmet)]} <= {"FAILED", "NOT_REPORTED"}


def test_evidence_asked_for_through_a_fragment_is_there(client: TestClient) -> None:
    query = """
    query { entity(ref: "component:recommendation-api") { scorecard(name: "ai-platform-maturity") {
        checks { check { id } ...Evidence } unlock { ... on CheckResult { message } } } } }
    fragment Evidence on CheckResult { status observed message }"""
    found = data(client, query)["entity"]["scorecard"]
    docs = check(found, "has-docs")
    assert (docs["observed"], docs["message"]) == (
        "dir:.",
        'metadata.annotations["backstage.io/techdocs-ref"] is "dir:."',
    )
    assert all(item["message"] for item in found["unlock"])


def test_statuses_give_every_checks_status_in_one_value(client: TestClient) -> None:
    query = '{ entity(ref: "component:recommendation-api") { scorecard(name: "ai-platform-maturity") { statuses } } }'
    statuses = data(client, query)["entity"]["scorecard"]["statuses"]
    found = result(client, "component:recommendation-api")
    assert statuses == {c["check"]["id"]: c["status"] for c in found["checks"]}


def test_an_entity_no_scorecard_applies_to_has_none(client: TestClient) -> None:
    found = data(
        client,
        """{ entity(ref: "group:recommendations") {
              scorecards { level { id } } scorecard(name: "ai-platform-maturity") { spread } } }""",
    )
    assert found["entity"] == {"scorecards": [], "scorecard": None}


SUBMIT = """
mutation Submit($ref: String!, $facts: JSON!, $at: DateTime) {
  submitFacts(entityRef: $ref, source: "ci", facts: $facts, observedAt: $at) { entityRef source names observedAt }
}"""


def test_submitted_facts_change_the_result_at_once(client: TestClient) -> None:
    ref = "component:recommendation-api"
    assert check(result(client, ref), "data-validated-in-ci")["status"] == "NOT_REPORTED"
    receipt = data(client, SUBMIT, ref=ref, facts={"dataValidation": True, "artifactVersioned": True})["submitFacts"]
    assert receipt["entityRef"] == "component:default/recommendation-api" and receipt["names"] == [
        "artifactVersioned",
        "dataValidation",
    ]
    after = check(result(client, ref), "data-validated-in-ci")
    assert (after["status"], after["observed"]) == ("PASSED", True)


@pytest.mark.parametrize(
    ("ref", "facts", "code", "argument"),
    [
        ("component:nope", {"x": 1}, "NOT_FOUND", "entityRef"),
        ("nope", {"x": 1}, "BAD_USER_INPUT", "entityRef"),
        ("component:recommendation-api", {}, "BAD_USER_INPUT", "facts"),
        ("component:recommendation-api", [1], "BAD_USER_INPUT", "facts"),
    ],
)
def test_a_bad_fact_submission_is_refused_with_a_code(
    client: TestClient, ref: str, facts: Any, code: str, argument: str
) -> None:
    error = only_error(client, SUBMIT, ref=ref, facts=facts)
    assert error["extensions"] == {"code": code, "argument": argument}
    assert argument in error["message"]


def test_facts_over_rest_are_taken_and_scored(client: TestClient) -> None:
    body = {
        "entityRef": "component:recommendation-api",
        "source": "ci",
        "facts": {"dataValidation": True},
        "observedAt": "2026-11-20T10:00:00Z",
    }
    response = client.post("/api/facts", json=body)
    assert response.status_code == 201, response.text
    assert response.json() == {
        "entityRef": "component:default/recommendation-api",
        "source": "ci",
        "names": ["dataValidation"],
        "observedAt": "2026-11-20T10:00:00+00:00",
    }


@pytest.mark.parametrize(
    ("content", "content_type", "status", "words"),
    [
        (b'{"entityRef": "component:nope", "source": "ci", "facts": {"x": 1}}', "application/json", 404, "no entity"),
        (b'{"entityRef": "component:recommendation-api", "source": "ci"}', "application/json", 422, "facts"),
        (b'{"entityRef": ', "application/json", 400, "malformed JSON"),
        (b"entityRef=x", "application/x-www-form-urlencoded", 415, "Content-Type: application/json"),
        (b"[" + b" " * (1024 * 1024) + b"]", "application/json", 413, "over"),
    ],
)
def test_bad_rest_submissions_get_a_4xx_that_says_what_is_wrong(
    client: TestClient, content: bytes, content_type: str, status: int, words: str
) -> None:
    response = client.post("/api/facts", content=content, headers={"content-type": content_type})
    assert response.status_code == status
    assert words in response.json()["error"] + response.json().get("field", "")


def test_a_streamed_body_over_the_limit_is_refused_without_reading_it_all(client: TestClient) -> None:
    chunks = iter([b'{"entityRef": "', b"x" * (600 * 1024), b"x" * (600 * 1024), b'"}'])
    response = client.post("/api/facts", content=chunks, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "over 1,048,576 bytes" in response.json()["error"]


EXEMPT = """
mutation Exempt($check: String!, $until: DateTime!, $reason: String!) {
  createExemption(entityRef: "component:feature-pipeline", scorecard: "ai-platform-maturity", check: $check,
                  reason: $reason, expiresAt: $until) { id check reason expiresAt }
}"""


def test_an_exemption_made_over_graphql_counts_until_deleted(client: TestClient) -> None:
    ref = "component:feature-pipeline"
    before = result(client, ref)
    blocking = next(c for c in before["unlock"] if c["status"] == "FAILED" or c["status"] == "NOT_REPORTED")
    until = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    made = data(client, EXEMPT, check=blocking["check"]["id"], until=until, reason="migrating to the new registry")[
        "createExemption"
    ]
    after = check(result(client, ref), blocking["check"]["id"])
    assert after["status"] == "EXEMPT" and after["exemption"] == {
        "id": made["id"],
        "reason": "migrating to the new registry",
    }
    removed = data(client, "mutation($id: ID!) { deleteExemption(id: $id) { id } }", id=made["id"])
    assert removed == {"deleteExemption": {"id": made["id"]}}
    assert check(result(client, ref), blocking["check"]["id"])["status"] == blocking["status"]
    assert data(client, "mutation($id: ID!) { deleteExemption(id: $id) { id } }", id=made["id"]) == {
        "deleteExemption": None
    }


@pytest.mark.parametrize(
    ("check_id", "days", "reason", "argument", "code"),
    [
        ("no-such-check", 30, "why", "check", "NOT_FOUND"),
        ("has-docs", 400, "why", "expiresAt", "BAD_USER_INPUT"),
        ("has-docs", -1, "why", "expiresAt", "BAD_USER_INPUT"),
        ("has-docs", 30, " ", "reason", "BAD_USER_INPUT"),
    ],
)
def test_a_bad_exemption_is_refused(
    client: TestClient, check_id: str, days: int, reason: str, argument: str, code: str
) -> None:
    until = (datetime.now(UTC) + timedelta(days=days)).isoformat()
    error = only_error(client, EXEMPT, check=check_id, until=until, reason=reason)
    assert error["extensions"] == {"code": code, "argument": argument}


def test_history_and_rollups_read_the_stored_results(client: TestClient) -> None:
    engine: Engine = app_state(client).engine
    scorecards = app_state(client).scorecards
    with engine.begin() as connection:
        store_results(connection, scorecards, None, utc_now() - timedelta(days=1))
        store_results(connection, scorecards, None, utc_now())
    history = data(
        client,
        """{ entity(ref: "component:recommendation-api") {
              scorecard(name: "ai-platform-maturity") { history { day level { ordinal } } } } }""",
    )["entity"]["scorecard"]["history"]
    assert [point["level"]["ordinal"] for point in history] == [2, 2]
    assert history[0]["day"] < history[1]["day"]

    rollup = data(
        client,
        """{ scorecardRollup(name: "ai-platform-maturity", groupBy: OWNER) {
              key entity { kind } count levels { level { ordinal } count } averageLevel lopsidedCount } }""",
    )["scorecardRollup"]
    by_owner = {group["key"]: group for group in rollup}
    recommendations = by_owner["group:default/recommendations"]
    assert recommendations["entity"] == {"kind": "Group"}
    assert recommendations["count"] == sum(level["count"] for level in recommendations["levels"])
    assert [level["level"]["ordinal"] for level in recommendations["levels"]] == [1, 2, 3, 4, 5]
    assert sum(group["count"] for group in rollup) == 10
    domains = data(client, '{ scorecardRollup(name: "ai-platform-maturity", groupBy: DOMAIN) { key count } }')[
        "scorecardRollup"
    ]
    assert domains and all(group["key"].startswith("domain:") for group in domains)
    filtered = data(
        client,
        '{ scorecardRollup(name: "ai-platform-maturity", groupBy: SYSTEM, filter: {type: ["model"]}) { count } }',
    )["scorecardRollup"]
    assert sum(group["count"] for group in filtered) < 10
    error = only_error(client, '{ scorecardRollup(name: "nope", groupBy: OWNER) { key } }')
    assert error["extensions"]["code"] == "NOT_FOUND"


PAGE = """
query Page($first: Int!) {
  entities(filter: {kind: ["Component"]}, first: $first) {
    edges { node { ref scorecards { level { id } checks { status message check { id } } unlock { check { id } } } } }
  }
}"""


def test_a_page_of_components_with_all_their_checks_costs_the_same_queries_whatever_its_size(
    client: TestClient,
) -> None:
    counter = StatementCounter(app_state(client).engine)
    try:
        data(client, PAGE, first=2)
        small = len(counter.reads())
        counter.reset()
        found = data(client, PAGE, first=100)
        assert len(counter.reads()) == small
    finally:
        counter.close()
    scored = [edge for edge in found["entities"]["edges"] if edge["node"]["scorecards"]]
    assert len(scored) == 10 and all(len(edge["node"]["scorecards"][0]["checks"]) >= 28 for edge in scored)


def test_the_example_catalogue_has_every_level_and_a_lopsided_component(client: TestClient) -> None:
    for submission in orjson.loads((EXAMPLES.parent / "facts.json").read_bytes()):
        assert client.post("/api/facts", json=submission).status_code == 201
    deliveries = example_deliveries(utc_now())
    for kind in ("deployments", "incidents"):
        assert client.post(f"/api/events/{kind}", json=deliveries[kind]).status_code == 200
    found = data(
        client,
        """{ entities(filter: {kind: ["Component"]}, first: 50) {
              edges { node { ref scorecards { level { ordinal } lopsided } } } } }""",
    )
    results = {
        edge["node"]["ref"]: edge["node"]["scorecards"][0]
        for edge in found["entities"]["edges"]
        if edge["node"]["scorecards"]
    }
    assert {r["level"]["ordinal"] for r in results.values()} == {1, 2, 3, 4, 5}
    assert results["component:default/fraud-detection-model"]["level"]["ordinal"] == 5
    assert results["component:default/churn-prediction-model"]["lopsided"] is True


def test_a_broken_definition_is_logged_and_the_others_serve(
    database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "scorecards"
    folder.mkdir()
    (folder / "default.yaml").write_text(
        (EXAMPLES.parent / "scorecards" / "ai-platform-maturity.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (folder / "broken.yaml").write_text(
        "apiVersion: stairway.dev/v1alpha1\nkind: Scorecard\nmetadata: {name: broken}\n"
        "spec: {levels: [a, b], areas: [x], checks: [{id: c, title: C, level: b, area: y,"
        " rule: {fact: entity.spec.owner, op: exists}, remediation: R}]}\n",
        encoding="utf-8",
    )
    with (
        caplog.at_level("WARNING", logger="stairway"),
        TestClient(
            create_app(Settings(database_url=database, scorecard_folders=(str(folder),), config=open_config()))
        ) as client,
    ):
        assert [card["name"] for card in data(client, "{ scorecards { name } }")["scorecards"]] == [
            "ai-platform-maturity"
        ]
    assert any(
        "broken.yaml: check 'c': spec.checks.0.area: error: unknown area 'y'" in message for message in caplog.messages
    )
