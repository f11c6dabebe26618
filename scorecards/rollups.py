"""Rollups of stored scorecard results by owner, system or domain: how many entities at each level."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from catalog.queries import EntityFilter, count_where, filter_conditions
from catalog.tables import ENTITIES, RELATIONS
from scorecards.tables import RESULTS


class RollupGroup(StrEnum):
    OWNER = "OWNER"
    SYSTEM = "SYSTEM"
    DOMAIN = "DOMAIN"


@dataclass
class Rollup:
    """One group's entities on a scorecard: counts per level ordinal, the mean level, how many are lopsided."""

    key: str
    count: int = 0
    levels: dict[int, int] = field(default_factory=dict)
    lopsided: int = 0

    @property
    def average_level(self) -> float:
        return sum(level * count for level, count in self.levels.items()) / self.count if self.count else 0.0


def scorecard_rollup(
    connection: Connection, scorecard: str, group_by: RollupGroup, entity_filter: EntityFilter | None = None
) -> list[Rollup]:
    """Stored results of `scorecard` grouped by the entities' owner, system or the system's domain, by key.

    Entities without an owner, system or domain are left out of that grouping.
    """
    entities = ENTITIES
    if group_by is RollupGroup.DOMAIN:
        domain = RELATIONS.alias("domain")
        key: sa.ColumnElement[str | None] = domain.c.target_ref
        joined = RESULTS.join(entities, entities.c.ref == RESULTS.c.entity_ref).join(
            domain,
            sa.and_(
                domain.c.source_ref == entities.c.system_ref,
                domain.c.type == "partOf",
                domain.c.target_ref.like("domain:%"),
            ),
        )
    else:
        key = entities.c.owner_ref if group_by is RollupGroup.OWNER else entities.c.system_ref
        joined = RESULTS.join(entities, entities.c.ref == RESULTS.c.entity_ref)
    lopsided = count_where(RESULTS.c.lopsided)
    query = (
        sa.select(key, RESULTS.c.level, sa.func.count(), lopsided)
        .select_from(joined)
        .where(RESULTS.c.scorecard == scorecard, key.is_not(None), *filter_conditions(entity_filter))
        .group_by(key, RESULTS.c.level)
    )
    groups: dict[str, Rollup] = {}
    for group_key, level, count, lopsided_count in connection.execute(query):
        rollup = groups.setdefault(group_key, Rollup(group_key))
        rollup.count += count
        rollup.levels[level] = rollup.levels.get(level, 0) + count
        rollup.lopsided += int(lopsided_count or 0)
    return [groups[name] for name in sorted(groups)]
