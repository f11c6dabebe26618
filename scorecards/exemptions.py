"""Exemptions: a check waived for one entity, with a reason, until a date at most a year away."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from catalog.queries import IN_CHUNK, aware
from catalog.refs import RefError, parse_ref
from catalog.tables import ENTITIES
from scorecards.definitions import Scorecard
from scorecards.evaluate import Exemption
from scorecards.tables import EXEMPTIONS

MAX_DURATION = timedelta(days=366)  # "within a year", a leap day included


class ExemptionError(ValueError):
    """An exemption that cannot be made; `field` names the argument at fault."""

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.status = status


def create_exemption(
    connection: Connection,
    scorecards: Sequence[Scorecard],
    *,
    entity_ref: str,
    scorecard: str,
    check: str,
    reason: str,
    expires_at: datetime,
    now: datetime,
    created_by: str | None = None,
) -> Exemption:
    """Record an exemption after checking that the entity, scorecard and check exist."""
    try:
        ref = parse_ref(entity_ref).ref
    except RefError as error:
        raise ExemptionError("entityRef", str(error)) from None
    if connection.execute(sa.select(ENTITIES.c.id).where(ENTITIES.c.ref == ref)).first() is None:
        raise ExemptionError("entityRef", f"no entity {ref} in the catalogue", status=404)
    definition = next((card for card in scorecards if card.name == scorecard), None)
    if definition is None:
        raise ExemptionError("scorecard", f"no scorecard named {scorecard!r}", status=404)
    if not any(known.id == check for known in definition.checks):
        raise ExemptionError("check", f"scorecard {scorecard!r} has no check {check!r}", status=404)
    if not reason or not reason.strip():
        raise ExemptionError("reason", "is required: say why the check does not apply for now")
    if expires_at.tzinfo is None:
        raise ExemptionError("expiresAt", "needs a time zone, e.g. 2027-03-31T00:00:00Z")
    expires_at = expires_at.astimezone(UTC)  # stored in UTC: SQLite compares the text
    if expires_at <= now:
        raise ExemptionError("expiresAt", "must be in the future")
    if expires_at - now > MAX_DURATION:
        raise ExemptionError("expiresAt", "must be within a year; renew it when it runs out")
    values = {
        "entity_ref": ref,
        "scorecard": scorecard,
        "check_id": check,
        "reason": reason.strip(),
        "expires_at": expires_at,
        "created_by": created_by,
        "created_at": now,
    }
    new_id = connection.execute(sa.insert(EXEMPTIONS).values(**values).returning(EXEMPTIONS.c.id)).scalar_one()
    return Exemption(new_id, ref, scorecard, check, values["reason"], expires_at, created_by, now)  # type: ignore[arg-type]


def delete_exemption(connection: Connection, exemption_id: int) -> Exemption | None:
    """Remove an exemption; the one removed, or None when there was none with that id."""
    found = exemptions_where(connection, EXEMPTIONS.c.id == exemption_id)
    if not found:
        return None
    connection.execute(sa.delete(EXEMPTIONS).where(EXEMPTIONS.c.id == exemption_id))
    return found[0]


def active_exemptions(
    connection: Connection, refs: Sequence[str] | None, now: datetime
) -> dict[tuple[str, str], dict[str, Exemption]]:
    """Unexpired exemptions by (entity ref, scorecard) and check; for all entities when `refs` is None."""
    found: dict[tuple[str, str], dict[str, Exemption]] = {}
    current = EXEMPTIONS.c.expires_at > now
    chunks = [None] if refs is None else [refs[start : start + IN_CHUNK] for start in range(0, len(refs), IN_CHUNK)]
    for chunk in chunks:
        condition = current if chunk is None else sa.and_(current, EXEMPTIONS.c.entity_ref.in_(chunk))
        for exemption in exemptions_where(connection, condition):
            found.setdefault((exemption.entity_ref, exemption.scorecard), {})[exemption.check] = exemption
    return found


def exemptions_where(connection: Connection, condition: sa.ColumnElement[bool]) -> list[Exemption]:
    """Exemptions matching a condition on the exemptions table, oldest first."""
    rows = connection.execute(sa.select(EXEMPTIONS).where(condition).order_by(EXEMPTIONS.c.id))
    return [
        Exemption(
            row.id,
            row.entity_ref,
            row.scorecard,
            row.check_id,
            row.reason,
            aware(row.expires_at),
            row.created_by,
            aware(row.created_at),
        )
        for row in rows
    ]
