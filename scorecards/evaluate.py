"""Evaluating a scorecard for one entity: check statuses, levels per area and overall, unlock move.

Pure functions over a FactDocument: no database, so bulk evaluation and tests run the same code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from scorecards.definitions import Area, Check, Level, Scorecard
from scorecards.rules import CheckStatus, FactDocument, Outcome

# Statuses that do not hold an entity back: the level rule counts them as met.
MET = frozenset({CheckStatus.PASSED, CheckStatus.EXEMPT, CheckStatus.NOT_APPLICABLE})
_STATUS_ORDER = {CheckStatus.FAILED: 0, CheckStatus.NOT_REPORTED: 1}


@dataclass(frozen=True, slots=True)
class Exemption:
    """A check waived for one entity until `expires_at`, for a stated reason."""

    id: int
    entity_ref: str
    scorecard: str
    check: str
    reason: str
    expires_at: datetime
    created_by: str | None = None
    created_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return now < self.expires_at


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: Check
    status: CheckStatus
    observed: object
    message: str
    exemption: Exemption | None = None


@dataclass(frozen=True, slots=True)
class AreaResult:
    area: Area
    level: Level
    applicable: bool  # whether any check of the area applies; areas without one are left out of floor and spread


@dataclass(frozen=True, slots=True)
class ScorecardResult:
    scorecard: Scorecard
    level: Level
    next_level: Level | None
    areas: tuple[AreaResult, ...]
    floor: Level
    spread: int
    lopsided: bool
    checks: tuple[CheckResult, ...]
    unlock: tuple[CheckResult, ...]
    evaluated_at: datetime


def applies(scorecard: Scorecard, entity: Mapping[str, object]) -> bool:
    """Whether the scorecard's filter takes this entity in."""
    return scorecard.scope.matches(entity)


def evaluate(
    scorecard: Scorecard, document: FactDocument, exemptions: Mapping[str, Exemption] | None = None
) -> ScorecardResult:
    """The scorecard's result for the entity in `document`; `exemptions` by check id."""
    exemptions = exemptions or {}
    results = tuple(_check_result(check, document, exemptions.get(check.id)) for check in scorecard.checks)
    top = len(scorecard.levels)
    level = _level_reached(results, top)
    areas = tuple(
        AreaResult(
            area,
            scorecard.level(_level_reached([r for r in results if r.check.area == area], top)),
            any(r.check.area == area and r.status is not CheckStatus.NOT_APPLICABLE for r in results),
        )
        for area in scorecard.areas
    )
    counted = [area.level.ordinal for area in areas if area.applicable] or [level]
    floor, spread = min(counted), max(counted) - min(counted)
    return ScorecardResult(
        scorecard=scorecard,
        level=scorecard.level(level),
        next_level=scorecard.level(level + 1) if level < top else None,
        areas=areas,
        floor=scorecard.level(floor),
        spread=spread,
        lopsided=spread >= scorecard.lopsided_threshold,
        checks=results,
        unlock=_unlock(results, level + 1, top),
        evaluated_at=document.now,
    )


def _check_result(check: Check, document: FactDocument, exemption: Exemption | None) -> CheckResult:
    if check.scope is not None and not check.scope.matches(document.entity):
        return CheckResult(check, CheckStatus.NOT_APPLICABLE, None, "the check's filter leaves this entity out")
    outcome: Outcome = check.rule(document)
    if exemption is not None and exemption.active(document.now):
        until = exemption.expires_at.date().isoformat()
        message = f"exempt until {until}: {exemption.reason} ({outcome.message})"
        return CheckResult(check, CheckStatus.EXEMPT, outcome.observed, message, exemption)
    return CheckResult(check, outcome.status, outcome.observed, outcome.message)


def _level_reached(results: tuple[CheckResult, ...] | list[CheckResult], top: int) -> int:
    """The highest level N such that every check of levels 2..N is met: one below the lowest unmet check."""
    blocked = min((r.check.level.ordinal for r in results if r.status not in MET), default=top + 1)
    return blocked - 1


def _unlock(results: tuple[CheckResult, ...], next_ordinal: int, top: int) -> tuple[CheckResult, ...]:
    """The next level's applicable checks, unmet first. Among those, the ones whose passing would lift
    their area highest come first (an area held at the floor by a single check may jump several
    levels), then failures before missing facts, then definition order."""
    candidates = [
        (index, r)
        for index, r in enumerate(results)
        if r.check.level.ordinal == next_ordinal and r.status is not CheckStatus.NOT_APPLICABLE
    ]

    def lift(check: CheckResult) -> int:
        same_area = [r for r in results if r.check.area == check.check.area]
        return _level_reached([r for r in same_area if r is not check], top) - _level_reached(same_area, top)

    def rank(item: tuple[int, CheckResult]) -> tuple[bool, int, int, int]:
        index, r = item
        if r.status in MET:
            return (True, 0, 0, index)
        return (False, -lift(r), _STATUS_ORDER.get(r.status, 2), index)

    return tuple(r for _index, r in sorted(candidates, key=rank))
