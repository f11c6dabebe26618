"""GraphQL for the audit log: every change made through the API, newest first (admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from service.audit import AuditEntry, audit_entries
from service.graphql.context import RequestContext
from service.graphql.errors import bad_input
from service.graphql.pagination import page_size


@strawberry.type(description="One change made through the API.")
class AuditRecord:
    id: strawberry.ID
    at: datetime
    actor: str = strawberry.field(description="Who: token:NAME, a user's ref, or anyone (auth.mode none).")
    action: str = strawberry.field(description="The mutation: submitFacts, createExemption, deleteExemption, ...")
    target: str = strawberry.field(description="What it changed: an entity's ref, a source's name.")
    before: JSON | None = strawberry.field(description="The state before; null when there was none.")
    after: JSON | None = strawberry.field(description="The state after; null when nothing is left.")
    request_id: str | None = strawberry.field(description="The request's X-Request-ID, as the logs show it.")

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditRecord:
        return cls(
            id=strawberry.ID(str(entry.id)),
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            target=entry.target,
            before=cast(JSON, entry.before),
            after=cast(JSON, entry.after),
            request_id=entry.request_id,
        )


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="Changes made through the API, newest first; `before` an id for older ones. Admins only."
    )
    async def audit_log(
        self, info: strawberry.Info[RequestContext, None], first: int | None = None, before: strawberry.ID | None = None
    ) -> list[AuditRecord]:
        limit = page_size(first)
        if before is not None and not str(before).isdigit():
            raise bad_input(f"before must be an audit record's id, not {before!r}", "before")
        entries = await info.context.read(audit_entries, limit, int(before) if before is not None else None)
        return [AuditRecord.of(entry) for entry in entries]
