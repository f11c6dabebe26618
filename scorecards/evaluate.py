"""Evaluating a scorecard for one entity: check statuses, levels per area and overall, unlock move.

Pure functions over a FactDocument: no database, so bulk evaluation and tests run the same code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


@dataclass(frozen=True, slots=True)
class Levels:
    """Where an entity stands on a scorecard, without the evidence: what bulk scoring stores."""

    level: int
    floor: int
    spread: int
    lopsided: bool
    area_levels: dict[str, int]  # by area id
    applicable: frozenset[str]  # ids of the areas with a check that applies
    unmet: dict[str, list[int]]  # by area id, the levels of its unmet checks, sorted
    statuses: tuple[CheckStatus, ...]  # in definition order


def standing(
    scorecard: Scorecard, statuses: Sequence[CheckStatus], places: Sequence[tuple[str, int]] | None = None
) -> Levels:
    """Levels from the checks' statuses: an area reaches one below its lowest unmet check; the entity,
    one below its lowest unmet check of any area. `places` is `scorecard.check_places`, when the
    caller has it at hand (bulk scoring computes it once)."""
    top = len(scorecard.levels)
    unmet: dict[str, list[int]] = {area.id: [] for area in scorecard.areas}
    applicable: set[str] = set()
    not_applicable = CheckStatus.NOT_APPLICABLE
    for (area_id, ordinal), status in zip(places or scorecard.check_places, statuses, strict=True):
        if status is not not_applicable:
            applicable.add(area_id)
            if status not in MET:
                unmet[area_id].append(ordinal)
    area_levels = {}
    for area_id, ordinals in unmet.items():
        ordinals.sort()
        area_levels[area_id] = (ordinals[0] if ordinals else top + 1) - 1
    level = min(area_levels.values(), default=top)
    counted = [area_levels[area_id] for area_id in applicable] or [level]
    floor, spread = min(counted), max(counted) - min(counted)
    return Levels(
        level,
        floor,
        spread,
        spread >= scorecard.lopsided_threshold,
        area_levels,
        frozenset(applicable),
        unmet,
        tuple(statuses),
    )


def evaluate_levels(
    scorecard: Scorecard,
    document: FactDocument,
    exemptions: Mapping[str, Exemption] | None = None,
    places: Sequence[tuple[str, int]] | None = None,
) -> Levels:
    """The entity's levels, deciding each check without explaining it (the fast path for bulk scoring)."""
    statuses = []
    entity = document.entity
    for check in scorecard.checks:
        if check.scope is not None and not check.scope.matches(entity):
            statuses.append(CheckStatus.NOT_APPLICABLE)
            continue
        status = check.rule.status(document)
        exemption = exemptions.get(check.id) if exemptions else None
        if exemption is not None and exemption.active(document.now):
            status = CheckStatus.EXEMPT
        statuses.append(status)
    return standing(scorecard, statuses, places)


def evaluate(
    scorecard: Scorecard, document: FactDocument, exemptions: Mapping[str, Exemption] | None = None
) -> ScorecardResult:
    """The scorecard's result for the entity in `document`, with every check's evidence; `exemptions` by check id."""
    exemptions = exemptions or {}
    results = tuple(_check_result(check, document, exemptions.get(check.id)) for check in scorecard.checks)
    levels = standing(scorecard, [r.status for r in results])
    top = len(scorecard.levels)
    return ScorecardResult(
        scorecard=scorecard,
        level=scorecard.level(levels.level),
        next_level=scorecard.level(levels.level + 1) if levels.level < top else None,
        areas=tuple(
            AreaResult(area, scorecard.level(levels.area_levels[area.id]), area.id in levels.applicable)
            for area in scorecard.areas
        ),
        floor=scorecard.level(levels.floor),
        spread=levels.spread,
        lopsided=levels.lopsided,
        checks=results,
        unlock=_unlock(results, levels.level + 1, levels.unmet, top) if levels.level < top else (),
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


def _unlock(
    results: tuple[CheckResult, ...], next_ordinal: int, unmet: Mapping[str, list[int]], top: int
) -> tuple[CheckResult, ...]:
    """The next level's applicable checks, unmet first. Among those, the ones whose passing would lift
    their area highest come first (an area held at the floor by a single check may jump several
    levels), then failures before missing facts, then definition order."""
    candidates = [
        (index, r)
        for index, r in enumerate(results)
        if r.check.level.ordinal == next_ordinal and r.status is not CheckStatus.NOT_APPLICABLE
    ]

    def lift(r: CheckResult) -> int:
        # The area's unmet levels, sorted; meeting this check removes one entry at next_ordinal.
        ordinals = unmet[r.check.area.id]
        after = ordinals[1] if len(ordinals) > 1 and ordinals[0] == next_ordinal else top + 1
        if ordinals[0] != next_ordinal:
            return 0
        return (after - 1) - (next_ordinal - 1)

    def rank(item: tuple[int, CheckResult]) -> tuple[bool, int, int, int]:
        index, r = item
        if r.status in MET:
            return (True, 0, 0, index)
        return (False, -lift(r), _STATUS_ORDER.get(r.status, 2), index)

    return tuple(r for _index, r in sorted(candidates, key=rank))
