"""Organisation maturity: the whole organisation (or one scope of it) on the five levels, from catalogue
evidence (inventory, golden-path adoption) and the stored results of the default scorecard.

Each criterion is measured in SQL, compared with its configurable threshold and explained in one
line. The organisation is at the highest level whose criteria, and those of every level below,
all pass; level 1 has none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from catalog.queries import EntityFilter, count_where
from catalog.tables import ENTITIES
from scorecards.adoption import adoption, new_workloads
from scorecards.definitions import Level
from scorecards.dora import DORA_2024, Profile
from scorecards.golden_paths import GoldenPathSettings, golden_path_owners, golden_paths, scope, scope_conditions
from scorecards.paper_maturity import PaperShare, paper_share
from scorecards.rules import CheckStatus
from scorecards.tables import RESULTS

LEVELS = (
    Level(1, "ad-hoc", "Ad-hoc"),
    Level(2, "repeatable", "Repeatable"),
    Level(3, "managed", "Managed"),
    Level(4, "governed", "Governed"),
    Level(5, "self-improving", "Self-improving"),
)
PRODUCTION = "production"
# A check counts as evidence when the scorecard would let it through.
SATISFIED = (CheckStatus.PASSED, CheckStatus.EXEMPT, CheckStatus.NOT_APPLICABLE)

# Criterion ids, their level, what they measure, and the model's default thresholds.
INVENTORY = "inventory"
CROSS_TEAM_GOLDEN_PATH = "cross-team-golden-path"
NEW_WORKLOADS_ON_GOLDEN_PATHS = "new-workloads-on-golden-paths"
GOLDEN_PATHS_IN_USE = "golden-paths-in-use"
SCORECARD_LEVEL_3 = "scorecard-level-3"
PRODUCTION_ON_GOLDEN_PATHS = "production-on-golden-paths"
GOVERNANCE_EVIDENCE = "governance-evidence"
PRODUCT_TEAM_GOLDEN_PATHS = "product-team-golden-paths"
SELF_IMPROVING = "self-improving"

PERCENT = "percent"
COUNT = "count"


@dataclass(frozen=True)
class CriterionSpec:
    id: str
    level: int
    unit: str
    title: str
    default: float


CRITERIA = (
    CriterionSpec(INVENTORY, 2, PERCENT, "Production components with an owner and a system", 70),
    CriterionSpec(CROSS_TEAM_GOLDEN_PATH, 2, COUNT, "Golden paths used by a team other than their owner", 1),
    CriterionSpec(NEW_WORKLOADS_ON_GOLDEN_PATHS, 3, PERCENT, "New workloads started on a golden path", 40),
    CriterionSpec(GOLDEN_PATHS_IN_USE, 3, COUNT, "Golden paths in use", 2),
    CriterionSpec(SCORECARD_LEVEL_3, 3, PERCENT, "Production components at scorecard level 3 or above", 50),
    CriterionSpec(PRODUCTION_ON_GOLDEN_PATHS, 4, PERCENT, "Production components started on a golden path", 80),
    CriterionSpec(GOVERNANCE_EVIDENCE, 4, PERCENT, "Production components with risk tier, lineage and model card", 90),
    CriterionSpec(PRODUCT_TEAM_GOLDEN_PATHS, 5, COUNT, "Teams besides the platform team owning golden paths", 2),
    CriterionSpec(SELF_IMPROVING, 5, PERCENT, "Production components at level 5 or retraining on monitoring", 50),
)
CRITERION_IDS = tuple(spec.id for spec in CRITERIA)


@dataclass(frozen=True)
class MaturitySettings:
    """How the organisation is assessed: thresholds by criterion id (percentages 0-100 or counts),
    the scorecard whose results count (None: the first loaded), the checks that are its governance
    and retraining evidence, the new-workload window, and the platform team(s) (None: the owner of
    the most golden paths)."""

    thresholds: Mapping[str, float] = field(default_factory=dict)
    scorecard: str | None = None
    governance_checks: tuple[str, ...] = ("risk-tier-declared", "data-lineage-recorded", "model-card-published")
    retraining_checks: tuple[str, ...] = ("monitoring-triggered-retraining",)
    new_workload_days: int = 90
    platform_teams: tuple[str, ...] | None = None

    def threshold(self, criterion: str) -> float:
        return float(self.thresholds.get(criterion, next(c.default for c in CRITERIA if c.id == criterion)))


@dataclass(frozen=True)
class Criterion:
    """One criterion as measured: its value (None when there was nothing to measure), threshold and verdict."""

    id: str
    level: Level
    title: str
    unit: str
    value: float | None
    threshold: float
    evidence: str

    @property
    def passed(self) -> bool:
        return self.value is not None and self.value >= self.threshold


@dataclass(frozen=True)
class OrganizationMaturity:
    level: Level
    criteria: list[Criterion]
    unlock: list[Criterion]  # the failing criteria of the next level; none at the top
    lopsided_share: float | None  # percentage of scored components in scope whose scorecard is lopsided
    paper: PaperShare | None  # components in scope at level 4 or 5 on paper only; None without the scorecard


@dataclass(frozen=True)
class _ScorecardEvidence:
    scored: int = 0
    at_level_3: int = 0
    governed: int = 0
    self_improving: int = 0


def organization_maturity(
    connection: Connection,
    golden: GoldenPathSettings,
    settings: MaturitySettings,
    scorecard_names: Sequence[str],
    entity_filter: EntityFilter | None,
    now: datetime,
    dora_profile: Profile = DORA_2024,
) -> OrganizationMaturity:
    """The organisation's (or the filter's scope's) level, each criterion with its evidence, and the unlock."""
    in_scope = scope(entity_filter)
    production = replace(in_scope, lifecycle=[PRODUCTION])
    measured: dict[str, tuple[float | None, str]] = {}

    total, inventoried = _inventory(connection, production)
    measured[INVENTORY] = _share(inventoried, total, "production components", "name an owner and a system")

    paths = golden_paths(connection, golden, in_scope)
    crossing = [p for p in paths if p.cross_team_adopters]
    measured[CROSS_TEAM_GOLDEN_PATH] = (
        float(len(crossing)),
        f"{len(crossing)} of {len(paths)} golden paths have adopters outside their owning team"
        + (f" (e.g. {crossing[0].template_ref})" if crossing else ""),
    )
    in_use = [p for p in paths if p.adopters]
    measured[GOLDEN_PATHS_IN_USE] = (
        float(len(in_use)),
        f"{len(in_use)} of {len(paths)} golden paths have started at least one component",
    )

    days = settings.new_workload_days
    new = new_workloads(connection, golden, in_scope, days, now)
    measured[NEW_WORKLOADS_ON_GOLDEN_PATHS] = _share(
        new.on_golden_path, new.total, f"components created in the last {days} days", "started on a golden path"
    )
    on_path = adoption(connection, golden, production)[0]
    measured[PRODUCTION_ON_GOLDEN_PATHS] = _share(
        on_path.on_golden_path, on_path.total, "production components", "started on a golden path"
    )

    owners = golden_path_owners(connection, golden)
    if settings.platform_teams is not None:
        platform, who = set(settings.platform_teams), ", ".join(settings.platform_teams) or "none"
    else:  # the owner of the most golden paths (ties: the first by ref), unless configured
        platform = {owners[0][0]} if owners else set()
        who = f"{owners[0][0]}, owner of the most golden paths" if owners else "none"
    product_teams = [owner for owner, _count in owners if owner not in platform]
    measured[PRODUCT_TEAM_GOLDEN_PATHS] = (
        float(len(product_teams)),
        f"{len(product_teams)} teams besides the platform team ({who}) own golden paths"
        + (f": {', '.join(product_teams[:3])}" if product_teams else ""),
    )

    card = settings.scorecard or (scorecard_names[0] if scorecard_names else None)
    lopsided_share, paper = None, None
    if card is None or card not in scorecard_names:
        missing = "no scorecard is loaded" if card is None else f"no scorecard named {card!r} is loaded"
        for criterion in (SCORECARD_LEVEL_3, GOVERNANCE_EVIDENCE, SELF_IMPROVING):
            measured[criterion] = (None, missing)
    else:
        evidence = _scorecard_evidence(connection, card, production, settings)
        scored = evidence.scored
        noun = f"production components scored on {card}"
        measured[SCORECARD_LEVEL_3] = _share(evidence.at_level_3, scored, noun, "are at level 3 or above")
        governance = ", ".join(settings.governance_checks)
        measured[GOVERNANCE_EVIDENCE] = _share(evidence.governed, scored, noun, f"pass {governance}")
        retraining = " or ".join(settings.retraining_checks)
        measured[SELF_IMPROVING] = _share(evidence.self_improving, scored, noun, f"are at level 5 or pass {retraining}")
        lopsided_share = _lopsided_share(connection, card, in_scope)
        paper = paper_share(connection, card, in_scope, now, dora_profile)

    criteria = []
    for spec in CRITERIA:
        value, evidence_line = measured[spec.id]
        level_of = LEVELS[spec.level - 1]
        criteria.append(
            Criterion(spec.id, level_of, spec.title, spec.unit, value, settings.threshold(spec.id), evidence_line)
        )
    level = 1
    while level < len(LEVELS) and all(c.passed for c in criteria if c.level.ordinal == level + 1):
        level += 1
    unlock = [c for c in criteria if c.level.ordinal == level + 1 and not c.passed]
    return OrganizationMaturity(LEVELS[level - 1], criteria, unlock, lopsided_share, paper)


def _share(part: int, whole: int, noun: str, what: str) -> tuple[float | None, str]:
    """A percentage and its evidence line, e.g. '7 of 10 production components name an owner and a system'."""
    if not whole:
        return None, f"no {noun} in scope: nothing to measure"
    return 100.0 * part / whole, f"{part} of {whole} {noun} {what}"


def _inventory(connection: Connection, production: EntityFilter) -> tuple[int, int]:
    listed = sa.and_(ENTITIES.c.owner_ref.is_not(None), ENTITIES.c.system_ref.is_not(None))
    query = sa.select(sa.func.count(), count_where(listed)).where(*scope_conditions(production))
    total, inventoried = connection.execute(query).one()
    return int(total), int(inventoried or 0)


def _scorecard_evidence(
    connection: Connection, card: str, production: EntityFilter, settings: MaturitySettings
) -> _ScorecardEvidence:
    status = _status_reader(connection)
    satisfied = [value.value for value in SATISFIED]
    governed = sa.and_(*(status(check).in_(satisfied) for check in settings.governance_checks))
    retraining = sa.or_(*(status(check) == CheckStatus.PASSED.value for check in settings.retraining_checks))
    query = (
        sa.select(
            sa.func.count(),
            count_where(RESULTS.c.level >= 3),
            count_where(governed),
            count_where(sa.or_(RESULTS.c.level >= 5, retraining)),
        )
        .select_from(RESULTS.join(ENTITIES, ENTITIES.c.ref == RESULTS.c.entity_ref))
        .where(RESULTS.c.scorecard == card, *scope_conditions(production))
    )
    return _ScorecardEvidence(*(int(n or 0) for n in connection.execute(query).one()))


def _lopsided_share(connection: Connection, card: str, in_scope: EntityFilter) -> float | None:
    query = (
        sa.select(sa.func.count(), count_where(RESULTS.c.lopsided))
        .select_from(RESULTS.join(ENTITIES, ENTITIES.c.ref == RESULTS.c.entity_ref))
        .where(RESULTS.c.scorecard == card, *scope_conditions(in_scope))
    )
    scored, lopsided = connection.execute(query).one()
    return 100.0 * int(lopsided or 0) / scored if scored else None


def _status_reader(connection: Connection) -> Callable[[str], sa.ColumnElement[str]]:
    """SQL for one check's stored status (results keep them as a JSON object, check id -> status)."""
    if connection.dialect.name == "postgresql":
        statuses = sa.cast(RESULTS.c.statuses, postgresql.JSONB)
        return lambda check: statuses.op("->>")(check)
    return lambda check: sa.func.json_extract(RESULTS.c.statuses, '$."' + check.replace('"', "") + '"')
