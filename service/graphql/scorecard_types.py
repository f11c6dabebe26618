"""GraphQL types for scorecards: definitions, results with evidence, history, exemptions, rollups."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types.nodes import SelectedField

from scorecards import definitions, evaluate, paper_maturity, results, rollups
from scorecards.dora import DEFAULT_WINDOW_DAYS
from scorecards.rules import CheckStatus as CheckStatusValue

if TYPE_CHECKING:
    from service.graphql.dora_types import PaperMaturity
    from service.graphql.types import Entity

PaperMaturityType = Annotated["PaperMaturity", strawberry.lazy("service.graphql.dora_types")]


@strawberry.enum(description="What a check found: NOT_REPORTED means a reported fact it needs is missing or too old.")
class CheckStatus(Enum):
    PASSED = "PASSED"
    FAILED = "FAILED"
    NOT_REPORTED = "NOT_REPORTED"
    EXEMPT = "EXEMPT"
    NOT_APPLICABLE = "NOT_APPLICABLE"


@strawberry.enum(description="How a rollup groups entities: by owner, by system, or by the system's domain.")
class RollupGroup(Enum):
    OWNER = "OWNER"
    SYSTEM = "SYSTEM"
    DOMAIN = "DOMAIN"


@strawberry.type(description="A step of the staircase; ordinal 1 is the floor.")
class Level:
    ordinal: int
    id: str
    title: str

    @classmethod
    def of(cls, level: definitions.Level) -> Level:
        return cls(ordinal=level.ordinal, id=level.id, title=level.title)


@strawberry.type(description="A capability area, e.g. data or serving.")
class Area:
    id: str
    title: str


@strawberry.type
class CheckLink:
    url: str
    title: str | None


@strawberry.type(description="A check as defined: the level and area it counts towards, and how to pass it.")
class Check:
    # Plain fields, built once per definition and request: a page of results repeats them thousands of times.
    id: str
    title: str
    description: str | None
    level: Level
    area: Area
    rule: JSON = strawberry.field(description="The rule as written in the definition.")
    remediation: str
    links: list[CheckLink]

    @classmethod
    def of(cls, check: definitions.Check) -> Check:
        return cls(
            id=check.id,
            title=check.title,
            description=check.description,
            level=Level.of(check.level),
            area=Area(id=check.area.id, title=check.area.title),
            rule=cast(JSON, dict(check.definition)),
            remediation=check.remediation,
            links=[CheckLink(url=link.url, title=link.title) for link in check.links],
        )


@strawberry.type(description="A scorecard definition: levels, areas and checks.")
class Scorecard:
    definition: strawberry.Private[definitions.Scorecard]

    @strawberry.field
    def name(self) -> str:
        return self.definition.name

    @strawberry.field
    def title(self) -> str:
        return self.definition.title

    @strawberry.field
    def description(self) -> str | None:
        return self.definition.description

    @strawberry.field
    def levels(self) -> list[Level]:
        return [Level.of(level) for level in self.definition.levels]

    @strawberry.field
    def areas(self) -> list[Area]:
        return [Area(id=area.id, title=area.title) for area in self.definition.areas]

    @strawberry.field
    def checks(self) -> list[Check]:
        return [Check.of(check) for check in self.definition.checks]

    @strawberry.field(description="The spread between area levels from which a result is lopsided.")
    def lopsided_threshold(self) -> int:
        return self.definition.lopsided_threshold


@strawberry.type(description="A check waived for one entity until it expires.")
class Exemption:
    stored: strawberry.Private[evaluate.Exemption]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.stored.id))

    @strawberry.field
    def entity_ref(self) -> str:
        return self.stored.entity_ref

    @strawberry.field
    def scorecard(self) -> str:
        return self.stored.scorecard

    @strawberry.field
    def check(self) -> str:
        return self.stored.check

    @strawberry.field
    def reason(self) -> str:
        return self.stored.reason

    @strawberry.field
    def expires_at(self) -> datetime:
        return self.stored.expires_at

    @strawberry.field
    def created_by(self) -> str | None:
        return self.stored.created_by


@strawberry.type(description="One check's finding for one entity, with the value it observed and why.")
class CheckResult:
    check: Check
    status: CheckStatus
    observed: JSON | None = strawberry.field(description="The value the check looked at (null when absent).")
    message: str = strawberry.field(description="A one-line reason, e.g. 'spec.owner is absent'.")
    exemption: Exemption | None


EVIDENCE = {"observed", "message"}


def _selected_names(fields: Sequence[Any]) -> set[str]:
    """The names of the fields selected directly under these, through fragments too."""
    names: set[str] = set()
    for field in fields:
        for child in getattr(field, "selections", ()):
            if isinstance(child, SelectedField):
                names.add(child.name)
            else:  # a fragment: its fields count as selected here
                names |= _selected_names([child])
    return names


def check_results(
    info: strawberry.Info, scorecard: definitions.Scorecard, results: Sequence[evaluate.CheckResult]
) -> list[CheckResult]:
    """GraphQL check results sharing one Check object per definition check. The evidence (observed
    value and reason) is worked out only when the query selects it: a list of statuses skips it."""
    checks = info.context.graphql_checks(scorecard)
    explain = bool(EVIDENCE & _selected_names(info.selected_fields))
    return [
        CheckResult(
            check=checks[r.check.id],
            status=CheckStatus[r.status.value],
            observed=cast(JSON, r.observed) if explain else None,
            message=r.message if explain else "",
            exemption=Exemption(stored=r.exemption) if r.exemption else None,
        )
        for r in results
    ]


@strawberry.type
class AreaResult:
    area: Area
    level: Level
    applicable: bool = strawberry.field(
        description="Whether any of the area's checks applies to the entity; floor and spread count only these."
    )


@strawberry.type(description="An entity's levels on one day.")
class LevelPoint:
    day: date
    level: Level
    floor: Level


@strawberry.type(description="An entity's standing on a scorecard, evaluated now from its descriptor and facts.")
class ScorecardResult:
    result: strawberry.Private[evaluate.ScorecardResult]
    entity_ref: strawberry.Private[str]

    @strawberry.field
    def scorecard(self) -> Scorecard:
        return Scorecard(definition=self.result.scorecard)

    @strawberry.field
    def level(self) -> Level:
        return Level.of(self.result.level)

    @strawberry.field
    def next_level(self) -> Level | None:
        return Level.of(self.result.next_level) if self.result.next_level else None

    @strawberry.field
    def areas(self) -> list[AreaResult]:
        return [
            AreaResult(area=Area(id=a.area.id, title=a.area.title), level=Level.of(a.level), applicable=a.applicable)
            for a in self.result.areas
        ]

    @strawberry.field(description="The lowest level among the areas whose checks apply.")
    def floor(self) -> Level:
        return Level.of(self.result.floor)

    @strawberry.field(description="Highest area level minus lowest.")
    def spread(self) -> int:
        return self.result.spread

    @strawberry.field
    def lopsided(self) -> bool:
        return self.result.lopsided

    @strawberry.field
    def checks(self, info: strawberry.Info, status: CheckStatus | None = None) -> list[CheckResult]:
        wanted = CheckStatusValue(status.value) if status else None
        chosen = [r for r in self.result.checks if wanted is None or r.status is wanted]
        return check_results(info, self.result.scorecard, chosen)

    @strawberry.field(
        description="Every check's status by check id, in one value: for list views, where a page of "
        "`checks` objects costs several times as much to resolve."
    )
    def statuses(self) -> JSON:
        return cast(JSON, {r.check.id: r.status.value for r in self.result.checks})

    @strawberry.field(description="The next level's checks, unmet first, those that lift their area most first.")
    def unlock(self, info: strawberry.Info) -> list[CheckResult]:
        return check_results(info, self.result.scorecard, self.result.unlock)

    @strawberry.field
    def evaluated_at(self) -> datetime:
        return self.result.evaluated_at

    @strawberry.field(
        description="Set when the level is Governed (4) or above while the component's overall DORA band over the "
        "last 90 days is LOW or not reported: mature on paper only. Null otherwise."
    )
    async def paper_maturity(self, info: strawberry.Info) -> PaperMaturityType | None:
        from service.graphql.dora_types import PaperMaturity

        level = self.result.level
        if level.ordinal < paper_maturity.CLAIMED_LEVEL:
            return None
        window = DEFAULT_WINDOW_DAYS
        keys = await info.context.dora_keys.load((self.entity_ref, window))
        flag = paper_maturity.paper_maturity(level, keys, info.context.config.dora_profile, window)
        return PaperMaturity.of(flag) if flag is not None else None

    @strawberry.field(description="Daily snapshots, oldest first.")
    async def history(
        self, info: strawberry.Info, since: datetime | None = None, until: datetime | None = None
    ) -> list[LevelPoint]:
        points = await info.context.read(
            results.level_history,
            self.entity_ref,
            self.result.scorecard.name,
            since.astimezone(UTC).date() if since else None,
            until.astimezone(UTC).date() if until else None,
        )
        card = self.result.scorecard
        return [
            LevelPoint(day=point.day, level=Level.of(card.level(point.level)), floor=Level.of(card.level(point.floor)))
            for point in points
        ]


@strawberry.type
class LevelCount:
    level: Level
    count: int


@strawberry.type(description="Stored results of one group (owner, system or domain) on a scorecard.")
class ScorecardRollup:
    rollup: strawberry.Private[rollups.Rollup]
    definition: strawberry.Private[definitions.Scorecard]

    @strawberry.field(description="The group's entity ref.")
    def key(self) -> str:
        return self.rollup.key

    @strawberry.field(description="The group's entity, or null when it is not in the catalogue.")
    async def entity(self, info: strawberry.Info) -> Annotated[Entity, strawberry.lazy("service.graphql.types")] | None:
        from service.graphql.types import Entity

        stored = await info.context.entities.load(self.rollup.key)
        return Entity(stored=stored) if stored is not None else None

    @strawberry.field
    def count(self) -> int:
        return self.rollup.count

    @strawberry.field(description="How many entities are at each level, every level listed.")
    def levels(self) -> list[LevelCount]:
        return [
            LevelCount(level=Level.of(level), count=self.rollup.levels.get(level.ordinal, 0))
            for level in self.definition.levels
        ]

    @strawberry.field
    def average_level(self) -> float:
        return round(self.rollup.average_level, 2)

    @strawberry.field
    def lopsided_count(self) -> int:
        return self.rollup.lopsided


@strawberry.type(description="What a fact submission recorded.")
class FactReceipt:
    entity_ref: str
    source: str
    names: list[str]
    observed_at: datetime
