"""The audit log: each change made through the API is recorded in the same transaction as the change,
with who made it, what it was, and the state before and after; admins read it over GraphQL."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from catalog.provenance import to_utc
from catalog.refs import RefError, parse_ref
from catalog.tables import AUDIT_LOG
from scorecards.definitions import Scorecard
from scorecards.delivery import EventReceipt
from scorecards.dora import Profile
from scorecards.evaluate import Exemption
from scorecards.facts import Submission, latest_facts
from scorecards.results import rescore
from service.authentication import Caller
from service.logs import request_id
from service.metrics import take_counted_facts

EventTaker = Callable[[Connection, object, datetime], EventReceipt]  # take_deployments, take_incidents


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    before: object
    after: object
    request_id: str | None


def record_change(
    connection: Connection, caller: Caller, action: str, target: str, before: object, after: object, now: datetime
) -> None:
    """Record one change (before and after as JSON; None for nothing)."""
    connection.execute(
        sa.insert(AUDIT_LOG).values(
            at=now,
            actor=caller.name,
            action=action,
            target=target,
            before=_json(before),
            after=_json(after),
            request_id=request_id.get(),
        )
    )


def audit_entries(connection: Connection, limit: int, before_id: int | None = None) -> list[AuditEntry]:
    """The newest `limit` records (older than `before_id` when given), newest first."""
    query = sa.select(AUDIT_LOG).order_by(AUDIT_LOG.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AUDIT_LOG.c.id < before_id)
    return [
        AuditEntry(
            row.id,
            to_utc(row.at),
            row.actor,
            row.action,
            row.target,
            orjson.loads(row.before) if row.before is not None else None,
            orjson.loads(row.after) if row.after is not None else None,
            row.request_id,
        )
        for row in connection.execute(query)
    ]


def take_audited_facts(
    connection: Connection,
    caller: Caller,
    scorecards: Sequence[Scorecard],
    body: object,
    now: datetime,
    dora_profile: Profile,
) -> Submission:
    """Take a fact submission (REST or GraphQL) and record it: the values it replaced, and its own."""
    before = _reported(connection, body)
    submission = take_counted_facts(connection, scorecards, body, now, dora_profile)
    after = {"source": submission.source, "facts": submission.facts, "observedAt": submission.observed_at}
    record_change(connection, caller, "submitFacts", submission.entity_ref, before, after, now)
    return submission


def take_audited_events(
    engine: Engine,
    caller: Caller,
    take: EventTaker,
    action: str,
    body: object,
    now: datetime,
    scorecards: Sequence[Scorecard],
    dora_profile: Profile,
) -> EventReceipt:
    """Take a body of events, re-score the entities they moved and audit what it did, in one transaction
    (REST and GraphQL alike)."""
    with engine.begin() as connection:
        receipt = take(connection, body, now)
        rescore(connection, scorecards, receipt.entity_refs, now, dora_profile)
        ids = [item.get("id") for item in (body if isinstance(body, list) else [body]) if isinstance(item, dict)]
        record_change(connection, caller, action, ", ".join(map(str, ids[:20])), None, receipt_json(receipt), now)
        return receipt


def receipt_json(receipt: EventReceipt) -> dict[str, int]:
    """What a report of events did, as REST answers it and the audit log keeps it."""
    counts = ("received", "created", "updated", "unchanged")
    return {name: value for name, value in asdict(receipt).items() if name in counts}


def as_record(exemption: Exemption) -> dict[str, object]:
    """An exemption as the audit log keeps it."""
    return {
        "id": exemption.id,
        "entityRef": exemption.entity_ref,
        "scorecard": exemption.scorecard,
        "check": exemption.check,
        "reason": exemption.reason,
        "expiresAt": exemption.expires_at,
        "createdBy": exemption.created_by,
    }


def _reported(connection: Connection, body: object) -> dict[str, object] | None:
    """What the entity's source had reported before, for the facts a submission names (None: nothing)."""
    if not isinstance(body, Mapping) or not isinstance(body.get("facts"), Mapping):
        return None
    try:
        ref = parse_ref(body.get("entityRef")).ref
    except RefError:
        return None
    source = body.get("source")
    known = latest_facts(connection, [ref]).get(ref, {}).get(source, {}) if isinstance(source, str) else {}
    before = {name: known[name].value for name in body["facts"] if name in known}
    return {"source": source, "facts": before} if before else None


def _json(value: object) -> str | None:
    return None if value is None else orjson.dumps(value, default=str).decode()
