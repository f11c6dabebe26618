"""GraphQL for the catalogue's sources: their status (`sources`) and an on-demand refresh (`refreshSource`)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from enum import Enum

import strawberry

from catalog.sources.refresh import RefreshOutcome
from catalog.sources.status import SourceState
from service.audit import record_change
from service.graphql.context import RequestContext
from service.graphql.errors import NOT_FOUND, bad_input
from service.refresher import Refresher, UnknownSource


@strawberry.enum(description="Where a source's refreshes stand.")
class SourceStatus(Enum):
    NEVER = "never"
    REFRESHING = "refreshing"
    OK = "ok"
    FAILED = "failed"


@strawberry.enum(description="How one refresh went; SKIPPED when another replica was refreshing the source.")
class RefreshStatus(Enum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


@strawberry.type(description="What a refresh did: entities and files, and the requests it made upstream.")
class RefreshCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    errors: int = strawberry.field(default=0, description="Processing errors the source has now.")
    warnings: int = 0
    files: int = strawberry.field(default=0, description="Files (or upstream entities) read or found unchanged.")
    requests: int = strawberry.field(default=0, description="HTTP requests sent, retries included.")
    not_modified: int = strawberry.field(default=0, description="Requests answered 304 Not Modified.")
    milliseconds: int = 0

    @classmethod
    def of(cls, summary: dict[str, int]) -> RefreshCounts:
        names = {"notModified": "not_modified"}
        return cls(**{names.get(key, key): value for key, value in summary.items()})


@strawberry.type(description="A catalogue source configured in stairway.yaml, and how its refreshes went.")
class Source:
    name: str
    type: str = strawberry.field(description="file, git, url, github or backstage.")
    status: SourceStatus
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    entity_count: int = strawberry.field(description="Entities the source provides now.")
    last_error: str | None = strawberry.field(description="Why the last attempt failed, when it did.")
    next_run_at: datetime | None = strawberry.field(description="When it refreshes next on its own; null: on demand.")
    last_refresh: RefreshCounts | None = strawberry.field(description="The counts of the last successful refresh.")

    @classmethod
    def of(cls, state: SourceState) -> Source:
        return cls(
            name=state.name,
            type=state.type,
            status=SourceStatus(state.status),
            last_attempt_at=state.last_attempt_at,
            last_success_at=state.last_success_at,
            entity_count=state.entity_count,
            last_error=state.last_error,
            next_run_at=state.next_run_at,
            last_refresh=RefreshCounts.of(state.summary) if state.summary else None,
        )


@strawberry.type(description="The outcome of `refreshSource`, and the source as it stands after it.")
class RefreshResult:
    status: RefreshStatus
    error: str | None
    counts: RefreshCounts
    source: Source


@strawberry.type
class SourceQuery:
    @strawberry.field(description="Every configured catalogue source, in configuration order, with its status.")
    async def sources(self, info: strawberry.Info[RequestContext, None]) -> list[Source]:
        refresher = _refresher(info.context)
        return [Source.of(state) for state in await asyncio.to_thread(refresher.states)]


@strawberry.type
class SourceMutation:
    @strawberry.mutation(
        description="Refresh one source now and wait for it; a failure keeps the source's last good entities."
    )
    async def refresh_source(self, info: strawberry.Info[RequestContext, None], name: str) -> RefreshResult:
        context = info.context
        refresher = _refresher(context)
        if refresher.config.source(name) is None:
            raise bad_input(UnknownSource(name, refresher.config).message, "name", NOT_FOUND)
        before = _summary(await asyncio.to_thread(refresher.states), name)
        try:
            outcome: RefreshOutcome = await refresher.refresh(name)
        except UnknownSource as error:
            raise bad_input(error.message, "name", NOT_FOUND) from None
        states = await asyncio.to_thread(refresher.states)
        state = next(state for state in states if state.name == name)
        after = {**_summary(states, name), "outcome": outcome.status, "counts": outcome.figures()}
        await context.write(record_change, context.caller, "refreshSource", name, before, after, context.now)
        return RefreshResult(
            status=RefreshStatus(outcome.status),
            error=outcome.error,
            counts=RefreshCounts.of(outcome.figures()),
            source=Source.of(state),
        )


def _summary(states: list[SourceState], name: str) -> dict[str, object]:
    state = next(state for state in states if state.name == name)
    return {"status": state.status, "entityCount": state.entity_count}


def _refresher(context: RequestContext) -> Refresher:
    if context.refresher is None:
        raise RuntimeError("this server was built without a refresher")
    return context.refresher
