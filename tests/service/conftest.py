"""Shared helpers for the service tests: an HTTP client on a real app, and a GraphQL call helper."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Connection, Engine

import catalog.database
import service.cli
from catalog.ingest import ingest
from scorecards.definitions import Scorecard
from scorecards.delivery import take_deployments, take_incidents
from scorecards.results import store_results, take_facts
from service.app import create_app
from service.auth_config import AuthSettings
from service.config import Config
from service.events_cli import shift_to
from service.settings import Settings
from tests.conftest import EXAMPLES, REPO

with warnings.catch_warnings():
    # Starlette's test client warns once, on import, when it finds httpx rather than httpx2. The
    # project depends on httpx; the suite turns warnings into errors, so accept this one only here.
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette\.testclient` is deprecated")
    from fastapi.testclient import TestClient


def gql(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    """POST a GraphQL query and return the JSON response (data and errors), checking it was HTTP 200."""
    response = client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def data(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    """The `data` of a query that must succeed without errors."""
    body = gql(client, query, **variables)
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


def only_error(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    """The single error a query must fail with."""
    body = gql(client, query, **variables)
    assert len(body.get("errors") or []) == 1, body
    error: dict[str, Any] = body["errors"][0]
    return error


def app_state(client: TestClient) -> Any:
    """The running app's state (its `engine` among others)."""
    return cast(FastAPI, client.app).state


def write(path: Path, text: str) -> Path:
    """Write a descriptor file, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


OPEN = AuthSettings(
    mode="none"
)  # what `make run` uses: no credentials asked for (tests/service/test_auth.py has the rest)


def open_config(**fields: Any) -> Config:
    """A configuration with these fields and `auth.mode: none`."""
    return Config(auth=OPEN, **fields)


@pytest.fixture
def app_client(database: str) -> Iterator[TestClient]:
    """A client on the app for the test database, with the lifespan (engine, migrations) running."""
    settings = Settings(
        database_url=database, scorecard_folders=(str(EXAMPLES.parent / "scorecards"),), config=open_config()
    )
    with TestClient(create_app(settings)) as client:
        yield client


def example_deliveries(now: datetime) -> dict[str, Any]:
    """examples/deliveries.json with its newest event at `now`, as `make run` submits it."""
    document = orjson.loads((EXAMPLES.parent / "deliveries.json").read_bytes())
    shift_to(document, now)
    return cast(dict[str, Any], document)


def report_examples(
    connection: Connection, scorecards: Sequence[Scorecard], now: datetime, deliveries_end: datetime | None = None
) -> None:
    """What `make run` reports after the ingest: the example facts and delivery events (the newest at
    `deliveries_end`, by default now); results re-stored."""
    for body in orjson.loads((EXAMPLES.parent / "facts.json").read_bytes()):
        take_facts(connection, scorecards, body, now)
    deliveries = example_deliveries(deliveries_end or now)
    take_deployments(connection, deliveries["deployments"], now)
    take_incidents(connection, deliveries["incidents"], now)
    store_results(connection, scorecards, None, now)


@pytest.fixture
def examples(engine: Engine) -> Engine:
    """The test database holding the example catalogue."""
    summary = ingest(engine, [str(EXAMPLES)], workers=0)
    assert summary.errors == 0, summary.line()
    return engine


@pytest.fixture
def client(examples: Engine, app_client: TestClient) -> TestClient:
    """A client on the app serving the example catalogue."""
    return app_client


@pytest.fixture
def engines(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Engine]]:
    """The engines the commands create, disposed after the test.

    Workaround for a bug (see test_commands_close_their_connections): the commands never dispose their
    engine, and psycopg warns (an error in this suite) when it garbage-collects an open connection later on.
    """
    created: list[Engine] = []
    real = catalog.database.create_engine

    def tracking(url: str | None = None) -> Engine:
        engine = real(url)
        created.append(engine)
        return engine

    monkeypatch.setattr(catalog.database, "create_engine", tracking)
    monkeypatch.setattr(service.cli, "create_engine", tracking, raising=False)
    yield created
    for engine in created:
        engine.dispose()


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, database: str, tmp_path: Path, engines: list[Engine]) -> Path:
    """The environment `stairway` runs in: the test database, and an empty working directory."""
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.setenv("STAIRWAY_DATABASE_URL", database)
    monkeypatch.setenv("STAIRWAY_SCORECARDS", str(REPO / "examples" / "scorecards"))
    monkeypatch.delenv("STAIRWAY_CONFIG", raising=False)  # `make test` exports the example's for `make run`
    monkeypatch.chdir(workdir)
    return workdir
