"""The REST surface as openapi/openapi.yaml describes it: the committed file is the app's own, and
schemathesis, fuzzing every route in-process, gets no 5xx and only answers the document declares.
It fuzzes every GraphQL field too (from service/schema.graphql): no 5xx, no INTERNAL error."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path

import graphql
import pytest
import requests
import schemathesis
import yaml
from fastapi import FastAPI
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.engine import Engine

from catalog.ingest import ingest
from service.app import create_app
from service.openapi import openapi_document, openapi_yaml
from service.settings import Settings
from tests.conftest import EXAMPLES, REPO
from tests.service.conftest import open_config

SPEC = REPO / "openapi" / "openapi.yaml"
WEBHOOK = "/webhooks/github"
SECRET_ENV = "STAIRWAY_TEST_WEBHOOK_SECRET"
SECRET = b"a webhook secret for the fuzz tests"
MAX_BODY = 64 * 1024

# Status codes and bodies as declared, no 5xx, the declared content types.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Small and the same every run: the examples and coverage phases add their own cases to these.
FUZZ = settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

schema = schemathesis.openapi.from_path(SPEC, config=schemathesis.Config.from_dict({}))


def test_the_committed_document_is_the_apps_own() -> None:
    committed = SPEC.read_text(encoding="utf-8")
    assert committed == openapi_yaml(), "openapi/openapi.yaml is stale: run `make openapi`"
    assert yaml.safe_load(committed) == openapi_document()


def test_the_document_describes_every_rest_route() -> None:
    app = create_app(Settings(database_url="sqlite://"))
    rest = {route.path for route in app.routes if isinstance(route, APIRoute)}  # GraphQL's is a router of its own
    assert set(openapi_document()["paths"]) == rest  # type: ignore[call-overload]
    assert rest == {
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/facts",
        "/api/events/deployments",
        "/api/events/incidents",
        "/api/evidence-packs/{kind}/{namespace}/{name}",
        WEBHOOK,
    }


@pytest.fixture
def app(engine: Engine, database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FastAPI]:
    """The app on the example catalogue, with a GitHub webhook configured and no source to refresh."""
    assert ingest(engine, [str(EXAMPLES)], workers=0).errors == 0
    monkeypatch.setenv(SECRET_ENV, SECRET.decode())
    config = open_config(cache_dir=str(tmp_path / "cache"), github_webhook_secret_env=SECRET_ENV)
    yield create_app(
        Settings(
            database_url=database,
            config=config,
            schedule_sources=False,
            max_body_bytes=MAX_BODY,
            scorecard_folders=(str(EXAMPLES.parent / "scorecards"),),
        )
    )


class GitHubSignature(requests.auth.AuthBase):
    """Signs the bytes schemathesis sends, as GitHub signs a delivery (a case without the header stays unsigned)."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if "X-Hub-Signature-256" in request.headers:
            body = request.body or b""
            assert isinstance(body, bytes | str)
            raw = body.encode() if isinstance(body, str) else body
            request.headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(SECRET, raw, hashlib.sha256).hexdigest()
        return request


@schema.exclude(path=WEBHOOK).parametrize()
@FUZZ
def test_every_route_answers_as_documented(case: Case, app: FastAPI) -> None:
    case.call_and_validate(app=app, checks=CHECKS)


@schema.include(path=WEBHOOK).parametrize()
@FUZZ
def test_the_webhook_answers_signed_deliveries_as_documented(case: Case, app: FastAPI) -> None:
    case.call_and_validate(app=app, auth=GitHubSignature(), checks=CHECKS)


@schema.include(path=WEBHOOK).parametrize()
@FUZZ
def test_the_webhook_refuses_unsigned_deliveries_as_documented(case: Case, app: FastAPI) -> None:
    response = case.call_and_validate(app=app, checks=CHECKS)
    assert response.status_code not in (200, 202)


def test_a_signed_push_and_a_ping_are_answered(app: FastAPI) -> None:
    operation = schema[WEBHOOK]["POST"]
    for event, body, status in (
        ("ping", {"zen": "Keep it logically awesome."}, 200),
        ("push", {"ref": "refs/heads/main", "repository": {"name": "api", "owner": {"login": "acme"}}}, 202),
    ):
        headers = {"X-GitHub-Event": event, "X-Hub-Signature-256": "signed below"}
        case = operation.Case(body=body, headers=headers)
        assert case.call_and_validate(app=app, auth=GitHubSignature(), checks=CHECKS).status_code == status


def test_facts_over_the_size_limit_are_refused_as_documented(app: FastAPI) -> None:
    body = {"entityRef": "component:default/x", "source": "ci", "facts": {"padding": "x" * MAX_BODY}}
    response = schema["/api/facts"]["POST"].Case(body=body).call_and_validate(app=app, checks=CHECKS)
    assert response.status_code == 413


def test_facts_about_a_real_entity_are_taken_as_documented(app: FastAPI) -> None:
    body = {"entityRef": "component:default/churn-prediction-model", "source": "ci", "facts": {"sbom": True}}
    response = schema["/api/facts"]["POST"].Case(body=body).call_and_validate(app=app, checks=CHECKS)
    assert response.status_code == 201


USER_CODES = {"BAD_USER_INPUT", "NOT_FOUND", "UNAUTHENTICATED", "FORBIDDEN"}


def json_literal(value: object) -> graphql.ValueNode:
    """A JSON value as a GraphQL literal (the JSON scalar takes objects, lists, strings, numbers, booleans)."""
    if isinstance(value, dict):
        fields = [
            graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=json_literal(v)) for k, v in value.items()
        ]
        return graphql.ObjectValueNode(fields=tuple(fields))
    if isinstance(value, list):
        return graphql.ListValueNode(values=tuple(json_literal(item) for item in value))
    if isinstance(value, bool):
        return graphql.BooleanValueNode(value=value)
    if isinstance(value, int):
        return graphql.IntValueNode(value=str(value))
    return graphql.StringValueNode(value=str(value))


FACT_NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True)
FACT_VALUE = st.one_of(
    st.booleans(), st.integers(-(10**6), 10**6), st.text(max_size=20), st.lists(st.booleans(), max_size=3)
)
schemathesis.graphql.scalar("JSON", st.dictionaries(FACT_NAME, FACT_VALUE, max_size=4).map(json_literal))
graphql_schema = schemathesis.graphql.from_path(REPO / "service" / "schema.graphql")
graphql_schema.config.update(base_url="http://testserver/graphql")  # the file names no endpoint


@graphql_schema.parametrize()
@FUZZ
def test_every_graphql_field_answers_without_a_server_error(case: Case, app: FastAPI) -> None:
    # schemathesis counts any error raised while executing as the server's; Stairway's NOT_FOUND and
    # BAD_USER_INPUT are answers. What must never come back is a 5xx or an INTERNAL error.
    response = case.call(app=app)
    assert response.status_code == 200, response.text  # the endpoint, not a 404 beside it
    errors = response.json().get("errors") or []
    assert all(error["extensions"]["code"] in USER_CODES for error in errors), errors
