"""Reported facts: what CI, monitoring or people tell Stairway about an entity, kept with their history."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from catalog.driver import scan
from catalog.queries import IN_CHUNK, aware, timestamp
from catalog.refs import RefError, parse_ref
from catalog.tables import ENTITIES
from scorecards.rules import Fact
from scorecards.tables import FACT_HISTORY, FACTS

SOURCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")
NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,254}")
MAX_FACTS = 200  # per submission
MAX_VALUE_BYTES = 64 * 1024
CLOCK_SKEW = timedelta(minutes=5)  # an observedAt this far ahead of our clock is still taken


class FactError(ValueError):
    """A submission that cannot be taken; `field` names the offending part (e.g. `facts.coverage`)."""

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.status = status  # 404 for an unknown entity, 422 for a malformed body


@dataclass(frozen=True, slots=True)
class Submission:
    """A checked submission: one entity, one source, some named facts, one observation time."""

    entity_ref: str
    source: str
    facts: Mapping[str, object]
    observed_at: datetime


def check_submission(body: object, now: datetime) -> Submission:
    """A Submission from a JSON body `{entityRef, source, facts: {name: value}, observedAt?}`, or FactError."""
    if not isinstance(body, Mapping):
        raise FactError("body", "must be a JSON object with entityRef, source and facts")
    unknown = sorted(set(body) - {"entityRef", "source", "facts", "observedAt"})
    if unknown:
        raise FactError(unknown[0], "unknown field; a submission has entityRef, source, facts and observedAt")
    try:
        ref = parse_ref(body.get("entityRef")).ref
    except RefError as error:
        raise FactError("entityRef", str(error)) from None
    source = body.get("source")
    if not isinstance(source, str) or not SOURCE.fullmatch(source):
        raise FactError("source", "must be a name of letters, digits, '-' and '_' (at most 63), e.g. ci")
    facts = body.get("facts")
    if not isinstance(facts, Mapping) or not facts:
        raise FactError("facts", "must be a non-empty object of fact names to values")
    if len(facts) > MAX_FACTS:
        raise FactError("facts", f"at most {MAX_FACTS} facts in one submission")
    for name, value in facts.items():
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise FactError(f"facts.{name}", "a fact name is letters, digits, '-' and '_'")
        if len(orjson.dumps(value)) > MAX_VALUE_BYTES:
            raise FactError(f"facts.{name}", f"is over {MAX_VALUE_BYTES:,} bytes as JSON")
    observed_at = now
    if body.get("observedAt") is not None:
        observed_at = _timestamp(body["observedAt"])
        if observed_at > now + CLOCK_SKEW:
            raise FactError("observedAt", "is in the future")
    return Submission(ref, source, dict(facts), observed_at)


def _timestamp(value: object) -> datetime:
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment.astimezone(UTC)  # stored in UTC: SQLite compares the text
    raise FactError("observedAt", "must be an ISO-8601 timestamp with a time zone, e.g. 2026-11-02T09:30:00Z")


def record_facts(connection: Connection, submission: Submission, now: datetime) -> None:
    """Keep every reported value; the newest observation of each fact is the one checks read."""
    exists = connection.execute(sa.select(ENTITIES.c.id).where(ENTITIES.c.ref == submission.entity_ref)).first()
    if exists is None:
        raise FactError("entityRef", f"no entity {submission.entity_ref} in the catalogue", status=404)
    rows = [
        {
            "entity_ref": submission.entity_ref,
            "source": submission.source,
            "name": name,
            "value": orjson.dumps(value).decode(),
            "observed_at": submission.observed_at,
        }
        for name, value in submission.facts.items()
    ]
    connection.execute(sa.insert(FACT_HISTORY), [{**row, "received_at": now} for row in rows])
    insert = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(FACTS)
    upsert = insert.on_conflict_do_update(
        index_elements=[FACTS.c.entity_ref, FACTS.c.source, FACTS.c.name],
        set_={"value": insert.excluded.value, "observed_at": insert.excluded.observed_at},
        where=insert.excluded.observed_at >= FACTS.c.observed_at,  # a late, older report does not win
    )
    connection.execute(upsert, rows)


def latest_facts(connection: Connection, refs: Sequence[str] | None) -> dict[str, dict[str, dict[str, Fact]]]:
    """The newest fact of each name, by entity and source; for all entities (one scan) when `refs` is None."""
    found: dict[str, dict[str, dict[str, Fact]]] = {}
    sql = "SELECT entity_ref, source, name, value, observed_at FROM facts"
    if refs is None:
        batches = [scan(connection, sql)]
    else:
        batches = []
        for start in range(0, len(refs), IN_CHUNK):
            chunk = refs[start : start + IN_CHUNK]
            batches.append(scan(connection, f"{sql} WHERE entity_ref IN ({', '.join('?' * len(chunk))})", chunk))
    for rows in batches:
        for ref, source, name, value, observed_at in rows:
            found.setdefault(ref, {}).setdefault(source, {})[name] = Fact(orjson.loads(value), timestamp(observed_at))
    return found


def fact_history(connection: Connection, ref: str) -> list[tuple[str, str, object, datetime]]:
    """Every report for an entity, newest first, as (source, name, value, observed at)."""
    history = FACT_HISTORY
    query = sa.select(history.c.source, history.c.name, history.c.value, history.c.observed_at)
    rows = connection.execute(
        query.where(history.c.entity_ref == ref).order_by(history.c.observed_at.desc(), history.c.id.desc())
    )
    return [(source, name, orjson.loads(value), aware(observed)) for source, name, value, observed in rows]
