"""Paper maturity: a component whose scorecard puts it at Governed (level 4) or above while its delivery
says otherwise, its overall DORA band over the default window being LOW or not reported at all.

DORA's keys are the model's cross-check of maturity: a component that claims level 4 but deploys
monthly with a 40% failure rate, or reports no deployments, is mature on paper only. The band is the
one `Entity.dora` shows (the worst among the reported keys, under the configured profile).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from catalog.queries import EntityFilter
from catalog.tables import ENTITIES
from scorecards.definitions import Level
from scorecards.dora import (
    DEFAULT_WINDOW_DAYS,
    LOW,
    NOT_REPORTED,
    Band,
    DoraBands,
    DoraKeys,
    Profile,
    bands,
    dora_keys,
    overall_band,
)
from scorecards.golden_paths import scope_conditions
from scorecards.tables import RESULTS

CLAIMED_LEVEL = 4  # Governed: the level from which a scorecard claims what delivery must bear out
ON_PAPER = (LOW, NOT_REPORTED)


@dataclass(frozen=True)
class PaperMaturity:
    """Why a component's level is on paper only: its overall band (LOW or NOT_REPORTED) and in words."""

    band: Band
    window_days: int
    reason: str


@dataclass(frozen=True)
class PaperShare:
    """How many components in scope a scorecard puts at level 4 or 5, and how many of them on paper only."""

    claimed: int
    on_paper: int
    window_days: int

    @property
    def share(self) -> float | None:
        """Percentage (0-100) of the claimed that are on paper; None when none claims level 4."""
        return 100.0 * self.on_paper / self.claimed if self.claimed else None


def paper_maturity(
    level: Level, keys: DoraKeys | None, profile: Profile, window_days: int = DEFAULT_WINDOW_DAYS
) -> PaperMaturity | None:
    """The flag for a component at `level` with these keys over `window_days` (None: no events), or None
    when its level is below Governed or its delivery bears the level out."""
    if level.ordinal < CLAIMED_LEVEL:
        return None
    claim = f"level {level.ordinal} ({level.title})"
    if keys is None:
        reason = f"{claim}, but no delivery events were reported in the last {window_days} days"
        return PaperMaturity(NOT_REPORTED, window_days, reason)
    banded = bands(keys, profile)
    band = overall_band(banded)
    if band not in ON_PAPER:
        return None
    if band is NOT_REPORTED:
        reason = f"{claim}, but none of the DORA keys could be measured over the last {window_days} days"
    else:
        low = ", ".join(_low_keys(keys, banded))
        reason = f"{claim}, but its DORA band over the last {window_days} days is LOW ({profile.name}): {low}"
    return PaperMaturity(band, window_days, reason)


def _low_keys(keys: DoraKeys, banded: DoraBands) -> list[str]:
    """The LOW keys, each with its value, e.g. `change failure rate 40%`."""
    shown = (
        (banded.deployment_frequency, "deployment frequency", keys.deployments_per_week, "{:.2f} a week"),
        (banded.lead_time, "lead time", keys.lead_time_hours, "{:,.1f} hours"),
        (banded.change_failure_rate, "change failure rate", keys.change_failure_rate, "{:.0%}"),
        (banded.recovery_time, "recovery time", keys.recovery_hours, "{:,.1f} hours"),
    )
    return [f"{name} {form.format(value)}" for band, name, value, form in shown if band is LOW]


def paper_share(
    connection: Connection, scorecard: str, in_scope: EntityFilter, now: datetime, profile: Profile
) -> PaperShare:
    """Of the components in scope whose stored result on `scorecard` is level 4 or 5, those on paper only."""
    query = (
        sa.select(RESULTS.c.entity_ref)
        .select_from(RESULTS.join(ENTITIES, ENTITIES.c.ref == RESULTS.c.entity_ref))
        .where(RESULTS.c.scorecard == scorecard, RESULTS.c.level >= CLAIMED_LEVEL, *scope_conditions(in_scope))
    )
    claimed: Sequence[str] = connection.execute(query).scalars().all()
    found = dora_keys(connection, claimed, now, DEFAULT_WINDOW_DAYS) if claimed else {}
    on_paper = sum(1 for ref in claimed if ref not in found or overall_band(bands(found[ref], profile)) in ON_PAPER)
    return PaperShare(len(claimed), on_paper, DEFAULT_WINDOW_DAYS)
