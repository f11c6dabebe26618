"""Prometheus metrics: what the process counts as it goes, and what the database holds at each scrape.

Counters and histograms live in prometheus-client's default registry, one set per process (a
replica serves one app). The catalogue's gauges (entities by kind, processing errors, source
status) are read from the database at scrape time, so every replica reports the same figures.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Connection, Engine
from strawberry.extensions import SchemaExtension

from catalog.provenance import to_utc
from catalog.sources.refresh import RefreshOutcome
from catalog.tables import ENTITIES, PROCESSING_ERRORS, SOURCE_STATUS
from scorecards.definitions import Scorecard
from scorecards.dora import Profile
from scorecards.facts import FactError, Submission
from scorecards.results import take_facts

log = logging.getLogger("stairway.metrics")

# Seconds: GraphQL answers in milliseconds, refreshes and evaluations take up to minutes.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)

HTTP_REQUESTS = Counter(
    "stairway_http_requests", "HTTP requests answered, by route template and status", ["method", "route", "status"]
)
HTTP_SECONDS = Histogram(
    "stairway_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=REQUEST_BUCKETS,
)
GRAPHQL_REQUESTS = Counter(
    "stairway_graphql_requests", "GraphQL operations, by operation name and outcome", ["operation", "outcome"]
)
GRAPHQL_SECONDS = Histogram(
    "stairway_graphql_request_duration_seconds",
    "Time to parse, validate and execute a GraphQL operation",
    ["operation", "outcome"],
    buckets=REQUEST_BUCKETS,
)
REFRESHES = Counter("stairway_source_refreshes", "Refreshes of a catalogue source, by outcome", ["source", "status"])
REFRESH_SECONDS = Histogram(
    "stairway_source_refresh_duration_seconds",
    "Time a refresh of a source took (a file source's is its ingest)",
    ["source"],
    buckets=JOB_BUCKETS,
)
REFRESH_ENTITIES = Counter(
    "stairway_source_refresh_entities",
    "Entities a source's refreshes added, updated, removed, left",
    ["source", "change"],
)
REFRESH_REQUESTS = Counter(
    "stairway_source_refresh_http_requests",
    "Upstream HTTP requests made by refreshes, and those answered 304",
    ["source", "answer"],
)
EVALUATIONS = Counter("stairway_evaluations", "Re-evaluations of every scorecard, by outcome", ["outcome"])
EVALUATION_SECONDS = Histogram(
    "stairway_evaluation_duration_seconds", "Time to evaluate every scorecard over the catalogue", buckets=JOB_BUCKETS
)
FACT_SUBMISSIONS = Counter(
    "stairway_fact_submissions", "Fact submissions over REST and GraphQL, by outcome", ["outcome"]
)
FACTS = Counter("stairway_facts", "Facts taken in accepted submissions")

OPERATION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
MAX_OPERATION_NAMES = 500  # distinct names kept as labels; later ones count as "other" (clients choose names)
_operation_names: set[str] = set()


def operation_label(name: str | None) -> str:
    """The label for an operation name: bounded, since any client may send any name."""
    if not name:
        return "anonymous"
    if not OPERATION_NAME.fullmatch(name):
        return "other"
    if name not in _operation_names and len(_operation_names) >= MAX_OPERATION_NAMES:
        return "other"
    _operation_names.add(name)
    return name


class GraphQLMetrics(SchemaExtension):
    """Counts and times each operation: outcome `ok`, `error` (it ran, with errors), `invalid`
    (refused before it ran: parse, validation, or a limit), or `forbidden` (the caller lacks a scope)."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        self.executed = False
        try:
            yield
        finally:  # a document that does not parse ends the operation by an exception
            self._record(time.perf_counter() - started)

    def on_execute(self) -> Iterator[None]:
        self.executed = True
        yield

    def _record(self, seconds: float) -> None:
        context = self.execution_context
        errors = context.result.errors if context.result is not None else None
        outcome = ("error" if errors else "ok") if self.executed else "invalid"
        if errors and all((error.extensions or {}).get("code") == "FORBIDDEN" for error in errors):
            outcome = "forbidden"  # refused for want of a scope, before anything ran
        try:
            name = context.operation_name
        except Exception:  # the document did not parse: there is no name to read
            name = None
        # Only operations that ran take a label of their own: names in refused requests cost nothing.
        labels = (operation_label(name) if outcome != "invalid" or not name else "other", outcome)
        GRAPHQL_REQUESTS.labels(*labels).inc()
        GRAPHQL_SECONDS.labels(*labels).observe(seconds)


def record_refresh(outcome: RefreshOutcome) -> None:
    """Count one refresh of a source: its outcome, its time, its entity changes and its requests."""
    REFRESHES.labels(outcome.source, outcome.status).inc()
    if outcome.status == "skipped":
        return
    REFRESH_SECONDS.labels(outcome.source).observe(outcome.seconds)
    summary = outcome.summary
    for change, count in (
        ("added", summary.added),
        ("updated", summary.updated),
        ("removed", summary.removed),
        ("unchanged", summary.unchanged),
    ):
        REFRESH_ENTITIES.labels(outcome.source, change).inc(count)
    REFRESH_REQUESTS.labels(outcome.source, "any").inc(outcome.counts.requests)
    REFRESH_REQUESTS.labels(outcome.source, "not-modified").inc(outcome.counts.not_modified)


def record_evaluation(evaluate: Callable[[], str]) -> str:
    """Run a whole evaluation, counted by outcome and timed; returns what it says it did."""
    started = time.perf_counter()
    outcome = "failed"
    try:
        line = evaluate()
        outcome = "ok"
    finally:
        EVALUATIONS.labels(outcome).inc()
        EVALUATION_SECONDS.observe(time.perf_counter() - started)
    return line


def take_counted_facts(
    connection: Connection, scorecards: Sequence[Scorecard], body: object, now: datetime, dora_profile: Profile
) -> Submission:
    """`take_facts`, counted as an accepted or a rejected submission (REST and GraphQL alike)."""
    try:
        submission = take_facts(connection, scorecards, body, now, dora_profile)
    except FactError:
        FACT_SUBMISSIONS.labels("rejected").inc()
        raise
    FACT_SUBMISSIONS.labels("accepted").inc()
    FACTS.inc(len(submission.facts))
    return submission


class CatalogueCollector(Collector):
    """The catalogue's state as the database holds it, read at each scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Any]:
        entities = GaugeMetricFamily("stairway_catalog_entities", "Entities in the catalogue, by kind", labels=["kind"])
        errors = GaugeMetricFamily(
            "stairway_processing_errors", "Processing errors and warnings, by source", labels=["source", "severity"]
        )
        last_success = GaugeMetricFamily(
            "stairway_source_last_success_timestamp_seconds",
            "When each source last refreshed successfully (Unix time)",
            labels=["source"],
        )
        failing = GaugeMetricFamily(
            "stairway_source_failing", "1 when a source's last refresh failed, else 0", labels=["source"]
        )
        up = GaugeMetricFamily("stairway_database_up", "1 when the database answered this scrape, else 0")
        try:
            self._read(entities, errors, last_success, failing)
        except sa.exc.SQLAlchemyError as failure:
            log.warning("metrics: the database did not answer: %s", failure)
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield from (up, entities, errors, last_success, failing)

    def _read(
        self,
        entities: GaugeMetricFamily,
        errors: GaugeMetricFamily,
        last_success: GaugeMetricFamily,
        failing: GaugeMetricFamily,
    ) -> None:
        entity, error, status = ENTITIES.c, PROCESSING_ERRORS.c, SOURCE_STATUS.c
        with self.engine.connect() as connection:
            for kind, count in connection.execute(
                sa.select(entity.kind, sa.func.count()).group_by(entity.kind).order_by(entity.kind)
            ):
                entities.add_metric([kind], count)
            by_source = (error.source, error.severity)
            for source, severity, count in connection.execute(
                sa.select(*by_source, sa.func.count()).group_by(*by_source).order_by(*by_source)
            ):
                errors.add_metric([source, severity], count)
            for name, state, success_at in connection.execute(
                sa.select(status.name, status.status, status.last_success_at).order_by(status.name)
            ):
                failing.add_metric([name], 1.0 if state == "failed" else 0.0)
                if success_at is not None:
                    last_success.add_metric([name], to_utc(success_at).timestamp())


def exposition(engine: Engine) -> bytes:
    """Everything `/metrics` shows: the process's counters, then the catalogue read now."""
    catalogue = CollectorRegistry(auto_describe=False)
    catalogue.register(CatalogueCollector(engine))
    return generate_latest(REGISTRY) + generate_latest(catalogue)
