"""GraphQL for DORA's four keys: `Entity.dora`, `doraRollup`, and the mutations that report the delivery
events behind them (`reportDeployments`, `reportIncidents`)."""

from __future__ import annotations

import asyncio
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from scorecards import dora, paper_maturity
from scorecards.delivery import EventError, take_deployments, take_incidents
from service.audit import EventTaker, receipt_json, take_audited_events
from service.graphql.context import RequestContext
from service.graphql.errors import BAD_USER_INPUT, NOT_FOUND, bad_input
from service.graphql.filters import EntityFilter
from service.graphql.scorecard_types import RollupGroup

MAX_WINDOW_DAYS = 3660


@strawberry.enum(description="A key's performance band; NOT_REPORTED when there is no data for it (never LOW).")
class DoraBand(Enum):
    ELITE = "ELITE"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    NOT_REPORTED = "NOT_REPORTED"


@strawberry.type(description="The band of each key, from the configured profile.")
class DoraBands:
    deployment_frequency: DoraBand
    lead_time: DoraBand
    change_failure_rate: DoraBand
    recovery_time: DoraBand


@strawberry.type(description="DORA's four keys over a window of days that ends now (production deployments).")
class DoraMetrics:
    deployments: int
    failures: int = strawberry.field(description="Deployments that failed, were rolled back, or led to an incident.")
    deployments_per_week: float | None = strawberry.field(description="Deployments in the window / its weeks.")
    lead_time_hours: float | None = strawberry.field(description="Median commit to production deployment.")
    change_failure_rate: float | None = strawberry.field(description="failures / deployments, 0 to 1.")
    recovery_hours: float | None = strawberry.field(description="Median incident opened to resolved.")
    bands: DoraBands
    band: DoraBand | None = strawberry.field(
        description="The worst band among the reported keys; NOT_REPORTED when none is."
    )
    profile: str = strawberry.field(description="The profile the bands come from, e.g. dora-2024.")

    @classmethod
    def of(cls, keys: dora.DoraKeys, profile: dora.Profile) -> DoraMetrics:
        found = dora.bands(keys, profile)
        return cls(
            deployments=keys.deployments,
            failures=keys.failures,
            deployments_per_week=keys.deployments_per_week,
            lead_time_hours=keys.lead_time_hours,
            change_failure_rate=keys.change_failure_rate,
            recovery_hours=keys.recovery_hours,
            bands=DoraBands(
                deployment_frequency=DoraBand(found.deployment_frequency.value),
                lead_time=DoraBand(found.lead_time.value),
                change_failure_rate=DoraBand(found.change_failure_rate.value),
                recovery_time=DoraBand(found.recovery_time.value),
            ),
            band=DoraBand(dora.overall_band(found).value),
            profile=profile.name,
        )


@strawberry.type(
    description="A level of Governed (4) or above that delivery does not bear out: the component's overall DORA "
    "band over the window is LOW or not reported."
)
class PaperMaturity:
    band: DoraBand = strawberry.field(description="LOW or NOT_REPORTED.")
    window_days: int
    reason: str = strawberry.field(description="Why, in one line: the level, and the LOW keys with their values.")

    @classmethod
    def of(cls, flag: paper_maturity.PaperMaturity) -> PaperMaturity:
        return cls(band=DoraBand(flag.band.value), window_days=flag.window_days, reason=flag.reason)


@strawberry.type(description="How many components in scope are at level 4 or 5 on paper only.")
class PaperMaturityShare:
    share: strawberry.Private[paper_maturity.PaperShare]

    @strawberry.field(description="Components in scope whose default scorecard puts them at level 4 or 5.")
    def claimed(self) -> int:
        return self.share.claimed

    @strawberry.field(description="Of those, the ones whose overall DORA band is LOW or not reported.")
    def on_paper(self) -> int:
        return self.share.on_paper

    @strawberry.field(
        name="share", description="onPaper as a percentage (0-100) of claimed; null when none is claimed."
    )
    def percentage(self) -> float | None:
        return self.share.share

    @strawberry.field
    def window_days(self) -> int:
        return self.share.window_days


@strawberry.type(description="The pooled keys of an owner, a system or a domain.")
class DoraRollup:
    key: str = strawberry.field(description="The group's entity ref.")
    metrics: DoraMetrics


@strawberry.type(description="What a report of events did: each one created, updated (a changed resend) or unchanged.")
class EventReceipt:
    received: int
    created: int
    updated: int
    unchanged: int


def window(days: int | None) -> int:
    """A window's days (null: 90), checked."""
    if days is None:
        return dora.DEFAULT_WINDOW_DAYS
    if days < 1 or days > MAX_WINDOW_DAYS:
        raise bad_input(f"windowDays must be between 1 and {MAX_WINDOW_DAYS}, got {days}", "windowDays")
    return days


@strawberry.type
class DoraQuery:
    @strawberry.field(description="DORA's keys pooled by owner, system or domain, over the entities in the filter.")
    async def dora_rollup(
        self,
        info: strawberry.Info[RequestContext, None],
        group_by: RollupGroup,
        window_days: int | None = 90,
        filter: EntityFilter | None = None,
    ) -> list[DoraRollup]:
        context = info.context
        chosen = filter.to_query() if filter else None
        days = window(window_days)
        groups = await context.read(dora.dora_rollup, group_by.value.lower(), context.now, days, entity_filter=chosen)
        profile = context.config.dora_profile
        return [DoraRollup(key=key, metrics=DoraMetrics.of(keys, profile)) for key, keys in sorted(groups.items())]


@strawberry.type
class DeliveryMutation:
    @strawberry.mutation(description="Report deployments: one JSON object or an array of up to 1,000, as "
                         "POST /api/events/deployments takes them. Idempotent by id.")  # fmt: skip
    async def report_deployments(self, info: strawberry.Info[RequestContext, None], events: JSON) -> EventReceipt:
        return await _report(info.context, events, take_deployments, "reportDeployments")

    @strawberry.mutation(description="Report incidents: one JSON object or an array of up to 1,000, as "
                         "POST /api/events/incidents takes them. Idempotent by id.")  # fmt: skip
    async def report_incidents(self, info: strawberry.Info[RequestContext, None], events: JSON) -> EventReceipt:
        return await _report(info.context, events, take_incidents, "reportIncidents")


async def _report(context: RequestContext, events: object, take: EventTaker, action: str) -> EventReceipt:
    engine, caller = context.engine, context.caller
    try:
        profile = context.config.dora_profile
        receipt = await asyncio.to_thread(
            take_audited_events, engine, caller, take, action, events, context.now, context.scorecards, profile
        )
    except EventError as error:
        code = NOT_FOUND if error.status == 404 else BAD_USER_INPUT
        raise bad_input(f"{error.field}: {error.message}", error.field, code) from None
    return EventReceipt(**receipt_json(receipt))
