"""Scorecard results over the catalogue: evaluate in bulk, store a row per (entity, scorecard) and a
daily snapshot, evaluate one entity live, read history.

Inputs are loaded set-based (entities, relations, facts, exemptions: a handful of queries however
many entities), rules run in Python, and results are written with one statement per table.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from catalog.driver import bound, insert_rows, scan
from catalog.memory import cyclic_gc_paused
from catalog.queries import IN_CHUNK, relations_among, relations_from
from catalog.tables import ENTITIES
from scorecards.definitions import Scorecard
from scorecards.dora import DORA_2024, Profile
from scorecards.dora_facts import namespaces
from scorecards.evaluate import Exemption, Levels, ScorecardResult, applies, evaluate, evaluate_levels
from scorecards.exemptions import active_exemptions
from scorecards.facts import Submission, check_submission, latest_facts, record_facts
from scorecards.rules import FactDocument
from scorecards.tables import HISTORY, RESULTS

T = TypeVar("T")


@dataclass
class EvaluationSummary:
    """What a bulk evaluation did."""

    entities: int = 0  # entities read
    results: int = 0  # (entity, scorecard) results stored


def fact_documents(
    connection: Connection,
    refs: Sequence[str] | None,
    kinds: Sequence[str] | None,
    now: datetime,
    dora_windows: Collection[int] = (),
    dora_profile: Profile = DORA_2024,
) -> Iterator[tuple[str, FactDocument]]:
    """(ref, FactDocument) per entity (all of `kinds`, or the `refs` given): relations both ways, latest
    facts, and the DORA keys over each of `dora_windows` (days), banded by `dora_profile`."""
    bodies: dict[str, dict[str, object]] = {}
    if refs is None:  # the whole catalogue: scans straight from the driver
        sql, params = "SELECT ref, body FROM entities", list(kinds or [])
        if kinds is not None:
            sql += f" WHERE kind IN ({', '.join('?' * len(params))})" if params else " WHERE 1 = 0"
        for ref, body in scan(connection, sql, [kind.lower() for kind in params]):
            bodies[ref] = orjson.loads(body)
        relations = relations_among(connection, bodies.keys())
    else:
        query = sa.select(ENTITIES.c.ref, ENTITIES.c.body)
        if kinds is not None:
            query = query.where(ENTITIES.c.kind.in_([kind.lower() for kind in kinds]))
        for start in range(0, len(refs), IN_CHUNK):
            for ref, body in connection.execute(query.where(ENTITIES.c.ref.in_(refs[start : start + IN_CHUNK]))):
                bodies[ref] = orjson.loads(body)
        relations = relations_from(connection, list(bodies))
    facts = latest_facts(connection, list(bodies) if refs is not None else None)
    dora = namespaces(connection, list(bodies) if refs is not None else None, dora_windows, now, dora_profile)
    for ref, body in bodies.items():
        body["relations"] = [{"type": kind, "targetRef": target} for kind, target in relations.get(ref, [])]
        yield ref, FactDocument(body, facts.get(ref, {}), now, dora.get(ref, {}))


def evaluate_entities(
    connection: Connection,
    scorecards: Sequence[Scorecard],
    refs: Sequence[str] | None,
    now: datetime,
    dora_profile: Profile = DORA_2024,
) -> Iterator[tuple[str, ScorecardResult]]:
    """Each applicable (entity ref, result with evidence), evaluated as of `now`."""
    return _each_applicable(connection, scorecards, refs, now, dora_profile, evaluate)


def score_entities(
    connection: Connection,
    scorecards: Sequence[Scorecard],
    refs: Sequence[str] | None,
    now: datetime,
    dora_profile: Profile = DORA_2024,
) -> Iterator[tuple[str, Scorecard, Levels]]:
    """Each applicable (entity ref, scorecard, levels), checks decided but not explained: for storing."""
    places = {card.name: card.check_places for card in scorecards}

    def judge(
        scorecard: Scorecard, document: FactDocument, exemptions: Mapping[str, Exemption] | None
    ) -> tuple[Scorecard, Levels]:
        return scorecard, evaluate_levels(scorecard, document, exemptions, places[scorecard.name])

    for ref, (scorecard, levels) in _each_applicable(connection, scorecards, refs, now, dora_profile, judge):
        yield ref, scorecard, levels


def _each_applicable(
    connection: Connection,
    scorecards: Sequence[Scorecard],
    refs: Sequence[str] | None,
    now: datetime,
    dora_profile: Profile,
    judge: Callable[[Scorecard, FactDocument, Mapping[str, Exemption] | None], T],
) -> Iterator[tuple[str, T]]:
    exemptions = active_exemptions(connection, refs, now)
    windows = dora_windows(scorecards)
    for ref, document in fact_documents(connection, refs, _kinds(scorecards), now, windows, dora_profile):
        for scorecard in scorecards:
            if applies(scorecard, document.entity):
                yield ref, judge(scorecard, document, exemptions.get((ref, scorecard.name)))


def dora_windows(scorecards: Sequence[Scorecard]) -> frozenset[int]:
    """The windows (days) over which any of the scorecards reads `dora.*` facts."""
    return frozenset().union(*(scorecard.dora_windows for scorecard in scorecards))


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
    connection: Connection,
    scorecards: Sequence[Scorecard],
    refs: Sequence[str] | None,
    now: datetime,
    dora_profile: Profile = DORA_2024,
) -> EvaluationSummary:
    """Re-evaluate (all entities, or `refs`) and replace their stored results; today's snapshot too.

    Results of scorecards no longer defined, and of entities a scorecard no longer applies to, go.
    """
    summary = EvaluationSummary()
    result_rows: list[tuple[object, ...]] = []
    history_rows: list[tuple[object, ...]] = []
    seen: set[str] = set()
    today = now.date()
    check_ids = {card.name: card.check_ids for card in scorecards}
    at, day = bound(connection, RESULTS.c.evaluated_at, now), bound(connection, HISTORY.c.day, today)
    with cyclic_gc_paused():
        for ref, scorecard, levels in score_entities(connection, scorecards, refs, now, dora_profile):
            seen.add(ref)
            areas = orjson.dumps(levels.area_levels).decode()
            statuses = orjson.dumps(dict(zip(check_ids[scorecard.name], levels.statuses, strict=True))).decode()
            result_rows.append(
                (ref, scorecard.name, levels.level, levels.floor, levels.spread, levels.lopsided, areas, statuses, at)
            )
            history_rows.append((ref, scorecard.name, day, levels.level, levels.floor, areas))
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
        for table, rows in ((RESULTS, result_rows), (HISTORY, history_rows)):
            insert_rows(connection, table.name, [column.name for column in table.columns], rows)
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


def rescore(
    connection: Connection,
    scorecards: Sequence[Scorecard],
    refs: Collection[str],
    now: datetime,
    dora_profile: Profile = DORA_2024,
) -> None:
    """Re-store the results of `refs` after their delivery events changed, when a scorecard reads `dora.*`."""
    if refs and dora_windows(scorecards):
        store_results(connection, scorecards, sorted(refs), now, dora_profile)


def take_facts(
    connection: Connection,
    scorecards: Sequence[Scorecard],
    body: object,
    now: datetime,
    dora_profile: Profile = DORA_2024,
) -> Submission:
    """Check and record a fact submission, then re-evaluate the entity's scorecards; FactError when refused."""
    submission = check_submission(body, now)
    record_facts(connection, submission, now)
    store_results(connection, scorecards, [submission.entity_ref], now, dora_profile)
    return submission
