"""Delivery events in: every rule of a deployment and an incident body, batches taken whole or not at all,
and idempotent resends (nothing written), in real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from catalog.ingest import ingest
from catalog.queries import aware
from scorecards.delivery import (
    DeploymentEvent,
    EventError,
    EventReceipt,
    IncidentEvent,
    check_deployment,
    check_incident,
    take_deployments,
    take_incidents,
)
from scorecards.dora import dora_keys
from scorecards.tables import DEPLOYMENT_CHANGES, DEPLOYMENTS, INCIDENTS
from tests.conftest import StatementCounter

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DROP = object()  # a field left out of a body
SHA_A, SHA_B, SHA_C = "a1b2c3d", "0123456789abcdef0123456789abcdef01234567", "fedcba9"
TEXT = "must be a non-empty string of at most 255 characters"
TIMESTAMP = "must be an ISO-8601 timestamp with a time zone, e.g. 2026-11-02T09:30:00Z"
FUTURE = "is more than 5 minutes in the future"
ENVIRONMENT = "must be a name of letters, digits, '-' and '_' (at most 63), e.g. staging"
SHA = "must be 7 to 64 hexadecimal characters"
LEAD_TIME = "must be a non-negative number of seconds"
CATALOGUE = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: payments-api}
spec: {type: service, lifecycle: production, owner: payments}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: search-ui}
spec: {type: website, lifecycle: production, owner: search}
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata: {name: orders-db}
spec: {type: database, owner: payments}
"""


def deployment(**changes: object) -> dict[str, Any]:
    """A valid deployment body with some fields changed (DROP leaves one out)."""
    body: dict[str, Any] = {
        "id": "deploy-1",
        "entityRef": "payments-api",
        "finishedAt": "2026-11-26T10:00:00Z",
        "status": "success",
        "commits": [
            {"sha": SHA_A, "committedAt": "2026-11-25T09:00:00Z"},
            {"sha": SHA_B, "committedAt": "2026-11-26T09:30:00Z"},
        ],
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not DROP}


def incident(**changes: object) -> dict[str, Any]:
    """A valid incident body with some fields changed (DROP leaves one out)."""
    body: dict[str, Any] = {
        "id": "inc-1",
        "entityRef": "payments-api",
        "openedAt": "2026-11-26T09:00:00Z",
        "resolvedAt": "2026-11-26T10:30:00Z",
        "deploymentId": "deploy-1",
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not DROP}


def refusal(check: Any, body: object) -> tuple[str, str, int]:
    with pytest.raises(EventError) as caught:
        check(body, NOW)
    return caught.value.field, caught.value.message, caught.value.status


@pytest.fixture
def catalogue(engine: Engine, tmp_path: Path) -> Engine:
    """The engine, with component:default/payments-api, component:default/search-ui, resource:default/orders-db."""
    (tmp_path / "catalog-info.yaml").write_text(CATALOGUE)
    assert ingest(engine, [str(tmp_path / "catalog-info.yaml")], workers=0).errors == 0
    return engine


def take(engine: Engine, taker: Any, body: object) -> EventReceipt:
    with engine.begin() as connection:
        receipt: EventReceipt = taker(connection, body, NOW)
    return receipt


def refused(engine: Engine, taker: Any, body: object) -> tuple[str, str, int]:
    with pytest.raises(EventError) as caught, engine.begin() as connection:
        taker(connection, body, NOW)
    return caught.value.field, caught.value.message, caught.value.status


def deployments(engine: Engine) -> dict[str, dict[str, Any]]:
    """Stored deployments by id, times as UTC-aware datetimes, each with its commits {sha: committed at}."""
    with engine.connect() as connection:
        rows = {row.id: dict(row._mapping) for row in connection.execute(sa.select(DEPLOYMENTS))}
        for commit in connection.execute(sa.select(DEPLOYMENT_CHANGES).where(DEPLOYMENT_CHANGES.c.sha.is_not(None))):
            rows[commit.deployment_id].setdefault("commits", {})[commit.sha] = aware(commit.committed_at)
    for stored in rows.values():
        stored["finished_at"], stored["received_at"] = aware(stored["finished_at"]), aware(stored["received_at"])
        stored.setdefault("commits", {})
        del stored["content_hash"]
    return rows


def incidents(engine: Engine) -> dict[str, tuple[str, datetime, datetime | None, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(INCIDENTS))
        return {
            row.id: (
                row.entity_ref,
                aware(row.opened_at),
                row.resolved_at and aware(row.resolved_at),
                row.deployment_id,
            )
            for row in rows
        }


# --- the rules of a deployment body ---------------------------------------------------------------------


def test_a_deployment_body_becomes_an_event_with_defaults_and_times_in_utc() -> None:
    body = deployment(finishedAt="2026-11-26T11:00:00+01:00", version="1.4.2")
    body["commits"][0]["committedAt"] = "2026-11-25T04:00:00-05:00"
    assert check_deployment(body, NOW) == DeploymentEvent(
        id="deploy-1",
        entity_ref="component:default/payments-api",
        environment="production",
        finished_at=datetime(2026, 11, 26, 10, 0, tzinfo=UTC),
        status="success",
        rollback=False,
        version="1.4.2",
        lead_time_seconds=None,
        commits=(
            (SHA_A, datetime(2026, 11, 25, 9, 0, tzinfo=UTC)),
            (SHA_B, datetime(2026, 11, 26, 9, 30, tzinfo=UTC)),
        ),
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"environment": "Staging"}, {"environment": "staging"}),
        ({"environment": "e" * 63}, {"environment": "e" * 63}),
        ({"environment": "eu-west_1"}, {"environment": "eu-west_1"}),
        ({"id": "i" * 255}, {"id": "i" * 255}),
        ({"finishedAt": "2026-11-26T12:05:00Z"}, {"finished_at": datetime(2026, 11, 26, 12, 5, tzinfo=UTC)}),
        ({"entityRef": "resource:default/orders-db"}, {"entity_ref": "resource:default/orders-db"}),
        ({"entityRef": "Component:Default/Payments-API"}, {"entity_ref": "component:default/payments-api"}),
        ({"status": "failure", "rollback": True}, {"status": "failure", "rollback": True}),
        ({"commits": DROP, "leadTimeSeconds": 0}, {"commits": (), "lead_time_seconds": 0.0}),
        ({"commits": DROP, "leadTimeSeconds": 5400}, {"commits": (), "lead_time_seconds": 5400.0}),
        ({"commits": DROP}, {"commits": (), "lead_time_seconds": None}),
        ({"commits": None, "leadTimeSeconds": 1.5}, {"commits": (), "lead_time_seconds": 1.5}),
        ({"environment": None, "version": None, "rollback": None}, {"environment": "production", "rollback": False}),
    ],
)
def test_a_deployment_body_may(changes: dict[str, object], expected: dict[str, object]) -> None:
    event = check_deployment(deployment(**changes), NOW)
    assert {name: getattr(event, name) for name in expected} == expected


def test_commit_shas_are_7_to_64_hex_digits_in_either_case_and_stored_in_lower_case() -> None:
    commits = [
        {"sha": "ABCDEF0", "committedAt": "2026-11-26T10:00:00Z"},  # at the very moment the deployment finished
        {"sha": "f" * 64, "committedAt": "2026-11-20T00:00:00Z"},
    ]
    event = check_deployment(deployment(commits=commits), NOW)
    assert event.commits == (
        ("abcdef0", datetime(2026, 11, 26, 10, 0, tzinfo=UTC)),
        ("f" * 64, datetime(2026, 11, 20, 0, 0, tzinfo=UTC)),
    )


DEPLOYMENT_REFUSALS = [
    (
        {"author": "ann"},
        "author",
        "unknown field; a deployment has id, entityRef, environment, finishedAt, status, commits, "
        "leadTimeSeconds, version and rollback",
    ),
    ({"id": DROP}, "id", TEXT),
    ({"id": ""}, "id", TEXT),
    ({"id": "   "}, "id", TEXT),
    ({"id": "i" * 256}, "id", TEXT),
    ({"id": 17}, "id", TEXT),
    ({"id": "a\x00b"}, "id", TEXT),
    ({"entityRef": DROP}, "entityRef", "is required: a reference such as component:default/payments-api"),
    (
        {"entityRef": "component:"},
        "entityRef",
        'Entity reference "component:" was not on the form [<kind>:][<namespace>/]<name>',
    ),
    ({"entityRef": 5}, "entityRef", "Entity reference must be a string, got int"),
    ({"entityRef": "pay\x00ments"}, "entityRef", "must not contain a NUL character"),
    ({"environment": "prod env"}, "environment", ENVIRONMENT),
    ({"environment": "-prod"}, "environment", ENVIRONMENT),
    ({"environment": ""}, "environment", ENVIRONMENT),
    ({"environment": "e" * 64}, "environment", ENVIRONMENT),
    ({"environment": 3}, "environment", ENVIRONMENT),
    ({"finishedAt": DROP}, "finishedAt", TIMESTAMP),
    ({"finishedAt": "2026-11-26T10:00:00"}, "finishedAt", TIMESTAMP),
    ({"finishedAt": "2026-11-26"}, "finishedAt", TIMESTAMP),
    ({"finishedAt": "yesterday"}, "finishedAt", TIMESTAMP),
    ({"finishedAt": 1764151200}, "finishedAt", TIMESTAMP),
    ({"finishedAt": "0001-01-01T00:00:00+01:00"}, "finishedAt", TIMESTAMP),
    ({"finishedAt": "2026-11-26T12:05:01Z"}, "finishedAt", FUTURE),
    ({"finishedAt": "2026-11-26T13:05:01+01:00"}, "finishedAt", FUTURE),
    ({"status": DROP}, "status", 'must be "success" or "failure"'),
    ({"status": "ok"}, "status", 'must be "success" or "failure"'),
    ({"status": "Success"}, "status", 'must be "success" or "failure"'),
    ({"version": "v" * 256}, "version", TEXT),
    ({"version": 2}, "version", TEXT),
    ({"rollback": "yes"}, "rollback", "must be true or false"),
    ({"rollback": 1}, "rollback", "must be true or false"),
    ({"commits": {"sha": SHA_A}}, "commits", "must be a list of {sha, committedAt}"),
    (
        {"commits": [{"sha": f"{n:07x}", "committedAt": "2026-11-26T09:00:00Z"} for n in range(1001)]},
        "commits",
        "at most 1,000 commits in one deployment",
    ),
    (
        {"commits": [{"sha": SHA_A, "committedAt": "2026-11-26T09:00:00Z"}, SHA_B]},
        "commits[1]",
        "must be a JSON object: a commit",
    ),
    ({"commits": [{"sha": "abc123", "committedAt": "2026-11-26T09:00:00Z"}]}, "commits[0].sha", SHA),
    ({"commits": [{"sha": "g" * 7, "committedAt": "2026-11-26T09:00:00Z"}]}, "commits[0].sha", SHA),
    ({"commits": [{"sha": "a" * 65, "committedAt": "2026-11-26T09:00:00Z"}]}, "commits[0].sha", SHA),
    ({"commits": [{"sha": 1234567, "committedAt": "2026-11-26T09:00:00Z"}]}, "commits[0].sha", SHA),
    ({"commits": [{"committedAt": "2026-11-26T09:00:00Z"}]}, "commits[0].sha", SHA),
    ({"commits": [{"sha": SHA_A}]}, "commits[0].committedAt", TIMESTAMP),
    ({"commits": [{"sha": SHA_A, "committedAt": "2026-11-26T09:00:00"}]}, "commits[0].committedAt", TIMESTAMP),
    (
        {
            "commits": [
                {"sha": SHA_C, "committedAt": "2026-11-26T09:00:00Z"},
                {"sha": SHA_A, "committedAt": "2026-11-26T09:00:00Z"},
                {"sha": SHA_C.upper(), "committedAt": "2026-11-26T09:00:00Z"},
            ]
        },
        "commits[2].sha",
        "the same commit as commits[0]",
    ),
    (
        {
            "commits": [
                {"sha": SHA_A, "committedAt": "2026-11-26T09:00:00Z"},
                {"sha": SHA_B, "committedAt": "2026-11-26T10:00:01Z"},
            ]
        },
        "commits[1].committedAt",
        "is after the deployment finished (finishedAt)",
    ),
    (
        {"commits": [{"sha": SHA_A, "committedAt": "2026-11-26T11:30:00+01:00"}]},  # 10:30 UTC, after 10:00 UTC
        "commits[0].committedAt",
        "is after the deployment finished (finishedAt)",
    ),
    ({"leadTimeSeconds": 60}, "leadTimeSeconds", "give commits or leadTimeSeconds, not both"),
    ({"commits": [], "leadTimeSeconds": 60}, "leadTimeSeconds", "give commits or leadTimeSeconds, not both"),
    ({"commits": DROP, "leadTimeSeconds": -1}, "leadTimeSeconds", LEAD_TIME),
    ({"commits": DROP, "leadTimeSeconds": "60"}, "leadTimeSeconds", LEAD_TIME),
    ({"commits": DROP, "leadTimeSeconds": True}, "leadTimeSeconds", LEAD_TIME),
    ({"commits": DROP, "leadTimeSeconds": float("nan")}, "leadTimeSeconds", LEAD_TIME),
    ({"commits": DROP, "leadTimeSeconds": float("inf")}, "leadTimeSeconds", LEAD_TIME),
    ({"commits": DROP, "leadTimeSeconds": 10**400}, "leadTimeSeconds", LEAD_TIME),
]


@pytest.mark.parametrize(("changes", "field", "message"), DEPLOYMENT_REFUSALS)
def test_a_deployment_body_is_refused_naming_the_field(changes: dict[str, object], field: str, message: str) -> None:
    assert refusal(check_deployment, deployment(**changes)) == (field, message, 422)


def test_a_deployment_commit_with_an_unknown_field_is_refused() -> None:
    body = deployment()
    body["commits"][1]["author"] = "ann"
    expected = ("commits[1].author", "unknown field; a commit has sha and committedAt", 422)
    assert refusal(check_deployment, body) == expected


@pytest.mark.parametrize("body", [[], "deploy", None, 7])
def test_a_deployment_must_be_an_object(body: object) -> None:
    assert refusal(check_deployment, body) == ("body", "must be a JSON object: a deployment", 422)


# --- the rules of an incident body -----------------------------------------------------------------------


def test_an_incident_body_becomes_an_event_with_times_in_utc() -> None:
    body = incident(openedAt="2026-11-26T10:00:00+01:00", resolvedAt="2026-11-26T05:30:00-05:00")
    assert check_incident(body, NOW) == IncidentEvent(
        id="inc-1",
        entity_ref="component:default/payments-api",
        opened_at=datetime(2026, 11, 26, 9, 0, tzinfo=UTC),
        resolved_at=datetime(2026, 11, 26, 10, 30, tzinfo=UTC),
        deployment_id="deploy-1",
    )


@pytest.mark.parametrize(
    ("changes", "resolved_at", "deployment_id"),
    [
        ({"resolvedAt": DROP, "deploymentId": DROP}, None, None),
        ({"resolvedAt": None, "deploymentId": None}, None, None),
        ({"resolvedAt": "2026-11-26T09:00:00Z"}, datetime(2026, 11, 26, 9, 0, tzinfo=UTC), "deploy-1"),
        ({"resolvedAt": "2026-11-26T12:05:00Z"}, datetime(2026, 11, 26, 12, 5, tzinfo=UTC), "deploy-1"),
    ],
)
def test_an_incident_may_be_open_unlinked_or_resolved_at_once(
    changes: dict[str, object], resolved_at: datetime | None, deployment_id: str | None
) -> None:
    event = check_incident(incident(**changes), NOW)
    assert (event.resolved_at, event.deployment_id) == (resolved_at, deployment_id)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"severity": "high"},
            "severity",
            "unknown field; an incident has id, entityRef, openedAt, resolvedAt and deploymentId",
        ),
        ({"id": DROP}, "id", TEXT),
        ({"id": ""}, "id", TEXT),
        ({"entityRef": DROP}, "entityRef", "is required: a reference such as component:default/payments-api"),
        ({"openedAt": DROP}, "openedAt", TIMESTAMP),
        ({"openedAt": "2026-11-26 09:00"}, "openedAt", TIMESTAMP),
        ({"openedAt": "2026-11-26T12:05:01Z"}, "openedAt", FUTURE),
        ({"resolvedAt": "soon"}, "resolvedAt", TIMESTAMP),
        ({"openedAt": "2026-11-26T11:00:00Z", "resolvedAt": "2026-11-26T12:05:01Z"}, "resolvedAt", FUTURE),
        ({"resolvedAt": "2026-11-26T08:59:59Z"}, "resolvedAt", "resolved before it was opened"),
        ({"resolvedAt": "2026-11-26T09:30:00+01:00"}, "resolvedAt", "resolved before it was opened"),
        ({"deploymentId": ""}, "deploymentId", TEXT),
        ({"deploymentId": 12}, "deploymentId", TEXT),
        ({"deploymentId": "d" * 256}, "deploymentId", TEXT),
    ],
)
def test_an_incident_body_is_refused_naming_the_field(changes: dict[str, object], field: str, message: str) -> None:
    assert refusal(check_incident, incident(**changes)) == (field, message, 422)


# --- taking deployments ----------------------------------------------------------------------------------


def test_a_deployment_is_stored_with_its_commits(catalogue: Engine) -> None:
    receipt = take(catalogue, take_deployments, deployment(version="1.4.2"))
    assert receipt == EventReceipt(
        received=1, created=1, updated=0, unchanged=0, entity_refs=frozenset({"component:default/payments-api"})
    )
    assert deployments(catalogue) == {
        "deploy-1": {
            "id": "deploy-1",
            "entity_ref": "component:default/payments-api",
            "environment": "production",
            "finished_at": datetime(2026, 11, 26, 10, 0, tzinfo=UTC),
            "status": "success",
            "rollback": False,
            "version": "1.4.2",
            "lead_time_seconds": None,
            "received_at": NOW,
            "commits": {
                SHA_A: datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
                SHA_B: datetime(2026, 11, 26, 9, 30, tzinfo=UTC),
            },
        }
    }


def test_times_given_with_an_offset_are_stored_in_utc(catalogue: Engine) -> None:
    body = deployment(finishedAt="2026-11-26T11:00:00+01:00")
    body["commits"][0]["committedAt"] = "2026-11-25T04:00:00-05:00"
    take(catalogue, take_deployments, body)
    take(catalogue, take_incidents, incident(openedAt="2026-11-26T10:00:00+01:00"))
    moment = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    with catalogue.connect() as connection:  # compared in SQL, as the DORA queries will (SQLite compares text)
        assert connection.execute(sa.select(DEPLOYMENTS.c.id).where(DEPLOYMENTS.c.finished_at == moment)).all()
        committed = DEPLOYMENT_CHANGES.c.committed_at == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
        assert connection.execute(sa.select(DEPLOYMENT_CHANGES.c.sha).where(committed)).scalars().all() == [SHA_A]
        opened = INCIDENTS.c.opened_at == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
        assert connection.execute(sa.select(INCIDENTS.c.id).where(opened)).scalars().all() == ["inc-1"]


def test_a_lead_time_given_instead_of_commits_is_stored(catalogue: Engine) -> None:
    take(catalogue, take_deployments, deployment(id="d-2", commits=DROP, leadTimeSeconds=5400, rollback=True))
    stored = deployments(catalogue)["d-2"]
    assert (stored["lead_time_seconds"], stored["commits"], stored["rollback"]) == (5400.0, {}, True)


def test_a_resend_of_the_same_content_writes_nothing(catalogue: Engine, statements: StatementCounter) -> None:
    batch = [deployment(), deployment(id="deploy-2", entityRef="search-ui"), deployment(id="deploy-3")]
    take(catalogue, take_deployments, batch)
    before = deployments(catalogue)
    # the same content, written otherwise: commits reordered, a sha in capitals, the same instants at an offset
    again = [dict(body) for body in batch]
    again[0]["commits"] = [
        {"sha": SHA_B.upper(), "committedAt": "2026-11-26T10:30:00+01:00"},
        {"sha": SHA_A, "committedAt": "2026-11-25T09:00:00.000+00:00"},
    ]
    again[1]["finishedAt"] = "2026-11-26T05:00:00-05:00"
    again[2]["entityRef"] = "component:default/payments-api"
    statements.reset()
    with catalogue.begin() as connection:
        receipt = take_deployments(connection, again, datetime(2026, 11, 27, tzinfo=UTC))
    assert receipt == EventReceipt(received=3, created=0, updated=0, unchanged=3)
    assert statements.writes() == []
    assert statements.reads() == ["SELECT", "SELECT"]  # the batch's refs, its ids and hashes
    assert deployments(catalogue) == before  # received_at too


def test_a_changed_resend_updates_the_deployment_and_replaces_its_commits(catalogue: Engine) -> None:
    take(catalogue, take_deployments, deployment())
    changed = deployment(
        status="failure",
        rollback=True,
        environment="Staging",
        commits=[
            {"sha": SHA_B, "committedAt": "2026-11-26T08:00:00Z"},
            {"sha": SHA_C, "committedAt": "2026-11-26T09:45:00Z"},
        ],
    )
    later = datetime(2026, 11, 26, 12, 30, tzinfo=UTC)
    with catalogue.begin() as connection:
        receipt = take_deployments(connection, changed, later)
    assert receipt == EventReceipt(
        received=1, created=0, updated=1, unchanged=0, entity_refs=frozenset({"component:default/payments-api"})
    )
    stored = deployments(catalogue)["deploy-1"]
    assert (stored["status"], stored["rollback"], stored["environment"]) == ("failure", True, "staging")
    assert stored["received_at"] == later
    assert stored["commits"] == {
        SHA_B: datetime(2026, 11, 26, 8, 0, tzinfo=UTC),
        SHA_C: datetime(2026, 11, 26, 9, 45, tzinfo=UTC),
    }


def test_a_changed_resend_may_trade_commits_for_a_lead_time(catalogue: Engine) -> None:
    take(catalogue, take_deployments, deployment())
    assert take(catalogue, take_deployments, deployment(commits=DROP, leadTimeSeconds=60)).updated == 1
    stored = deployments(catalogue)["deploy-1"]
    assert (stored["lead_time_seconds"], stored["commits"]) == (60.0, {})


def changes(engine: Engine) -> list[tuple[object, ...]]:
    """The stored changes: (deployment, position, sha, entity, environment, finished at, lead seconds)."""
    c = DEPLOYMENT_CHANGES.c
    columns = (c.deployment_id, c.position, c.sha, c.entity_ref, c.environment, c.finished_at, c.lead_seconds)
    with engine.connect() as connection:
        rows = connection.execute(sa.select(*columns).order_by(c.deployment_id, c.position)).all()
    return [(*row[:5], aware(row[5]), row[6]) for row in rows]


def test_each_change_is_stored_with_the_lead_time_it_counts_with(catalogue: Engine) -> None:
    batch = [
        deployment(),  # commits 25 h and 30 min before it finished at 10:00
        deployment(id="failed", status="failure", environment="staging"),
        deployment(id="given", commits=DROP, leadTimeSeconds=5400),
        deployment(id="given-failed", commits=DROP, leadTimeSeconds=60, status="failure"),
        deployment(id="neither", commits=DROP),
    ]
    take(catalogue, take_deployments, batch)
    ref, finished = "component:default/payments-api", datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert changes(catalogue) == [
        ("deploy-1", 0, SHA_B, ref, "production", finished, 1800.0),  # numbered in sha order
        ("deploy-1", 1, SHA_A, ref, "production", finished, 90000.0),
        ("failed", 0, SHA_B, ref, "staging", finished, None),  # a failed deployment ships nothing
        ("failed", 1, SHA_A, ref, "staging", finished, None),
        ("given", 0, None, ref, "production", finished, 5400.0),
        ("given-failed", 0, None, ref, "production", finished, None),
    ]


def test_a_changed_resend_that_fails_a_deployment_takes_its_changes_out_of_the_lead_time(catalogue: Engine) -> None:
    ref = "component:default/payments-api"
    given = {"id": "deploy-2", "commits": DROP, "leadTimeSeconds": 30 * 3600}
    take(catalogue, take_deployments, [deployment(), deployment(**given)])
    with catalogue.connect() as connection:
        assert dora_keys(connection, [ref], NOW)[ref].lead_time_hours == 25.0  # median of 0.5 h, 25 h and 30 h
    take(catalogue, take_deployments, deployment(status="failure"))
    with catalogue.connect() as connection:
        keys = dora_keys(connection, [ref], NOW)[ref]
    assert (keys.deployments, keys.failures, keys.lead_time_hours) == (2, 1, 30.0)  # deploy-2's alone
    take(catalogue, take_deployments, deployment(**given, status="failure"))
    with catalogue.connect() as connection:
        assert dora_keys(connection, [ref], NOW)[ref].lead_time_hours is None


def test_a_batch_counts_what_it_created_updated_and_left_unchanged(catalogue: Engine) -> None:
    take(catalogue, take_deployments, [deployment(id="same"), deployment(id="changes")])
    batch = [
        deployment(id="new", entityRef="resource:default/orders-db"),
        deployment(id="changes", version="2.0.0"),
        deployment(id="same"),
        deployment(id="also-new", commits=DROP),
    ]
    # "same" is unchanged, so its entity is not among those written.
    assert take(catalogue, take_deployments, batch) == EventReceipt(
        4, 2, 1, 1, frozenset({"component:default/payments-api", "resource:default/orders-db"})
    )
    stored = deployments(catalogue)
    assert sorted(stored) == ["also-new", "changes", "new", "same"]
    assert stored["changes"]["version"] == "2.0.0"
    assert stored["new"]["entity_ref"] == "resource:default/orders-db"


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (deployment(id="d-3", status="ok"), ("[2].status", 'must be "success" or "failure"', 422)),
        (
            deployment(id="d-3", entityRef="ghost"),
            ("[2].entityRef", "no entity component:default/ghost in the catalogue", 404),
        ),
        ("deploy", ("[2]", "must be a JSON object: a deployment", 422)),
        (
            deployment(id="d-3", commits=[{"sha": "xyz", "committedAt": "2026-11-26T09:00:00Z"}]),
            ("[2].commits[0].sha", SHA, 422),
        ),
        (
            deployment(id="d-3", ref="x"),
            (
                "[2].ref",
                "unknown field; a deployment has id, entityRef, environment, finishedAt, status, commits, "
                "leadTimeSeconds, version and rollback",
                422,
            ),
        ),
    ],
)
def test_a_batch_is_taken_whole_or_not_at_all(catalogue: Engine, bad: object, expected: tuple[str, str, int]) -> None:
    take(catalogue, take_deployments, deployment(id="d-0"))
    before = deployments(catalogue)
    batch = [
        deployment(id="d-0", status="failure"),
        deployment(id="d-1", entityRef="search-ui"),
        bad,
        deployment(id="d-4"),
    ]
    assert refused(catalogue, take_deployments, batch) == expected
    assert deployments(catalogue) == before


def test_an_unknown_entity_is_404_naming_entity_ref(catalogue: Engine) -> None:
    expected = ("entityRef", "no entity component:default/payments-ui in the catalogue", 404)
    assert refused(catalogue, take_deployments, deployment(entityRef="payments-ui")) == expected
    expected = ("entityRef", "no entity group:default/payments-api in the catalogue", 404)
    assert refused(catalogue, take_deployments, deployment(entityRef="group:payments-api")) == expected
    assert deployments(catalogue) == {}


def test_a_batch_names_the_later_of_two_events_with_one_id(catalogue: Engine) -> None:
    batch = [deployment(id="a"), deployment(id="b"), deployment(id="a", status="failure")]
    assert refused(catalogue, take_deployments, batch) == ("[2].id", "the same id as [0]: send each event once", 422)
    assert deployments(catalogue) == {}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([deployment(id=f"d-{n}") for n in range(1001)], ("body", "at most 1,000 events in one batch, got 1,001", 413)),
        ([], ("body", "is an empty array: send 1 to 1,000 events", 422)),
        ("deploy-1", ("body", "must be a JSON object or an array of 1 to 1,000 of them", 422)),
        (None, ("body", "must be a JSON object or an array of 1 to 1,000 of them", 422)),
    ],
)
def test_a_body_is_an_object_or_an_array_of_1_to_1000(
    catalogue: Engine, body: object, expected: tuple[str, str, int]
) -> None:
    assert refused(catalogue, take_deployments, body) == expected


def test_a_batch_of_1000_is_taken(catalogue: Engine) -> None:
    batch = [deployment(id=f"d-{n:04d}", entityRef=("payments-api", "search-ui")[n % 2]) for n in range(1000)]
    assert take(catalogue, take_deployments, batch) == EventReceipt(
        1000, 1000, 0, 0, frozenset({"component:default/payments-api", "component:default/search-ui"})
    )
    stored = deployments(catalogue)
    assert len(stored) == 1000
    assert sum(len(row["commits"]) for row in stored.values()) == 2000


# --- taking incidents ------------------------------------------------------------------------------------


def test_an_incident_is_stored_resent_and_resolved_later(catalogue: Engine, statements: StatementCounter) -> None:
    opened = incident(resolvedAt=DROP, deploymentId="not-reported-yet")
    assert take(catalogue, take_incidents, opened) == EventReceipt(
        1, 1, 0, 0, frozenset({"component:default/payments-api"})
    )
    at = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    assert incidents(catalogue) == {"inc-1": ("component:default/payments-api", at, None, "not-reported-yet")}
    statements.reset()
    assert take(catalogue, take_incidents, opened) == EventReceipt(1, 0, 0, 1)
    assert statements.writes() == []
    resolved = incident(resolvedAt="2026-11-26T11:15:00+01:00", deploymentId="not-reported-yet")
    assert take(catalogue, take_incidents, [resolved]) == EventReceipt(
        1, 0, 1, 0, frozenset({"component:default/payments-api"})
    )
    resolved_at = datetime(2026, 11, 26, 10, 15, tzinfo=UTC)
    assert incidents(catalogue) == {"inc-1": ("component:default/payments-api", at, resolved_at, "not-reported-yet")}


def test_an_incident_batch_is_taken_whole_or_not_at_all(catalogue: Engine) -> None:
    batch = [incident(id="i-1"), incident(id="i-2", resolvedAt="2026-11-26T08:00:00Z"), incident(id="i-3")]
    expected = ("[1].resolvedAt", "resolved before it was opened", 422)
    assert refused(catalogue, take_incidents, batch) == expected
    batch = [incident(id="i-1"), incident(id="i-2", entityRef="component:default/ghost")]
    expected = ("[1].entityRef", "no entity component:default/ghost in the catalogue", 404)
    assert refused(catalogue, take_incidents, batch) == expected
    assert incidents(catalogue) == {}
    batch = [incident(id="i-1"), incident(id="i-2", entityRef="search-ui", resolvedAt=DROP)]
    assert take(catalogue, take_incidents, batch) == EventReceipt(
        2, 2, 0, 0, frozenset({"component:default/payments-api", "component:default/search-ui"})
    )
    assert sorted(incidents(catalogue)) == ["i-1", "i-2"]


def test_an_incident_for_an_unknown_entity_is_404(catalogue: Engine) -> None:
    expected = ("entityRef", "no entity component:default/nobody in the catalogue", 404)
    assert refused(catalogue, take_incidents, incident(entityRef="nobody")) == expected
