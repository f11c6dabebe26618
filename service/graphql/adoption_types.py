"""GraphQL types for golden-path adoption and organisation maturity."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from scorecards import adoption, golden_paths, organization
from service.graphql.dora_types import PaperMaturityShare
from service.graphql.errors import bad_input
from service.graphql.scorecard_types import Level

if TYPE_CHECKING:
    from service.graphql.types import Entity

EntityType = Annotated["Entity", strawberry.lazy("service.graphql.types")]
MAX_TREND_DAYS = 3660


async def _entity(info: strawberry.Info, ref: str | None) -> Entity | None:
    from service.graphql.types import Entity

    stored = await info.context.entities.load(ref) if ref else None
    return Entity(stored=stored) if stored is not None else None


async def _trend(info: strawberry.Info, series: adoption.TrendSeries | None, days: int) -> list[AdoptionPoint]:
    if not 1 <= days <= MAX_TREND_DAYS:
        raise bad_input(f"days must be between 1 and {MAX_TREND_DAYS}", "days")
    if series is None:
        return []
    points = await info.context.adoption_trends.load((series, days))
    return [AdoptionPoint.of(point) for point in points]


@strawberry.enum(description="How an adoption report groups components.")
class AdoptionGroup(Enum):
    OWNER = "OWNER"
    SYSTEM = "SYSTEM"
    DOMAIN = "DOMAIN"
    TEMPLATE = "TEMPLATE"
    TEMPLATE_VERSION = "TEMPLATE_VERSION"


@strawberry.type(description="A scaffolder template, the components in scope started from it, and their versions.")
class GoldenPath:
    template_ref: strawberry.Private[str]
    is_golden_path: bool = strawberry.field(description="Whether the configuration makes this template a golden path.")
    version: str | None = strawberry.field(
        description="The template's current version (its backstage.io/template-version annotation)."
    )
    adopters: int = strawberry.field(description="Components in scope started from this template.")
    cross_team_adopters: int = strawberry.field(
        description="Distinct teams, other than the template's owner, owning components started from it."
    )
    current: int = strawberry.field(description="Adopters made from the template's current version.")
    behind: int = strawberry.field(description="Adopters made from another version (drifted).")
    unknown_version: int = strawberry.field(
        description="Adopters without a template version, or of a template without one."
    )

    @classmethod
    def of(cls, use: golden_paths.GoldenPathUse) -> GoldenPath:
        return cls(
            template_ref=use.template_ref,
            is_golden_path=use.golden,
            version=use.version,
            adopters=use.adopters,
            cross_team_adopters=use.cross_team_adopters,
            current=use.current,
            behind=use.behind,
            unknown_version=use.unknown_version,
        )

    @strawberry.field
    async def template(self, info: strawberry.Info) -> EntityType:
        found = await _entity(info, self.template_ref)
        assert found is not None  # listed from the entities table in this request
        return found


@strawberry.type(description="One group of an adoption report.")
class AdoptionBucket:
    # Plain fields (see service/graphql/execution.py): a report by owner has thousands of groups.
    key: str = strawberry.field(description='The group: an entity ref, "<template ref>@<version>", or "(none)".')
    total: int
    on_golden_path: int
    percentage: float | None = strawberry.field(description="Share on a golden path, 0-100; null when empty.")
    ref: strawberry.Private[str | None]
    series: strawberry.Private[adoption.TrendSeries | None]

    @classmethod
    def of(cls, bucket: adoption.AdoptionBucket, series: adoption.TrendSeries | None) -> AdoptionBucket:
        return cls(
            key=bucket.key,
            total=bucket.total,
            on_golden_path=bucket.on_golden_path,
            percentage=bucket.percentage,
            ref=bucket.ref,
            series=series,
        )

    @strawberry.field(
        description="The entity the key names (the template, for a version), null when not in the catalogue."
    )
    async def entity(self, info: strawberry.Info) -> EntityType | None:
        return await _entity(info, self.ref)

    @strawberry.field(
        description="The group's daily points of the last `days` days, oldest first; empty unless the report's "
        "trendScope is a trend scope's whole filter."
    )
    async def trend(self, info: strawberry.Info, days: int = 90) -> list[AdoptionPoint]:
        return await _trend(info, self.series, days)


@strawberry.type(description="Adoption as of one day, from the snapshot the day's last ingest or evaluate took.")
class AdoptionPoint:
    day: date
    total: int
    on_golden_path: int
    percentage: float | None
    new_workloads: int = strawberry.field(
        description="Components created in the configured window (default 90 days) before the day."
    )
    new_on_golden_path: int
    new_percentage: float | None

    @classmethod
    def of(cls, point: adoption.AdoptionPoint) -> AdoptionPoint:
        overall, new = point.overall, point.new
        return cls(
            day=point.day,
            total=overall.total,
            on_golden_path=overall.on_golden_path,
            percentage=overall.percentage,
            new_workloads=new.total,
            new_on_golden_path=new.on_golden_path,
            new_percentage=new.percentage,
        )


@strawberry.type(description="Golden-path adoption in a scope (Components unless the filter names kinds).")
class AdoptionReport:
    overall: strawberry.Private[adoption.Adoption]
    buckets: strawberry.Private[list[adoption.AdoptionBucket]]
    series: strawberry.Private[adoption.TrendSeries | None]
    group_by: strawberry.Private[adoption.AdoptionGroup | None]

    @strawberry.field
    def total(self) -> int:
        return self.overall.total

    @strawberry.field
    def on_golden_path(self) -> int:
        return self.overall.on_golden_path

    @strawberry.field(description="Share on a golden path, 0-100; null when the scope is empty.")
    def percentage(self) -> float | None:
        return self.overall.percentage

    @strawberry.field(description="Per group (with groupBy), sorted by key; the groups add up to the total.")
    def groups(self) -> list[AdoptionBucket]:
        # Each group has its own stored series when the report measures a trend scope's whole filter.
        series, group_by = self.series, self.group_by
        grouping = (series.scope, group_by.value) if series and series.group_by == adoption.ALL and group_by else None
        return [
            AdoptionBucket.of(bucket, adoption.TrendSeries(*grouping, bucket.key) if grouping else None)
            for bucket in self.buckets
        ]

    @strawberry.field(
        description="The trend scope (adoption.trendScopes) whose daily snapshots measure this filter, or null: "
        "then trend is empty. since and until do not apply to the trend."
    )
    def trend_scope(self) -> str | None:
        return self.series.scope if self.series else None

    @strawberry.field(
        description="Daily points of the last `days` days, oldest first; a day without an ingest has none."
    )
    async def trend(self, info: strawberry.Info, days: int = 90) -> list[AdoptionPoint]:
        return await _trend(info, self.series, days)


@strawberry.type(description="One criterion of organisation maturity, as measured.")
class MaturityCriterion:
    id: str = strawberry.field(description="A stable id, e.g. inventory or new-workloads-on-golden-paths.")
    level: Level = strawberry.field(description="The level this criterion belongs to.")
    title: str
    unit: str = strawberry.field(description='"percent" (0-100) or "count".')
    value: float | None = strawberry.field(
        description="What was measured; null when there was nothing to measure (then it fails)."
    )
    threshold: float = strawberry.field(description="The value it must reach (configurable).")
    passed: bool
    evidence: str = strawberry.field(description="One line on what was counted.")

    @classmethod
    def of(cls, criterion: organization.Criterion) -> MaturityCriterion:
        return cls(
            id=criterion.id,
            level=Level.of(criterion.level),
            title=criterion.title,
            unit=criterion.unit,
            value=criterion.value,
            threshold=criterion.threshold,
            passed=criterion.passed,
            evidence=criterion.evidence,
        )


@strawberry.type(description="The organisation (or a scope of it) on the five levels, from catalogue evidence.")
class OrganizationMaturity:
    assessment: strawberry.Private[organization.OrganizationMaturity]

    @strawberry.field(description="The highest level whose criteria, and those of every level below, all pass.")
    def level(self) -> Level:
        return Level.of(self.assessment.level)

    @strawberry.field
    def criteria(self) -> list[MaturityCriterion]:
        return [MaturityCriterion.of(criterion) for criterion in self.assessment.criteria]

    @strawberry.field(description="The failing criteria of the next level; empty at the top.")
    def unlock(self) -> list[MaturityCriterion]:
        return [MaturityCriterion.of(criterion) for criterion in self.assessment.unlock]

    @strawberry.field(
        description="Percentage (0-100) of scored components in scope whose default scorecard is lopsided; "
        "null when none is scored."
    )
    def lopsided_share(self) -> float | None:
        return self.assessment.lopsided_share

    @strawberry.field(
        description="Components in scope at level 4 or 5 whose DORA band is LOW or not reported (paper maturity); "
        "null when the default scorecard is not loaded."
    )
    def paper_maturity(self) -> PaperMaturityShare | None:
        paper = self.assessment.paper
        return PaperMaturityShare(share=paper) if paper is not None else None
