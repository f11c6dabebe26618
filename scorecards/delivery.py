"""Delivery events: the deployments and incidents CI/CD and incident tools report, taken idempotently by id.

A deployment is `{id, entityRef, environment?, finishedAt, status, commits? | leadTimeSeconds?, version?,
rollback?}`, an incident `{id, entityRef, openedAt, resolvedAt?, deploymentId?}`; an optional field given
as null counts as absent. A body is one event or a JSON array of up to MAX_BATCH, taken whole or not at
all: the first bad event is refused, naming its index and field (`[3].status`). A resend with the same id
and content writes nothing; a changed resend replaces the stored event (a deployment's changes too).

A deployment is stored with the changes it shipped, one per commit or one for a lead time given instead,
each with the lead time it counts with: from its commit to the deployment's finish, or as given; none when
the deployment failed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from catalog.driver import binder, execute_many
from catalog.provenance import to_utc
from catalog.refs import RefError, parse_ref
from scorecards.tables import DEPLOYMENT_CHANGES, DEPLOYMENTS, INCIDENTS

MAX_BATCH = 1_000  # events in one body
MAX_COMMITS = 1_000  # commits in one deployment
MAX_TEXT = 255  # ids, versions
FUTURE_SLACK = timedelta(minutes=5)  # clocks disagree: an event this far ahead of ours is still taken
PRODUCTION = "production"
STATUSES = ("success", "failure")
ENVIRONMENT = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
SHA = re.compile(r"[0-9a-f]{7,64}")
DEPLOYMENT_FIELDS = (
    "id",
    "entityRef",
    "environment",
    "finishedAt",
    "status",
    "commits",
    "leadTimeSeconds",
    "version",
    "rollback",
)
INCIDENT_FIELDS = ("id", "entityRef", "openedAt", "resolvedAt", "deploymentId")
COMMIT_FIELDS = ("sha", "committedAt")
TIMESTAMP = "must be an ISO-8601 timestamp with a time zone, e.g. 2026-11-02T09:30:00Z"
TEXT = f"must be a non-empty string of at most {MAX_TEXT} characters"


class EventError(ValueError):
    """An event that cannot be taken; `field` names the offending part (`finishedAt`, `commits[2].sha`,
    `[17].entityRef` in a batch, `body` for the body as a whole)."""

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.status = status  # 404 for an unknown entity, 413 for a batch too large, else 422


@dataclass(frozen=True, slots=True)
class DeploymentEvent:
    """A checked deployment; times in UTC, commits as (lower-case sha, commit time) in the order sent."""

    id: str
    entity_ref: str
    environment: str
    finished_at: datetime
    status: str
    rollback: bool
    version: str | None
    lead_time_seconds: float | None
    commits: tuple[tuple[str, datetime], ...]


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    """A checked incident; times in UTC; `deployment_id` as given (that deployment may come later)."""

    id: str
    entity_ref: str
    opened_at: datetime
    resolved_at: datetime | None
    deployment_id: str | None


@dataclass(frozen=True, slots=True)
class EventReceipt:
    """What a body did: events received, how many were new, changed or resent unchanged, and the entities
    whose new or changed events were written (their DORA keys may have moved)."""

    received: int
    created: int
    updated: int
    unchanged: int
    entity_refs: frozenset[str] = frozenset()


Event = TypeVar("Event", DeploymentEvent, IncidentEvent)
Bind = Callable[[Any], object]  # a datetime as its column binds it (SQLite: the text SQLAlchemy stores)


def check_deployment(body: object, now: datetime) -> DeploymentEvent:
    """A DeploymentEvent from one JSON object (see the module's docstring), or EventError naming the field."""
    fields = _object(body, DEPLOYMENT_FIELDS, "a deployment", "")
    event_id = _text(fields, "id")
    entity_ref = _entity_ref(fields.get("entityRef"))
    environment = _environment(fields.get("environment"))
    finished_at = _moment(fields.get("finishedAt"), "finishedAt", now)
    status = fields.get("status")
    if status not in STATUSES:
        raise EventError("status", 'must be "success" or "failure"')
    commits = _commits(fields.get("commits"), finished_at)
    lead_time = _lead_time(fields.get("leadTimeSeconds"))
    if commits is not None and lead_time is not None:
        raise EventError("leadTimeSeconds", "give commits or leadTimeSeconds, not both")
    version = _optional_text(fields, "version")
    rollback = False if fields.get("rollback") is None else fields["rollback"]
    if not isinstance(rollback, bool):
        raise EventError("rollback", "must be true or false")
    return DeploymentEvent(
        event_id, entity_ref, environment, finished_at, status, rollback, version, lead_time, commits or ()
    )


def check_incident(body: object, now: datetime) -> IncidentEvent:
    """An IncidentEvent from one JSON object (see the module's docstring), or EventError naming the field."""
    fields = _object(body, INCIDENT_FIELDS, "an incident", "")
    event_id = _text(fields, "id")
    entity_ref = _entity_ref(fields.get("entityRef"))
    opened_at = _moment(fields.get("openedAt"), "openedAt", now)
    resolved_at = None
    if fields.get("resolvedAt") is not None:
        resolved_at = _moment(fields["resolvedAt"], "resolvedAt", now)
        if resolved_at < opened_at:
            raise EventError("resolvedAt", "resolved before it was opened")
    return IncidentEvent(event_id, entity_ref, opened_at, resolved_at, _optional_text(fields, "deploymentId"))


def _object(body: object, allowed: tuple[str, ...], what: str, where: str) -> Mapping[str, object]:
    """`body` as a JSON object of only the `allowed` fields; `where` prefixes the field an error names."""
    if not isinstance(body, Mapping):
        raise EventError(where or "body", f"must be a JSON object: {what}")
    unknown = sorted(str(key) for key in body if key not in allowed)
    if unknown:
        listing = f"{', '.join(allowed[:-1])} and {allowed[-1]}"
        raise EventError(f"{where}.{unknown[0]}" if where else unknown[0], f"unknown field; {what} has {listing}")
    return body


def _text(fields: Mapping[str, object], key: str) -> str:
    """An id or version: a non-blank string that fits its column (and PostgreSQL's text: no NUL)."""
    value = fields.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT or "\x00" in value:
        raise EventError(key, TEXT)
    return value


def _optional_text(fields: Mapping[str, object], key: str) -> str | None:
    return None if fields.get(key) is None else _text(fields, key)


def _entity_ref(value: object) -> str:
    """The canonical ref of `entityRef`; the kind defaults to component."""
    if value is None:
        raise EventError("entityRef", "is required: a reference such as component:default/payments-api")
    try:
        ref = parse_ref(value, default_kind="component").ref
    except RefError as error:
        raise EventError("entityRef", str(error)) from None
    if "\x00" in ref:
        raise EventError("entityRef", "must not contain a NUL character")
    return ref


def _environment(value: object) -> str:
    if value is None:
        return PRODUCTION
    environment = value.lower() if isinstance(value, str) else ""
    if not ENVIRONMENT.fullmatch(environment):
        raise EventError("environment", "must be a name of letters, digits, '-' and '_' (at most 63), e.g. staging")
    return environment


def _moment(value: object, field: str, now: datetime | None = None) -> datetime:
    """An ISO-8601 timestamp with a time zone, in UTC (SQLite compares the stored text); given `now`, not
    more than FUTURE_SLACK after it."""
    moment = None
    if isinstance(value, str):
        with contextlib.suppress(ValueError, OverflowError):  # OverflowError: out of range in UTC (year 1 at +01)
            parsed = datetime.fromisoformat(value)
            moment = None if parsed.tzinfo is None else to_utc(parsed)
    if moment is None:
        raise EventError(field, TIMESTAMP)
    if now is not None and moment > now + FUTURE_SLACK:
        raise EventError(field, "is more than 5 minutes in the future")
    return moment


def _commits(value: object, finished_at: datetime) -> tuple[tuple[str, datetime], ...] | None:
    """The commits a deployment shipped, each committed by the time it finished, each sha once."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise EventError("commits", "must be a list of {sha, committedAt}")
    if len(value) > MAX_COMMITS:
        raise EventError("commits", f"at most {MAX_COMMITS:,} commits in one deployment")
    first: dict[str, int] = {}
    commits = []
    for index, item in enumerate(value):
        where = f"commits[{index}]"
        fields = _object(item, COMMIT_FIELDS, "a commit", where)
        sha = fields.get("sha")
        sha = sha.lower() if isinstance(sha, str) else ""
        if not SHA.fullmatch(sha):
            raise EventError(f"{where}.sha", "must be 7 to 64 hexadecimal characters")
        if sha in first:
            raise EventError(f"{where}.sha", f"the same commit as commits[{first[sha]}]")
        first[sha] = index
        committed_at = _moment(fields.get("committedAt"), f"{where}.committedAt")
        if committed_at > finished_at:
            raise EventError(f"{where}.committedAt", "is after the deployment finished (finishedAt)")
        commits.append((sha, committed_at))
    return tuple(commits)


def _lead_time(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:  # an integer beyond any float
            seconds = math.inf
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    raise EventError("leadTimeSeconds", "must be a non-negative number of seconds")


def take_deployments(connection: Connection, body: object, now: datetime) -> EventReceipt:
    """Take one deployment or an array of up to MAX_BATCH, all or nothing; an unchanged resend writes nothing,
    a changed one replaces the deployment and its changes."""
    events = _events(body, lambda item: check_deployment(item, now))
    _require_entities(connection, events, isinstance(body, list))
    hashes = {event.id: _content_hash(event) for event in events}
    fresh, changed = _changes(connection, DEPLOYMENTS, hashes)
    if changed:
        stale = DEPLOYMENT_CHANGES.c.deployment_id.in_(sorted(changed))
        connection.execute(sa.delete(DEPLOYMENT_CHANGES).where(stale))
    bind = binder(connection, DEPLOYMENTS.c.finished_at)
    received_at = bind(to_utc(now))
    rows: list[dict[str, object]] = []
    changes: list[dict[str, object]] = []
    for event in events:
        if event.id in fresh or event.id in changed:
            finished_at = bind(event.finished_at)
            rows.append(_deployment_row(event, hashes[event.id], finished_at, received_at))
            changes.extend(_change_rows(event, finished_at, bind))
    _upsert(connection, DEPLOYMENTS, rows, ("id",))
    _upsert(connection, DEPLOYMENT_CHANGES, changes, ("deployment_id", "position"))
    return _receipt(events, fresh, changed)


def take_incidents(connection: Connection, body: object, now: datetime) -> EventReceipt:
    """Take one incident or an array of up to MAX_BATCH, all or nothing; an unchanged resend writes nothing,
    a changed one (e.g. now resolved) replaces the incident."""
    events = _events(body, lambda item: check_incident(item, now))
    _require_entities(connection, events, isinstance(body, list))
    hashes = {event.id: _content_hash(event) for event in events}
    fresh, changed = _changes(connection, INCIDENTS, hashes)
    bind = binder(connection, INCIDENTS.c.opened_at)
    received_at = bind(to_utc(now))
    rows = [
        _incident_row(event, hashes[event.id], bind, received_at)
        for event in events
        if event.id in fresh or event.id in changed
    ]
    _upsert(connection, INCIDENTS, rows, ("id",))
    return _receipt(events, fresh, changed)


def _events(body: object, check: Callable[[object], Event]) -> list[Event]:
    """The checked events of one object or of an array of 1..MAX_BATCH, each id once."""
    if isinstance(body, Mapping):
        return [check(body)]
    if not isinstance(body, list):
        raise EventError("body", f"must be a JSON object or an array of 1 to {MAX_BATCH:,} of them")
    if not body:
        raise EventError("body", f"is an empty array: send 1 to {MAX_BATCH:,} events")
    if len(body) > MAX_BATCH:
        raise EventError("body", f"at most {MAX_BATCH:,} events in one batch, got {len(body):,}", status=413)
    events = []
    for index, item in enumerate(body):
        try:
            events.append(check(item))
        except EventError as error:
            field = f"[{index}]" if error.field == "body" else f"[{index}].{error.field}"
            raise EventError(field, error.message, error.status) from None
    first: dict[str, int] = {}
    for index, event in enumerate(events):
        if event.id in first:
            raise EventError(f"[{index}].id", f"the same id as [{first[event.id]}]: send each event once")
        first[event.id] = index
    return events


def _require_entities(connection: Connection, events: Sequence[DeploymentEvent | IncidentEvent], array: bool) -> None:
    """404 naming the first event whose entity is not in the catalogue (one query for the whole batch); `array`:
    the events came as an array, and are named by index."""
    refs = sorted({event.entity_ref for event in events})
    found = {ref for (ref,) in _select_among(connection, "SELECT ref FROM entities", "ref", refs)}
    for index, event in enumerate(events):
        if event.entity_ref not in found:
            field = f"[{index}].entityRef" if array else "entityRef"
            raise EventError(field, f"no entity {event.entity_ref} in the catalogue", status=404)


def _changes(connection: Connection, table: sa.Table, hashes: dict[str, str]) -> tuple[set[str], set[str]]:
    """The ids of `hashes` not stored yet, and those stored with other content."""
    rows = _select_among(connection, f"SELECT id, content_hash FROM {table.name}", "id", sorted(hashes))
    stored: dict[str, str] = dict(rows)
    fresh = {event_id for event_id in hashes if event_id not in stored}
    changed = {event_id for event_id, digest in hashes.items() if stored.get(event_id, digest) != digest}
    return fresh, changed


def _select_among(connection: Connection, select: str, column: str, values: Sequence[str]) -> list[tuple[Any, ...]]:
    """The rows of `select` whose `column` is one of `values`: an IN list on SQLite, one array on PostgreSQL.

    SQLAlchemy's expanding IN took longer to render 1,000 values than the query took to run.
    """
    params: tuple[object, ...] = (list(values),)
    if connection.dialect.name == "postgresql":  # in binary, as _upsert sends its arrays
        sql = f"{select} WHERE {column} = ANY(%b)"
    else:
        sql, params = f"{select} WHERE {column} IN ({', '.join('?' * len(values))})", tuple(values)
    return [tuple(row) for row in connection.exec_driver_sql(sql, params)]


def _upsert(connection: Connection, table: sa.Table, rows: list[dict[str, object]], keys: tuple[str, ...]) -> None:
    """Insert rows (values already bound), overwriting any with the same key.

    Straight through the driver, as one statement: an executemany on SQLite, one array a column on
    PostgreSQL (psycopg's executemany took 20 µs a row), sent in binary (`%b`): psycopg writes an array
    of text by matching every element against a pattern, which took a fifth of a batch's time. Binary
    arrays want one Python type a column (a float column all floats). The update on conflict is for two
    requests taking the same new event at once (both found it absent).
    """
    if not rows:
        return
    columns = list(rows[0])
    updates = ", ".join(f"{name} = excluded.{name}" for name in columns if name not in keys)
    conflict = f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    insert = f"INSERT INTO {table.name} ({', '.join(columns)})"
    values = [tuple(row.values()) for row in rows]
    if connection.dialect.name == "postgresql":
        arrays = ", ".join(f"%b::{table.c[name].type.compile(connection.dialect)}[]" for name in columns)
        sql = f"{insert} SELECT * FROM unnest({arrays}) {conflict}"  # psycopg's own placeholders: no `native`
        connection.exec_driver_sql(sql, tuple(list(column) for column in zip(*values, strict=True)))
        return
    execute_many(connection, f"{insert} VALUES ({', '.join('?' * len(columns))}) {conflict}", values)


def _receipt(events: Sequence[DeploymentEvent | IncidentEvent], fresh: set[str], changed: set[str]) -> EventReceipt:
    received = len(events)
    written = frozenset(event.entity_ref for event in events if event.id in fresh or event.id in changed)
    return EventReceipt(received, len(fresh), len(changed), received - len(fresh) - len(changed), written)


def _content_hash(event: DeploymentEvent | IncidentEvent) -> str:
    """What a resend is compared by: every field of the event (times in UTC), a deployment's commits in sha
    order (their order is not content)."""
    values = [getattr(event, field.name) for field in dataclasses.fields(event)]
    if isinstance(event, DeploymentEvent):
        values[-1] = sorted(event.commits)
    return hashlib.sha256(orjson.dumps([type(event).__name__, *values])).hexdigest()


def _deployment_row(event: DeploymentEvent, digest: str, finished_at: object, received_at: object) -> dict[str, object]:
    return {
        "id": event.id,
        "entity_ref": event.entity_ref,
        "environment": event.environment,
        "finished_at": finished_at,
        "status": event.status,
        "rollback": event.rollback,
        "version": event.version,
        "lead_time_seconds": event.lead_time_seconds,
        "content_hash": digest,
        "received_at": received_at,
    }


def _change_rows(event: DeploymentEvent, finished_at: object, bind: Bind) -> list[dict[str, object]]:
    """The changes a deployment shipped: a row per commit (numbered in sha order, as their order is not
    content), or one for the lead time given instead; the lead time is None when the deployment failed."""
    shipped = event.status == "success"
    deployment = {
        "deployment_id": event.id,
        "entity_ref": event.entity_ref,
        "environment": event.environment,
        "finished_at": finished_at,
    }
    if event.lead_time_seconds is not None:
        lead_time = event.lead_time_seconds if shipped else None
        return [{**deployment, "position": 0, "sha": None, "committed_at": None, "lead_seconds": lead_time}]
    return [
        {
            **deployment,
            "position": position,
            "sha": sha,
            "committed_at": bind(committed_at),
            "lead_seconds": (event.finished_at - committed_at).total_seconds() if shipped else None,
        }
        for position, (sha, committed_at) in enumerate(sorted(event.commits))
    ]


def _incident_row(event: IncidentEvent, digest: str, bind: Bind, received_at: object) -> dict[str, object]:
    return {
        "id": event.id,
        "entity_ref": event.entity_ref,
        "opened_at": bind(event.opened_at),
        "resolved_at": None if event.resolved_at is None else bind(event.resolved_at),
        "deployment_id": event.deployment_id,
        "content_hash": digest,
        "received_at": received_at,
    }
