"""What each source's refreshes did: recorded as they happen, read by GraphQL and `stairway sources`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from catalog.provenance import to_utc
from catalog.sources.definitions import Schedule, Source
from catalog.tables import ENTITIES, SOURCE_STATUS

REFRESHING = "refreshing"
OK = "ok"
FAILED = "failed"
NEVER = "never"  # configured, never refreshed
SKIPPED = "skipped"  # another replica was refreshing it (an outcome, never stored)


@dataclass(frozen=True)
class SourceState:
    """A configured source as the last refresh left it."""

    name: str
    type: str
    status: str
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    entity_count: int
    summary: dict[str, int]
    next_run_at: datetime | None


def record_start(engine: Engine, source: Source, now: datetime) -> None:
    """Say, at once and for every replica to see, that a refresh of `source` began."""
    with engine.begin() as connection:
        _upsert(connection, source, {"status": REFRESHING, "last_attempt_at": now})


def record_success(connection: Connection, source: Source, now: datetime, summary: dict[str, int]) -> None:
    """In the refresh's own transaction: it succeeded, with these counts."""
    values = {"status": OK, "last_attempt_at": now, "last_success_at": now, "last_error": None}
    _upsert(connection, source, {**values, "summary": orjson.dumps(summary).decode()})


def record_failure(engine: Engine, source: Source, now: datetime, error: str) -> None:
    """After the refresh rolled back: it failed, and why. The last success stays as it was."""
    with engine.begin() as connection:
        _upsert(connection, source, {"status": FAILED, "last_attempt_at": now, "last_error": error[:4000]})


def _upsert(connection: Connection, source: Source, values: dict[str, object]) -> None:
    updated = connection.execute(
        sa.update(SOURCE_STATUS).where(SOURCE_STATUS.c.name == source.name).values(type=source.type, **values)
    )
    if not updated.rowcount:
        connection.execute(sa.insert(SOURCE_STATUS).values(name=source.name, type=source.type, **values))


def unconfigured_sources(connection: Connection, sources: tuple[Source, ...]) -> dict[str, int]:
    """Sources that hold entities but are not configured (taken out of stairway.yaml, or written by
    `stairway ingest`), with how many each holds."""
    configured = {source.name for source in sources}
    query = sa.select(ENTITIES.c.source, sa.func.count()).group_by(ENTITIES.c.source).order_by(ENTITIES.c.source)
    return {name: count for name, count in connection.execute(query) if name not in configured}


def source_states(connection: Connection, sources: tuple[Source, ...], now: datetime) -> list[SourceState]:
    """Every configured source, in configuration order, with what its refreshes did."""
    stored = {row.name: row for row in connection.execute(sa.select(SOURCE_STATUS))}
    query = sa.select(ENTITIES.c.source, sa.func.count()).group_by(ENTITIES.c.source)
    counts: dict[str, int] = {source: count for source, count in connection.execute(query)}
    states = []
    for source in sources:
        row = stored.get(source.name)
        attempted = to_utc(row.last_attempt_at) if row and row.last_attempt_at else None
        states.append(
            SourceState(
                name=source.name,
                type=source.type,
                status=row.status if row else NEVER,
                last_attempt_at=attempted,
                last_success_at=to_utc(row.last_success_at) if row and row.last_success_at else None,
                last_error=row.last_error if row else None,
                entity_count=int(counts.get(source.name, 0)),
                summary=orjson.loads(row.summary) if row and row.summary else {},
                next_run_at=next_run(source.name, source.schedule, attempted, now),
            )
        )
    return states


def next_run(name: str, schedule: Schedule, last_attempt: datetime | None, now: datetime) -> datetime | None:
    """When the source refreshes next on its own: at once if it never ran, else a frequency after
    its last attempt, moved by a jitter every replica computes alike (so they agree, and sources
    configured alike do not all start at the same second)."""
    if schedule.frequency is None:
        return None
    if last_attempt is None:
        return now
    digest = hashlib.blake2b(f"{name}@{last_attempt.isoformat()}".encode(), digest_size=8).digest()
    spread = int.from_bytes(digest, "big") / 2**64 * 2 - 1  # in [-1, 1)
    delay = schedule.frequency * (1 + schedule.jitter * spread)
    return last_attempt + timedelta(seconds=delay)
