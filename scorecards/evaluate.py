"""Evaluating a scorecard for one entity: check statuses, levels per area and overall, unlock move.

Pure functions over a FactDocument: no database, so bulk evaluation and tests run the same code.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from scorecards.definitions import Area, Check, Level, Scorecard
from scorecards.rules import CheckStatus, FactDocument

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


class CheckResult:
    """One check's finding. The status is decided at once; the observed value and the reason are
    worked out when first read, so a list view that shows only statuses never pays for them."""

    __slots__ = ("_document", "_explained", "check", "exemption", "status")

    def __init__(
        self, check: Check, status: CheckStatus, document: FactDocument, exemption: Exemption | None = None
    ) -> None:
        self.check = check
        self.status = status
        self.exemption = exemption
        self._document = document
        self._explained: tuple[object, str] | None = None

    @property
    def observed(self) -> object:
        """The value the rule looked at (None when absent)."""
        return self._explain()[0]

    @property
    def message(self) -> str:
        """A one-line reason, e.g. `spec.owner is absent`."""
        return self._explain()[1]

    def _explain(self) -> tuple[object, str]:
        if self._explained is None:
            if self.status is CheckStatus.NOT_APPLICABLE:
                self._explained = (None, "the check's filter leaves this entity out")
            else:
                outcome = self.check.rule.explain(self._document)
                message = outcome.message
                if self.exemption is not None:
                    until = self.exemption.expires_at.date().isoformat()
                    message = f"exempt until {until}: {self.exemption.reason} ({message})"
                self._explained = (outcome.observed, message)
        return self._explained

    def __repr__(self) -> str:
        return f"CheckResult({self.check.id!r}, {self.status.value})"


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


def decide(
    scorecard: Scorecard, document: FactDocument, exemptions: Mapping[str, Exemption] | None = None
) -> Iterator[tuple[Check, CheckStatus, Exemption | None]]:
    """Each check's status for the entity, and the exemption that made it EXEMPT, if one did."""
    entity = document.entity
    for check in scorecard.checks:
        if check.scope is not None and not check.scope.matches(entity):
            yield check, CheckStatus.NOT_APPLICABLE, None
            continue
        exemption = exemptions.get(check.id) if exemptions else None
        if exemption is not None and exemption.active(document.now):
            yield check, CheckStatus.EXEMPT, exemption
        else:
            yield check, check.rule.status(document), None


def evaluate_levels(
    scorecard: Scorecard,
    document: FactDocument,
    exemptions: Mapping[str, Exemption] | None = None,
    places: Sequence[tuple[str, int]] | None = None,
) -> Levels:
    """The entity's levels, deciding each check without explaining it (the fast path for bulk scoring)."""
    return standing(
        scorecard, [status for _check, status, _exemption in decide(scorecard, document, exemptions)], places
    )


def evaluate(
    scorecard: Scorecard, document: FactDocument, exemptions: Mapping[str, Exemption] | None = None
) -> ScorecardResult:
    """The scorecard's result for the entity in `document`, each check explained when read; `exemptions` by check id."""
    results = tuple(
        CheckResult(check, status, document, exemption)
        for check, status, exemption in decide(scorecard, document, exemptions)
    )
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
