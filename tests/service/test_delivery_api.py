"""Delivery events through the API (REST and GraphQL), and the DORA keys they make, as a portal reads
them: `Entity.dora` and `doraRollup`, banded by the configured profile."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scorecards.dora import parse_profile
from scorecards.tables import RESULTS
from service.app import create_app
from service.settings import Settings
from tests.conftest import EXAMPLES
from tests.service.conftest import TestClient, data, example_deliveries, only_error, open_config

NOW = datetime.now(UTC).replace(microsecond=0)
MODEL = "component:default/fraud-detection-model"  # owned by group:default/fraud-detection


def at(days_ago: float, hours: float = 0) -> str:
    return (NOW - timedelta(days=days_ago, hours=hours)).isoformat()


def deployment(number: int, days_ago: float, **fields: Any) -> dict[str, Any]:
    return {"id": f"deploy-{number}", "entityRef": MODEL, "finishedAt": at(days_ago), "status": "success", **fields}


# Four production deployments in the last 90 days (one failed, one rolled back, one linked to an
# incident below), one in staging (ignored), and one 100 days ago (out of the window).
DEPLOYMENTS = [
    deployment(
        1, 10, commits=[{"sha": "a" * 40, "committedAt": at(10, 2)}, {"sha": "b" * 40, "committedAt": at(10, 6)}]
    ),
    deployment(2, 20, status="failure"),
    deployment(3, 30, rollback=True),
    deployment(4, 40, leadTimeSeconds=10 * 3600),
    deployment(5, 5, environment="staging", leadTimeSeconds=60),
    deployment(6, 100, leadTimeSeconds=60),
]
INCIDENTS = [
    {"id": "inc-1", "entityRef": MODEL, "openedAt": at(39), "resolvedAt": at(39, -3), "deploymentId": "deploy-4"}
]
DORA = """query($ref: String!, $days: Int) { entity(ref: $ref) { dora(windowDays: $days) {
    deployments failures deploymentsPerWeek leadTimeHours changeFailureRate recoveryHours
    bands { deploymentFrequency leadTime changeFailureRate recoveryTime } band profile } } }"""


@pytest.fixture
def client(examples: Engine, database: str) -> Iterator[TestClient]:
    settings = Settings(
        database_url=database, config=open_config(), scorecard_folders=(str(EXAMPLES.parent / "scorecards"),)
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_events_reported_over_rest_make_the_four_keys(client: TestClient) -> None:
    reported = client.post("/api/events/deployments", json=DEPLOYMENTS)
    assert (reported.status_code, reported.json()) == (200, {"received": 6, "created": 6, "updated": 0, "unchanged": 0})
    assert client.post("/api/events/incidents", json=INCIDENTS).json()["created"] == 1

    metrics = data(client, DORA, ref=MODEL)["entity"]["dora"]
    assert metrics == {
        "deployments": 4,
        "failures": 3,  # failed, rolled back, linked to inc-1
        "deploymentsPerWeek": pytest.approx(4 / (90 / 7)),
        "leadTimeHours": pytest.approx(6.0),  # changes of 2, 6 and 10 hours: the median
        "changeFailureRate": 0.75,
        "recoveryHours": pytest.approx(3.0),
        "bands": {
            "deploymentFrequency": "MEDIUM",  # 0.31 a week: monthly or more
            "leadTime": "ELITE",
            "changeFailureRate": "LOW",
            "recoveryTime": "HIGH",
        },
        "band": "LOW",
        "profile": "dora-2024",
    }
    assert data(client, DORA, ref=MODEL, days=15)["entity"]["dora"]["deployments"] == 1
    resent = client.post("/api/events/deployments", json=DEPLOYMENTS).json()
    assert resent == {"received": 6, "created": 0, "updated": 0, "unchanged": 6}


def test_an_entity_without_events_is_not_reported_never_low(client: TestClient) -> None:
    metrics = data(client, DORA, ref="component:default/churn-prediction-model")["entity"]["dora"]
    assert (metrics["deployments"], metrics["deploymentsPerWeek"], metrics["band"]) == (0, None, "NOT_REPORTED")
    assert set(metrics["bands"].values()) == {"NOT_REPORTED"}


def test_a_refused_event_names_its_field_and_writes_nothing(client: TestClient) -> None:
    bad = [DEPLOYMENTS[0], {**DEPLOYMENTS[1], "finishedAt": "yesterday"}]
    refused = client.post("/api/events/deployments", json=bad)
    assert refused.status_code == 422 and refused.json()["field"] == "[1].finishedAt"
    unknown = client.post("/api/events/deployments", json={**DEPLOYMENTS[0], "entityRef": "component:default/nope"})
    assert (unknown.status_code, unknown.json()["field"]) == (404, "entityRef")
    assert data(client, DORA, ref=MODEL)["entity"]["dora"]["deployments"] == 0


def test_graphql_reports_events_and_rolls_the_keys_up_by_owner(client: TestClient) -> None:
    report = "mutation($events: JSON!) { reportDeployments(events: $events) { received created } }"
    assert data(client, report, events=DEPLOYMENTS)["reportDeployments"] == {"received": 6, "created": 6}
    error = only_error(client, report, events={**DEPLOYMENTS[0], "status": "meh"})
    assert (error["extensions"]["code"], error["extensions"]["argument"]) == ("BAD_USER_INPUT", "status")
    rollup = """{ doraRollup(groupBy: OWNER, filter: {kind: ["Component"]}) { key metrics { deployments band } } }"""
    groups = data(client, rollup)["doraRollup"]
    assert groups == [{"key": "group:default/fraud-detection", "metrics": {"deployments": 4, "band": "LOW"}}]
    audit = data(client, "{ auditLog { action target } }")["auditLog"]
    assert audit[0] == {"action": "reportDeployments", "target": ", ".join(f"deploy-{n}" for n in range(1, 7))}


def test_a_configured_profile_decides_the_bands(examples: Engine, database: str) -> None:
    lenient = parse_profile(
        "lenient", {"deploymentFrequency": {"thresholds": {"elite": 1, "high": 0.2, "medium": 0.1}}}
    )
    settings = Settings(database_url=database, config=open_config(dora_profile=lenient))
    with TestClient(create_app(settings)) as client:
        client.post("/api/events/deployments", json=DEPLOYMENTS)
        metrics = data(client, DORA, ref=MODEL)["entity"]["dora"]
    assert (metrics["profile"], metrics["bands"]["deploymentFrequency"]) == ("lenient", "HIGH")  # 0.31 a week


SECRET = "a webhook secret for deployments"


def signed(event: str, body: dict[str, Any]) -> dict[str, Any]:
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    headers = {"X-GitHub-Event": event, "X-Hub-Signature-256": signature, "Content-Type": "application/json"}
    return {"content": raw, "headers": headers}


def deployment_status(state: str, repository: str = "Northwind/Recommendation-API") -> dict[str, Any]:
    return {
        "deployment_status": {"state": state, "environment": "Production", "created_at": at(1)},
        "deployment": {"id": 9001, "sha": "c" * 40, "environment": "production"},
        "repository": {"full_name": repository},
    }


def test_a_github_deployment_status_records_a_deployment_of_the_repositorys_component(
    examples: Engine, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAIRWAY_TEST_DEPLOY_SECRET", SECRET)
    config = open_config(github_webhook_secret_env="STAIRWAY_TEST_DEPLOY_SECRET")
    with TestClient(create_app(Settings(database_url=database, config=config))) as client:
        pending = client.post("/webhooks/github", **signed("deployment_status", deployment_status("in_progress")))
        assert pending.status_code == 200 and "not finished" in pending.json()["reason"]
        done = client.post("/webhooks/github", **signed("deployment_status", deployment_status("failure")))
        assert (done.status_code, done.json()["deployments"]) == (202, ["component:default/recommendation-api"])
        unknown = client.post("/webhooks/github", **signed("deployment_status", deployment_status("success", "x/y")))
        assert unknown.status_code == 200 and "no component's github.com/project-slug" in unknown.json()["reason"]
        metrics = data(client, DORA, ref="component:default/recommendation-api")["entity"]["dora"]
        assert (metrics["deployments"], metrics["failures"], metrics["leadTimeHours"]) == (1, 1, None)
        audit = data(client, "{ auditLog { actor action target } }")["auditLog"]
        assert audit[0] == {
            "actor": "webhook:github",
            "action": "reportDeployments",
            "target": "Northwind/Recommendation-API",
        }


def stored_level(engine: Engine, ref: str) -> int:
    with engine.connect() as connection:
        query = sa.select(RESULTS.c.level).where(RESULTS.c.entity_ref == ref)
        return int(connection.execute(query).scalar_one())


def test_reported_events_re_store_the_levels_they_move(examples: Engine, client: TestClient) -> None:
    ranking = "component:default/ranking-model"
    for submission in orjson.loads((EXAMPLES.parent / "facts.json").read_bytes()):
        assert client.post("/api/facts", json=submission).status_code == 201
    assert stored_level(examples, ranking) == 3  # its lead-time check (level 4) has no deployment to read
    history = example_deliveries(NOW)["deployments"]
    ranking_deployments = [event for event in history if event["entityRef"] == "component:ranking-model"]
    assert client.post("/api/events/deployments", json=ranking_deployments).status_code == 200
    assert stored_level(examples, ranking) == 4  # lead time 20 hours: within a day
    assert stored_level(examples, MODEL) == 3  # the others' events are not here yet
    maturity = data(client, "{ organizationMaturity { paperMaturity { claimed onPaper } } }")
    assert maturity["organizationMaturity"]["paperMaturity"] == {"claimed": 1, "onPaper": 1}  # 40% fail
