"""Scorecard results over the catalogue: evaluate in bulk, store a row per (entity, scorecard) and a
daily snapshot, evaluate one entity live, read history.

Inputs are loaded set-based (entities, relations, facts, exemptions: a handful of queries however
many entities), rules run in Python, and results are written with one statement per table.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from catalog.queries import IN_CHUNK, relations_from
from catalog.tables import ENTITIES
from scorecards.definitions import Scorecard
from scorecards.evaluate import ScorecardResult, applies, evaluate
from scorecards.exemptions import active_exemptions
from scorecards.facts import Submission, check_submission, latest_facts, record_facts
from scorecards.rules import FactDocument
from scorecards.tables import HISTORY, RESULTS


@dataclass
class EvaluationSummary:
    """What a bulk evaluation did."""

    entities: int = 0  # entities read
    results: int = 0  # (entity, scorecard) results stored


def fact_documents(
    connection: Connection, refs: Sequence[str] | None, kinds: Sequence[str] | None, now: datetime
) -> Iterator[tuple[str, FactDocument]]:
    """(ref, FactDocument) per entity (all of `kinds`, or the `refs` given): relations both ways, latest facts."""
    query = sa.select(ENTITIES.c.ref, ENTITIES.c.body)
    if kinds is not None:
        query = query.where(ENTITIES.c.kind.in_([kind.lower() for kind in kinds]))
    chunks = [None] if refs is None else [refs[start : start + IN_CHUNK] for start in range(0, len(refs), IN_CHUNK)]
    bodies: dict[str, dict[str, object]] = {}
    for chunk in chunks:
        for ref, body in connection.execute(query if chunk is None else query.where(ENTITIES.c.ref.in_(chunk))):
            bodies[ref] = orjson.loads(body)
    wanted = list(bodies)
    relations = relations_from(connection, wanted)
    facts = latest_facts(connection, wanted if refs is not None else None)
    for ref, body in bodies.items():
        body["relations"] = [{"type": kind, "targetRef": target} for kind, target in relations.get(ref, [])]
        yield ref, FactDocument(body, facts.get(ref, {}), now)


def evaluate_entities(
    connection: Connection, scorecards: Sequence[Scorecard], refs: Sequence[str] | None, now: datetime
) -> Iterator[tuple[str, ScorecardResult]]:
    """Each applicable (entity ref, result), evaluated as of `now`."""
    exemptions = active_exemptions(connection, refs, now)
    for ref, document in fact_documents(connection, refs, _kinds(scorecards), now):
        for scorecard in scorecards:
            if applies(scorecard, document.entity):
                yield ref, evaluate(scorecard, document, exemptions.get((ref, scorecard.name)))


def _kinds(scorecards: Sequence[Scorecard]) -> list[str] | None:
    """The kinds any scorecard can apply to, or None when one takes every kind."""
    kinds: set[str] = set()
    for scorecard in scorecards:
        accepted = scorecard.scope.values.get("kind")
        if accepted is None:
            return None
        kinds |= accepted
    return sorted(kinds)


def store_results(
    connection: Connection, scorecards: Sequence[Scorecard], refs: Sequence[str] | None, now: datetime
) -> EvaluationSummary:
    """Re-evaluate (all entities, or `refs`) and replace their stored results; today's snapshot too.

    Results of scorecards no longer defined, and of entities a scorecard no longer applies to, go.
    """
    summary = EvaluationSummary()
    result_rows: list[dict[str, object]] = []
    history_rows: list[dict[str, object]] = []
    seen: set[str] = set()
    today = now.date()
    for ref, result in evaluate_entities(connection, scorecards, refs, now):
        seen.add(ref)
        areas = orjson.dumps({area.area.id: area.level.ordinal for area in result.areas}).decode()
        result_rows.append(
            {
                "entity_ref": ref,
                "scorecard": result.scorecard.name,
                "level": result.level.ordinal,
                "floor": result.floor.ordinal,
                "spread": result.spread,
                "lopsided": result.lopsided,
                "area_levels": areas,
                "statuses": orjson.dumps({r.check.id: r.status.value for r in result.checks}).decode(),
                "evaluated_at": now,
            }
        )
        history_rows.append(
            {
                "entity_ref": ref,
                "scorecard": result.scorecard.name,
                "day": today,
                "level": result.level.ordinal,
                "floor": result.floor.ordinal,
                "area_levels": areas,
            }
        )
    summary.entities, summary.results = len(seen), len(result_rows)
    names = [scorecard.name for scorecard in scorecards]
    if refs is None:
        connection.execute(sa.delete(RESULTS))
        connection.execute(sa.delete(HISTORY).where(HISTORY.c.day == today, HISTORY.c.scorecard.in_(names)))
    else:
        for start in range(0, len(refs), IN_CHUNK):
            chunk = refs[start : start + IN_CHUNK]
            connection.execute(sa.delete(RESULTS).where(RESULTS.c.entity_ref.in_(chunk)))
            connection.execute(sa.delete(HISTORY).where(HISTORY.c.day == today, HISTORY.c.entity_ref.in_(chunk)))
    if result_rows:
        connection.execute(sa.insert(RESULTS), result_rows)
        connection.execute(sa.insert(HISTORY), history_rows)
    return summary


@dataclass(frozen=True, slots=True)
class LevelPoint:
    """An entity's levels on one day."""

    day: date
    level: int
    floor: int
    area_levels: dict[str, int]


def level_history(
    connection: Connection, ref: str, scorecard: str, since: date | None = None, until: date | None = None
) -> list[LevelPoint]:
    """Daily snapshots of an entity on a scorecard, oldest first."""
    query = sa.select(HISTORY.c.day, HISTORY.c.level, HISTORY.c.floor, HISTORY.c.area_levels).where(
        HISTORY.c.entity_ref == ref, HISTORY.c.scorecard == scorecard
    )
    if since is not None:
        query = query.where(HISTORY.c.day >= since)
    if until is not None:
        query = query.where(HISTORY.c.day <= until)
    rows = connection.execute(query.order_by(HISTORY.c.day))
    return [LevelPoint(day, level, floor, orjson.loads(areas)) for day, level, floor, areas in rows]


def take_facts(connection: Connection, scorecards: Sequence[Scorecard], body: object, now: datetime) -> Submission:
    """Check and record a fact submission, then re-evaluate the entity's scorecards; FactError when refused."""
    submission = check_submission(body, now)
    record_facts(connection, submission, now)
    store_results(connection, scorecards, [submission.entity_ref], now)
    return submission
