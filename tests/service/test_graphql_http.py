"""GraphQL over HTTP under hostile or careless requests: status codes by the GraphQL-over-HTTP spec for
clients that ask for them, a stable `extensions.code` on every error, body limits, content types,
and introspection only when configured."""

from __future__ import annotations

import httpx
import pytest

from service.app import create_app
from service.settings import Settings
from tests.service.conftest import TestClient, open_config

STRICT = {"Accept": "application/graphql-response+json"}
DEPTH_40 = '{ entity(ref: "group:platform-team") { ' + "owner { " * 39 + "ref" + " }" * 40 + " }"
ALIASES = "{ " + " ".join(f"a{number}: entities {{ totalCount }}" for number in range(40)) + " }"
TOKENS = "{ " + "__typename " * 2100 + "}"


def codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json()["errors"]]


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("{ entities { totalCount ", "Syntax Error"),
        ("{ entities { totalCout } }", "Cannot query field 'totalCout'"),
        (DEPTH_40, "exceeds maximum operation depth"),
        (ALIASES, "aliases"),
        (TOKENS, "tokens"),
        ("{ entity(ref: 42) { ref } }", "String cannot represent a non string value"),
    ],
    ids=["syntax", "unknown-field", "depth-40", "alias-bomb", "token-flood", "bad-argument"],
)
def test_a_request_that_fails_before_it_runs_is_a_400_with_a_code(
    app_client: TestClient, query: str, says: str
) -> None:
    strict = app_client.post("/graphql", json={"query": query}, headers=STRICT)
    assert strict.status_code == 400
    assert strict.headers["content-type"] == "application/graphql-response+json"
    assert codes(strict) == ["BAD_USER_INPUT"] and says in strict.json()["errors"][0]["message"]
    assert "data" not in strict.json() or strict.json()["data"] is None
    legacy = app_client.post("/graphql", json={"query": query})  # application/json clients get 200, as before
    assert (legacy.status_code, codes(legacy)) == (200, ["BAD_USER_INPUT"])


def test_a_request_that_ran_is_a_200_even_with_errors(app_client: TestClient) -> None:
    response = app_client.post("/graphql", json={"query": "{ entities(first: 5000) { totalCount } }"}, headers=STRICT)
    assert (response.status_code, codes(response)) == (200, ["BAD_USER_INPUT"])
    ok = app_client.post("/graphql", json={"query": "{ entities { totalCount } }"}, headers=STRICT)
    assert (ok.status_code, ok.json()) == (200, {"data": {"entities": {"totalCount": 0}}})


def test_a_body_over_the_limit_is_refused_unread(app_client: TestClient) -> None:
    padding = "#" + "x" * (10 * 1024 * 1024)  # a 10 MB comment
    response = app_client.post("/graphql", json={"query": "{ __typename }" + padding})
    assert response.status_code == 413
    assert response.json() == {"error": "the body is over 1,048,576 bytes"}
    facts = app_client.post("/api/facts", content=b"{" + b" " * (10 * 1024 * 1024) + b"}",
                            headers={"Content-Type": "application/json"})  # fmt: skip
    assert facts.status_code == 413


@pytest.mark.parametrize("path", ["/graphql", "/api/facts"])
def test_malformed_json_is_a_400_and_another_content_type_a_415(app_client: TestClient, path: str) -> None:
    malformed = app_client.post(path, content=b'{"query": ', headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400
    form = app_client.post(path, content=b"query={__typename}", headers={"Content-Type": "text/plain"})
    assert form.status_code == 415


INTROSPECTION = "{ __schema { queryType { name } } }"


@pytest.mark.parametrize(("introspection", "graphiql", "allowed"), [(False, False, False), (True, False, True),
                                                                     (False, True, True)])  # fmt: skip
def test_introspection_only_when_configured_or_graphiql_is_on(
    database: str, introspection: bool, graphiql: bool, allowed: bool
) -> None:
    settings = Settings(database_url=database, graphiql=graphiql, config=open_config(introspection=introspection))
    with TestClient(create_app(settings)) as client:
        response = client.post("/graphql", json={"query": INTROSPECTION}, headers=STRICT)
        if allowed:
            assert response.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
        else:
            assert response.status_code == 400 and set(codes(response)) == {"BAD_USER_INPUT"}
            assert "introspection" in response.json()["errors"][0]["message"].lower()
        assert client.post("/graphql", json={"query": "{ __typename }"}).json() == {"data": {"__typename": "Query"}}
