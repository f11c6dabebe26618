"""What an operator sees: /metrics in Prometheus format, request ids, and logs one JSON object a line."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine

from catalog.ingest import ingest
from catalog.sources.definitions import FileSource, Schedule
from service.app import create_app
from service.logs import TextFormatter, request_id
from service.settings import Settings
from tests.conftest import REPO
from tests.service.conftest import TestClient, data, open_config, write

COMPONENT = """apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {{name: {name}}}
spec: {{type: service, lifecycle: production, owner: team-a}}
"""
API = """apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: payments-api}
spec: {type: openapi, lifecycle: production, owner: team-a, definition: "openapi: 3.0.0"}
"""


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample /metrics shows, by name and labels."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(client: TestClient, name: str, **labels: str) -> float:
    """One sample's value; 0 when the series has not been started yet."""
    return samples(client).get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def catalogue(engine: Engine, tmp_path: Path) -> Engine:
    """Two components, an API, and a file that is not YAML."""
    folder = tmp_path / "catalog"
    write(folder / "a.yaml", COMPONENT.format(name="checkout"))
    write(folder / "b.yaml", COMPONENT.format(name="ledger") + "---\n" + API)
    write(folder / "broken.yaml", "kind: [unclosed\n")
    ingest(engine, [str(folder)], workers=0)
    return engine


def test_metrics_show_the_catalogue_as_stored(catalogue: Engine, app_client: TestClient) -> None:
    found = samples(app_client)
    assert found[("stairway_database_up", ())] == 1
    assert found[("stairway_catalog_entities", (("kind", "component"),))] == 2
    assert found[("stairway_catalog_entities", (("kind", "api"),))] == 1
    assert found[("stairway_processing_errors", (("severity", "error"), ("source", "local")))] == 1


def test_metrics_are_served_when_the_database_is_down(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(
        database_url="postgresql://stairway@127.0.0.1:9/unreachable", migrate_on_start=False, config=open_config()
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").status_code == 503
        found = samples(client)
    assert found[("stairway_database_up", ())] == 0
    assert not any(name == "stairway_catalog_entities" for name, _labels in found)
    assert found[("stairway_http_requests_total", (("method", "GET"), ("route", "/readyz"), ("status", "503")))] >= 1
    assert "metrics: the database did not answer" in caplog.text


def test_graphql_operations_are_counted_by_name_and_outcome(app_client: TestClient) -> None:
    operations = {
        ("Kinds", "ok"): "query Kinds { entities(first: 1) { totalCount } }",
        ("other", "invalid"): "query Typo { entities { totalCout } }",  # refused: its name takes no label
        ("TooMany", "error"): "query TooMany { entities(first: 5000) { totalCount } }",
        ("anonymous", "invalid"): "{ entities(first: 1) {",
    }
    before = {labels: value(app_client, "stairway_graphql_requests_total", operation=labels[0], outcome=labels[1])
              for labels in operations}  # fmt: skip
    for query in operations.values():
        gql_any(app_client, query)
    for (operation, outcome), count in before.items():
        labels = {"operation": operation, "outcome": outcome}
        assert value(app_client, "stairway_graphql_requests_total", **labels) == count + 1, labels
        assert value(app_client, "stairway_graphql_request_duration_seconds_count", **labels) >= 1


def gql_any(client: TestClient, query: str) -> None:
    """Send a query whatever the status it gets (a document that does not parse gets 400)."""
    client.post("/graphql", json={"query": query})


def test_fact_submissions_are_counted_accepted_or_rejected(catalogue: Engine, app_client: TestClient) -> None:
    accepted = value(app_client, "stairway_fact_submissions_total", outcome="accepted")
    rejected = value(app_client, "stairway_fact_submissions_total", outcome="rejected")
    facts = value(app_client, "stairway_facts_total")
    body = {"entityRef": "component:default/checkout", "source": "ci", "facts": {"tests": True, "coverage": 81}}
    assert app_client.post("/api/facts", json=body).status_code == 201
    assert app_client.post("/api/facts", json={**body, "entityRef": "component:default/nope"}).status_code == 404
    submit = """mutation { submitFacts(entityRef: "component:default/ledger", source: "ci", facts: {docs: true}) {
        names } }"""
    assert data(app_client, submit)["submitFacts"]["names"] == ["docs"]
    assert value(app_client, "stairway_fact_submissions_total", outcome="accepted") == accepted + 2
    assert value(app_client, "stairway_fact_submissions_total", outcome="rejected") == rejected + 1
    assert value(app_client, "stairway_facts_total") == facts + 3


def test_a_refresh_is_counted_timed_and_its_source_reported(database: str, tmp_path: Path) -> None:
    folder = tmp_path / "team-catalog"
    write(folder / "catalog-info.yaml", COMPONENT.format(name="search"))
    source = FileSource("team-files", (str(folder),), Schedule(frequency=None))
    config = open_config(sources=(source,), cache_dir=str(tmp_path / "cache"))
    settings = Settings(database_url=database, config=config, schedule_sources=False)
    with TestClient(create_app(settings)) as client:
        refreshes = value(client, "stairway_source_refreshes_total", source="team-files", status="ok")
        added = value(client, "stairway_source_refresh_entities_total", source="team-files", change="added")
        timed = value(client, "stairway_source_refresh_duration_seconds_count", source="team-files")
        evaluations = value(client, "stairway_evaluations_total", outcome="ok")
        refresh = 'mutation { refreshSource(name: "team-files") { status } }'
        assert data(client, refresh)["refreshSource"]["status"] == "OK"
        found = samples(client)
    labels = (("source", "team-files"),)
    assert found[("stairway_source_refreshes_total", (*labels, ("status", "ok")))] == refreshes + 1
    assert found[("stairway_source_refresh_entities_total", (("change", "added"), *labels))] == added + 1
    assert found[("stairway_source_refresh_duration_seconds_count", labels)] == timed + 1
    assert found[("stairway_evaluations_total", (("outcome", "ok"),))] == evaluations + 1
    assert found[("stairway_source_failing", labels)] == 0
    assert found[("stairway_source_last_success_timestamp_seconds", labels)] > 1.7e9
    assert found[("stairway_catalog_entities", (("kind", "component"),))] == 1


def test_http_requests_are_counted_by_route_not_by_path(app_client: TestClient) -> None:
    requests = {
        ("GET", "/healthz", "200"): lambda: app_client.get("/healthz"),
        ("POST", "/graphql", "200"): lambda: app_client.post("/graphql", json={"query": "{ __typename }"}),
        ("GET", "unmatched", "404"): lambda: app_client.get("/no/such/page/12345"),
    }
    labels = {key: dict(zip(("method", "route", "status"), key, strict=True)) for key in requests}
    before = {key: value(app_client, "stairway_http_requests_total", **labels[key]) for key in requests}
    for send in requests.values():
        send()
    for key, count in before.items():
        assert value(app_client, "stairway_http_requests_total", **labels[key]) == count + 1, key


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("portal-7f3a.42", True), (None, False), ("has spaces in it", False), ("x" * 129, False)],
)
def test_every_response_carries_a_request_id(app_client: TestClient, sent: str | None, kept: bool) -> None:
    headers = {"X-Request-ID": sent} if sent is not None else {}
    answered = app_client.get("/healthz", headers=headers).headers["x-request-id"]
    if kept:
        assert answered == sent
    else:
        assert answered != sent and len(answered) == 32 and int(answered, 16) >= 0


def test_text_logs_name_the_request() -> None:
    record = logging.makeLogRecord({"name": "stairway.requests", "levelname": "INFO", "msg": "GET /healthz 200"})
    token = request_id.set("abc123")
    try:
        assert TextFormatter().format(record) == "INFO:     stairway.requests: [abc123] GET /healthz 200"
    finally:
        request_id.reset(token)
    assert TextFormatter().format(record) == "INFO:     stairway.requests: GET /healthz 200"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`stairway serve` in its own process, logging JSON, on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "stairway.yaml"
    config.write_text("auth: {mode: none}\n", encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "STAIRWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'stairway.db'}",
        "STAIRWAY_LOG_FORMAT": "json",
        "STAIRWAY_SCORECARDS": str(REPO / "examples" / "scorecards"),
        "STAIRWAY_CONFIG": str(config),
    }
    command = [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.terminate()
        process.wait(timeout=30)
        assert process.stderr is not None
        process.stderr.close()


def test_serve_logs_one_json_object_a_line_with_the_request_id(server: tuple[str, subprocess.Popen[str]]) -> None:
    base, process = server
    assert process.stderr is not None
    started = [json.loads(next(process.stderr))]
    while "Uvicorn running on" not in started[-1]["message"]:
        started.append(json.loads(next(process.stderr)))
    assert all(entry["level"] in ("info", "warning") and "time" in entry for entry in started)
    response = httpx.post(f"{base}/graphql", json={"query": "{ entities(first: 1) { totalCount } }"},
                          headers={"X-Request-ID": "trace-42"})  # fmt: skip
    assert response.status_code == 200 and response.headers["x-request-id"] == "trace-42"
    access = json.loads(next(process.stderr))
    assert access["logger"] == "stairway.requests"
    assert access["requestId"] == "trace-42"
    assert (access["method"], access["path"], access["status"]) == ("POST", "/graphql", 200)
    assert access["message"].startswith("POST /graphql 200 ")


def test_serve_refuses_an_unknown_log_format(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "STAIRWAY_LOG_FORMAT": "xml"}
    env.pop("STAIRWAY_CONFIG", None)
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "serve"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr == "stairway: STAIRWAY_LOG_FORMAT must be one of text, json, not 'xml'\n"
