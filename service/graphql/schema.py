"""The GraphQL schema: catalogue queries with keyset pagination."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import strawberry
from graphql import GraphQLError
from sqlalchemy.engine import Connection
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.scalars import JSON
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext
from strawberry.utils.logging import StrawberryLogger

from catalog import queries
from catalog.provenance import to_utc
from catalog.refs import RefError, parse_ref
from catalog.tables import ENTITIES
from scorecards import adoption, exemptions, facts, golden_paths, organization, results, rollups
from scorecards.tables import EXEMPTIONS
from service.audit import as_record, record_change, take_audited_facts
from service.graphql.access import RequireScopes, may_change
from service.graphql.adoption_types import AdoptionGroup, AdoptionReport, GoldenPath, OrganizationMaturity
from service.graphql.audit_types import AuditQuery
from service.graphql.context import RequestContext
from service.graphql.cost import QueryCostLimiter
from service.graphql.dora_types import DeliveryMutation, DoraQuery
from service.graphql.errors import (
    BAD_USER_INPUT,
    FORBIDDEN,
    NOT_FOUND,
    MaskUnexpectedErrors,
    bad_input,
    is_unexpected,
)
from service.graphql.evidence_types import EvidenceQuery
from service.graphql.execution import PlainValueExecutionContext
from service.graphql.filters import EntityFilter
from service.graphql.pagination import decode_cursor, encode_cursor, page_size
from service.graphql.scorecard_types import Exemption, FactReceipt, RollupGroup, Scorecard, ScorecardRollup
from service.graphql.source_types import SourceMutation, SourceQuery
from service.graphql.types import Entity, PageInfo, ProcessingError
from service.metrics import GraphQLMetrics

ENTITY_CURSOR = "entity"
ERROR_CURSOR = "error"
ERROR_KEY = re.compile(r"[0-9]{1,18}")  # an id: ASCII digits that fit a 64-bit integer


@strawberry.type
class EntityEdge:
    cursor: str
    node: Entity


@strawberry.type
class EntityConnection:
    edges: list[EntityEdge]
    page_info: PageInfo
    filter: strawberry.Private[queries.EntityFilter | None]

    @strawberry.field(description="How many entities match the filter, across all pages.")
    async def total_count(self, info: strawberry.Info[RequestContext, None]) -> int:
        return await info.context.read(queries.entity_count, self.filter)


@strawberry.type
class ProcessingErrorEdge:
    cursor: str
    node: ProcessingError


@strawberry.type
class ProcessingErrorConnection:
    edges: list[ProcessingErrorEdge]
    page_info: PageInfo
    severity: strawberry.Private[str | None]

    @strawberry.field
    async def total_count(self, info: strawberry.Info[RequestContext, None]) -> int:
        return await info.context.read(queries.error_count, self.severity)


@strawberry.type
class Query:
    @strawberry.field(description='One entity by reference: kind required, namespace defaults to "default", any case.')
    async def entity(self, info: strawberry.Info[RequestContext, None], ref: str) -> Entity | None:
        try:
            canonical = parse_ref(ref).ref
        except RefError as error:
            raise bad_input(str(error), "ref") from None
        stored = await info.context.entities.load(canonical)
        return Entity(stored=stored) if stored is not None else None

    @strawberry.field(description="Entities in reference order, filtered, a page at a time.")
    async def entities(
        self,
        info: strawberry.Info[RequestContext, None],
        filter: EntityFilter | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> EntityConnection:
        limit = page_size(first)
        query_filter = filter.to_query() if filter else None
        rows, more = await info.context.read(
            queries.entity_page, query_filter, decode_cursor(ENTITY_CURSOR, after), limit
        )
        info.context.remember(rows)
        edges = [EntityEdge(cursor=encode_cursor(ENTITY_CURSOR, row.ref), node=Entity(stored=row)) for row in rows]
        return EntityConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=more, end_cursor=edges[-1].cursor if edges else None),
            filter=query_filter,
        )

    @strawberry.field(description="Processing errors and warnings, oldest first.")
    async def processing_errors(
        self,
        info: strawberry.Info[RequestContext, None],
        first: int | None = 50,
        after: str | None = None,
        severity: str | None = None,
    ) -> ProcessingErrorConnection:
        limit = page_size(first)
        key = decode_cursor(ERROR_CURSOR, after)
        if key is not None and not ERROR_KEY.fullmatch(key):
            raise bad_input(f"after is not a cursor this list returned: {after!r}", "after")
        rows, more = await info.context.read(queries.error_page, int(key) if key else None, limit, severity)
        edges = [
            ProcessingErrorEdge(cursor=encode_cursor(ERROR_CURSOR, row.id), node=ProcessingError(stored=row))
            for row in rows
        ]
        return ProcessingErrorConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=more, end_cursor=edges[-1].cursor if edges else None),
            severity=severity,
        )


@strawberry.type
class ScorecardQuery:
    @strawberry.field(description="Every live scorecard definition.")
    def scorecards(self, info: strawberry.Info[RequestContext, None]) -> list[Scorecard]:
        return [Scorecard(definition=card) for card in info.context.scorecards]

    @strawberry.field(description="One scorecard definition by name, or null.")
    def scorecard(self, info: strawberry.Info[RequestContext, None], name: str) -> Scorecard | None:
        card = info.context.scorecard(name)
        return Scorecard(definition=card) if card else None

    @strawberry.field(description="Stored results of a scorecard grouped by owner, system or domain.")
    async def scorecard_rollup(
        self,
        info: strawberry.Info[RequestContext, None],
        name: str,
        group_by: RollupGroup,
        filter: EntityFilter | None = None,
    ) -> list[ScorecardRollup]:
        card = info.context.scorecard(name)
        if card is None:
            raise bad_input(f"no scorecard named {name!r}", "name", NOT_FOUND)
        groups = await info.context.read(
            rollups.scorecard_rollup, name, rollups.RollupGroup(group_by.value), filter.to_query() if filter else None
        )
        return [ScorecardRollup(rollup=group, definition=card) for group in groups]


@strawberry.type
class AdoptionQuery:
    @strawberry.field(description="Golden paths (every Template with all: true), their adopters in scope and drift.")
    async def golden_paths(
        self, info: strawberry.Info[RequestContext, None], filter: EntityFilter | None = None, all: bool = False
    ) -> list[GoldenPath]:
        config = info.context.config
        uses = await info.context.read(
            golden_paths.golden_paths, config.golden_paths, filter.to_query() if filter else None, all
        )
        return [GoldenPath.of(use) for use in uses]

    @strawberry.field(
        description="Golden-path adoption in scope (Components unless the filter names kinds); since and until "
        "count only components created in [since, until) (backstage.io/createdAt, else first seen)."
    )
    async def adoption(
        self,
        info: strawberry.Info[RequestContext, None],
        filter: EntityFilter | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        group_by: AdoptionGroup | None = None,
    ) -> AdoptionReport:
        config = info.context.config
        query_filter = filter.to_query() if filter else None
        group = adoption.AdoptionGroup(group_by.value) if group_by else None
        start, end = _utc(since, "since"), _utc(until, "until")
        if start is not None and end is not None and start > end:
            raise bad_input("since is after until: the window is empty", "since")
        overall, buckets = await info.context.read(
            adoption.adoption, config.golden_paths, query_filter, start, end, group
        )
        series = adoption.trend_series(config.adoption, query_filter)
        return AdoptionReport(overall=overall, buckets=buckets, series=series, group_by=group)

    @strawberry.field(
        description="The organisation, or the filter's scope, on the five levels from catalogue evidence."
    )
    async def organization_maturity(
        self, info: strawberry.Info[RequestContext, None], filter: EntityFilter | None = None
    ) -> OrganizationMaturity:
        context = info.context
        found = await context.read(
            organization.organization_maturity,
            context.config.golden_paths,
            context.config.maturity,
            [card.name for card in context.scorecards],
            filter.to_query() if filter else None,
            context.now,
            context.config.dora_profile,
        )
        return OrganizationMaturity(assessment=found)


def _utc(moment: datetime | None, argument: str) -> datetime | None:
    """A DateTime argument as UTC; one without an offset is taken as UTC."""
    if moment is None:
        return None
    try:
        return to_utc(moment)
    except OverflowError:
        raise bad_input(f"{argument} is out of range in UTC: {moment.isoformat()}", argument) from None


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Report facts about an entity (e.g. from CI); its scorecards are re-evaluated.")
    async def submit_facts(
        self,
        info: strawberry.Info[RequestContext, None],
        entity_ref: str,
        source: str,
        facts: JSON,
        observed_at: datetime | None = None,
    ) -> FactReceipt:
        body = {"entityRef": entity_ref, "source": source, "facts": facts}
        if observed_at is not None:
            body["observedAt"] = observed_at.isoformat() if observed_at.tzinfo else observed_at.isoformat() + "Z"
        return await info.context.write(record_and_score, info.context, body)

    @strawberry.mutation(description="Waive a check for an entity, with a reason, until a date within a year.")
    async def create_exemption(
        self,
        info: strawberry.Info[RequestContext, None],
        entity_ref: str,
        scorecard: str,
        check: str,
        reason: str,
        expires_at: datetime,
    ) -> Exemption:
        context = info.context

        def create(connection: Connection) -> Exemption:
            _may_change_exemptions_of(connection, context, entity_ref)
            try:
                made = exemptions.create_exemption(
                    connection,
                    context.scorecards,
                    entity_ref=entity_ref,
                    scorecard=scorecard,
                    check=check,
                    reason=reason,
                    expires_at=expires_at,
                    now=context.now,
                    created_by=context.caller.name,
                )
            except exemptions.ExemptionError as error:
                raise _refusal(error.message, error.field, error.status) from None
            results.store_results(
                connection, context.scorecards, [made.entity_ref], context.now, context.config.dora_profile
            )
            record_change(
                connection, context.caller, "createExemption", made.entity_ref, None, as_record(made), context.now
            )
            return Exemption(stored=made)

        return await context.write(create)

    @strawberry.mutation(description="Remove an exemption; the check counts again at once. The removed one, or null.")
    async def delete_exemption(
        self, info: strawberry.Info[RequestContext, None], id: strawberry.ID
    ) -> Exemption | None:
        if not str(id).isdigit():
            raise bad_input(f"no exemption {id!r}", "id", NOT_FOUND)
        context = info.context

        def delete(connection: Connection) -> Exemption | None:
            found = exemptions.exemptions_where(connection, EXEMPTIONS.c.id == int(id))
            if not found:
                return None
            _may_change_exemptions_of(connection, context, found[0].entity_ref)
            removed = exemptions.delete_exemption(connection, int(id))
            assert removed is not None  # found just now, in this transaction
            results.store_results(
                connection, context.scorecards, [removed.entity_ref], context.now, context.config.dora_profile
            )
            record_change(
                connection, context.caller, "deleteExemption", removed.entity_ref, as_record(removed), None, context.now
            )
            return Exemption(stored=removed)

        return await context.write(delete)


def _may_change_exemptions_of(connection: Connection, context: RequestContext, entity_ref: str) -> None:
    """FORBIDDEN unless the caller is admin, or (under auth.ownersMayExempt) owns the entity."""
    try:
        ref = parse_ref(entity_ref).ref
    except RefError:
        return  # not a ref: the change itself says what is wrong
    owner = connection.execute(sa.select(ENTITIES.c.owner_ref).where(ENTITIES.c.ref == ref)).scalar_one_or_none()
    if not may_change(context.caller, owner, context.owners_may_exempt):
        owned = f"owned by {owner}" if owner else "without an owner"
        raise GraphQLError(
            f"{context.caller.name} may not change the exemptions of {ref} ({owned}): that needs the admin scope "
            "or ownership of the entity",
            extensions={"code": FORBIDDEN},
        )


def record_and_score(connection: Connection, context: RequestContext, body: dict[str, object]) -> FactReceipt:
    """Take a fact submission, re-evaluate the entity's scorecards, and record the change."""
    try:
        submission = take_audited_facts(
            connection, context.caller, context.scorecards, body, context.now, context.config.dora_profile
        )
    except facts.FactError as error:
        raise _refusal(error.message, error.field, error.status) from None
    return FactReceipt(
        entity_ref=submission.entity_ref,
        source=submission.source,
        names=sorted(submission.facts),
        observed_at=submission.observed_at,
    )


def _refusal(message: str, field: str, status: int) -> GraphQLError:
    return bad_input(f"{field}: {message}", field, NOT_FOUND if status == 404 else BAD_USER_INPUT)


class StairwaySchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Log what went wrong on our side (with its traceback); a caller's mistakes are its answer, not ours."""
        for error in errors:
            if is_unexpected(error):
                StrawberryLogger.error(error, execution_context)


def build_schema(
    execution_context_class: type[StrawberryGraphQLCoreExecutionContext] = PlainValueExecutionContext,
    introspection: bool = True,
) -> strawberry.Schema:
    """The schema with Stairway's guards against expensive queries and callers without the scope;
    without `introspection`, queries of `__schema` and `__type` are refused."""
    guards: list[Any] = [DisableIntrospection] if not introspection else []
    return StairwaySchema(
        query=merge_types(
            "Query", (Query, ScorecardQuery, AdoptionQuery, SourceQuery, AuditQuery, DoraQuery, EvidenceQuery)
        ),
        mutation=merge_types("Mutation", (Mutation, SourceMutation, DeliveryMutation)),
        execution_context_class=execution_context_class,
        # Factories: strawberry builds fresh extensions per request; the two caches are shared by it.
        extensions=[
            GraphQLMetrics,  # first: it times and counts what the others refuse too
            lambda: QueryDepthLimiter(max_depth=12),
            lambda: MaxAliasesLimiter(max_alias_count=30),
            lambda: MaxTokensLimiter(max_token_count=2000),
            *guards,
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
            QueryCostLimiter,  # after ValidationCache: prices only queries that validated
            RequireScopes,
            MaskUnexpectedErrors,
        ],
    )
