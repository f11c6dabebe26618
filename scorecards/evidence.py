"""Evidence packs: what Stairway knows about one entity at one moment (descriptor, owner, lineage two
hops each way with each neighbour's level, risk tier, model cards, every check with its observed value
and fact times, exemptions, level history, DORA keys with their events), sealed and readable.

scorecards/evidence_seal.py seals a pack (digest, signature); scorecards/evidence_report.py renders it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Connection, Engine

from catalog.provenance import to_utc
from catalog.queries import IN_CHUNK, entities_by_ref
from catalog.refs import parse_ref
from catalog.relations import INVERSE
from catalog.tables import ENTITIES, RELATIONS
from scorecards.definitions import API_VERSION, KIND, Check, EntityScope, Level, Scorecard
from scorecards.dora import DEFAULT_WINDOW_DAYS, PRODUCTION, DoraKeys, Profile, bands, dora_keys, overall_band
from scorecards.evaluate import CheckResult, Exemption, applies, evaluate
from scorecards.evidence_seal import SCHEMA, canonical, instant, seal
from scorecards.exemptions import active_exemptions
from scorecards.paper_maturity import paper_maturity
from scorecards.results import dora_windows, fact_documents, level_history
from scorecards.rules import CheckStatus, FactDocument, parse_fact_path
from scorecards.tables import DEPLOYMENTS, INCIDENTS, RESULTS

RISK_TIER = "stairway.dev/risk-tier"
MODEL_CARD = "stairway.dev/model-card"
HOPS = 2
# Relations as seen from an entity that point at what it needs: what it declares in dependsOn, the APIs
# it consumes, and, from an API, the component that provides it. Their inverses point the other way.
UPSTREAM = ("dependsOn", "consumesApi", "apiProvidedBy")
DOWNSTREAM = tuple(INVERSE[relation] for relation in UPSTREAM)  # dependencyOf, apiConsumedBy, providesApi


class EntityNotFound(KeyError):
    """No entity with that ref in the catalogue."""

    def __init__(self, ref: str) -> None:
        super().__init__(ref)
        self.ref = ref

    def __str__(self) -> str:
        return f"no entity {self.ref} in the catalogue"


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose reads all see one moment of the database, so a pack never mixes two states.

    SQLite reads inside the one transaction the engine begins; PostgreSQL needs REPEATABLE READ for that.
    """
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ")
        yield connection


class Delivery(NamedTuple):
    """The entity's DORA keys over the pack's window (None: no events), and the profile that bands them."""

    keys: DoraKeys | None
    profile: Profile
    window_days: int


def build_pack(
    connection: Connection,
    scorecards: Sequence[Scorecard],
    ref: str,
    now: datetime,
    dora_profile: Profile,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> dict[str, Any]:
    """The unsealed pack for the entity `ref` (any form parse_ref takes), as of `now`; EntityNotFound."""
    ref = parse_ref(ref).ref
    stored = entities_by_ref(connection, [ref]).get(ref) if "\x00" not in ref else None  # PostgreSQL refuses NUL
    if stored is None:
        raise EntityNotFound(ref)
    body, now = stored.body, to_utc(now)
    _ref, document = next(fact_documents(connection, [ref], None, now, dora_windows(scorecards), dora_profile))
    exempted = active_exemptions(connection, [ref], now)
    delivery = Delivery(dora_keys(connection, [ref], now, window_days).get(ref), dora_profile, window_days)
    since = (now - timedelta(days=window_days)).date()
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    return {
        "schema": SCHEMA,
        "generatedAt": instant(now),
        "entity": {
            "ref": ref,
            "kind": body.get("kind"),
            "descriptor": body,
            "location": stored.location,
            "updatedAt": instant(stored.updated_at),
        },
        "owner": _owner(connection, stored.owner_ref),
        "lineage": _lineage(connection, scorecards, ref),
        "riskTier": annotations.get(RISK_TIER),
        "modelCards": _listed(annotations.get(MODEL_CARD)),
        "scorecards": [
            _scorecard(connection, card, ref, document, exempted.get((ref, card.name), {}), since, delivery)
            for card in scorecards
            if applies(card, body)
        ],
        "dora": _dora(connection, ref, now, delivery),
    }


def _listed(value: object) -> list[str]:
    """An annotation's values: annotations are strings, so several are written comma-separated."""
    if not isinstance(value, str):
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


def _owner(connection: Connection, owner_ref: str | None) -> dict[str, Any] | None:
    if owner_ref is None:
        return None
    found = entities_by_ref(connection, [owner_ref]).get(owner_ref)
    title = (found.body.get("metadata") or {}).get("title") if found else None
    return {"ref": owner_ref, "title": title, "inCatalogue": found is not None}


# --- lineage ------------------------------------------------------------------------------------


def _lineage(connection: Connection, scorecards: Sequence[Scorecard], ref: str) -> dict[str, list[dict[str, Any]]]:
    """What the entity depends on and what depends on it, two hops each way, with each one's stored levels."""
    upstream, downstream = _reach(connection, ref, UPSTREAM), _reach(connection, ref, DOWNSTREAM)
    refs = sorted(set(upstream) | set(downstream))
    known = _existing(connection, refs)
    levels = _stored_levels(connection, refs, [card.name for card in scorecards])

    def items(reached: Mapping[str, tuple[int, str, str | None]]) -> list[dict[str, Any]]:
        return [
            {
                "ref": other,
                "hops": hops,
                "via": via,
                "through": through,
                "inCatalogue": other in known,
                "levels": {card.name: levels.get((other, card.name)) for card in scorecards},
            }
            for other, (hops, via, through) in sorted(reached.items(), key=lambda item: (item[1][0], item[0]))
        ]

    return {"dependsOn": items(upstream), "dependedOnBy": items(downstream)}


def _reach(connection: Connection, ref: str, seen_as: Sequence[str]) -> dict[str, tuple[int, str, str | None]]:
    """Each entity up to HOPS relations of `seen_as` away: (hops, the relation that reached it, and the
    entity it was reached through, for two hops; the first in ref order when several lead there)."""
    reached: dict[str, tuple[int, str, str | None]] = {}
    frontier = [ref]
    for hop in range(1, HOPS + 1):
        following = []
        for origin, relation, other in sorted(_neighbours(connection, frontier, seen_as)):
            if other != ref and other not in reached:
                reached[other] = (hop, relation, origin if hop > 1 else None)
                following.append(other)
        frontier = following
    return reached


def _neighbours(connection: Connection, refs: Sequence[str], seen_as: Sequence[str]) -> set[tuple[str, str, str]]:
    """(ref, relation as the ref sees it, other) for the relations of `seen_as` of each ref: the rows a
    ref declares, and the rows others declare whose inverse is one of them."""
    found: set[tuple[str, str, str]] = set()
    inverses = [INVERSE[relation] for relation in seen_as]
    r = RELATIONS.c
    for chunk in _chunks(refs):
        outgoing = sa.select(r.source_ref, r.type, r.target_ref).where(r.source_ref.in_(chunk), r.type.in_(seen_as))
        for source, relation, target in connection.execute(outgoing):
            found.add((source, relation, target))
        incoming = sa.select(r.target_ref, r.type, r.source_ref).where(r.target_ref.in_(chunk), r.type.in_(inverses))
        for target, relation, source in connection.execute(incoming):
            found.add((target, INVERSE[relation], source))
    return found


def _existing(connection: Connection, refs: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(refs):
        found.update(connection.execute(sa.select(ENTITIES.c.ref).where(ENTITIES.c.ref.in_(chunk))).scalars())
    return found


def _stored_levels(connection: Connection, refs: Sequence[str], names: Sequence[str]) -> dict[tuple[str, str], int]:
    """The stored level of each (ref, scorecard): what the last evaluation of each neighbour found."""
    found: dict[tuple[str, str], int] = {}
    query = sa.select(RESULTS.c.entity_ref, RESULTS.c.scorecard, RESULTS.c.level)
    for chunk in _chunks(refs):
        rows = connection.execute(query.where(RESULTS.c.entity_ref.in_(chunk), RESULTS.c.scorecard.in_(names)))
        found.update({(ref, name): level for ref, name, level in rows})
    return found


def _chunks(refs: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(refs), IN_CHUNK):
        yield refs[start : start + IN_CHUNK]


# --- scorecards ---------------------------------------------------------------------------------


def _scorecard(
    connection: Connection,
    card: Scorecard,
    ref: str,
    document: FactDocument,
    exempted: Mapping[str, Exemption],
    since: date,
    delivery: Delivery,
) -> dict[str, Any]:
    """One scorecard's evidence, evaluated live as of the document's moment."""
    result = evaluate(card, document, exempted)
    history = level_history(connection, ref, card.name, since=since)
    paper = paper_maturity(result.level, delivery.keys, delivery.profile, delivery.window_days)
    return {
        "name": card.name,
        "title": card.title,
        "definition": {"apiVersion": API_VERSION, "digest": definition_digest(card)},
        "level": _level(result.level),
        "floor": result.floor.ordinal,
        "areas": {area.area.id: area.level.ordinal for area in result.areas if area.applicable},
        "lopsided": result.lopsided,
        "checks": [_check(found, document) for found in result.checks],
        "exemptions": [
            {
                "check": exemption.check,
                "reason": exemption.reason,
                "createdBy": exemption.created_by,
                "createdAt": instant(exemption.created_at) if exemption.created_at else None,
                "expiresAt": instant(exemption.expires_at),
            }
            for exemption in sorted(exempted.values(), key=lambda one: one.check)
        ],
        "history": [{"day": point.day.isoformat(), "level": point.level} for point in history],
        "paperMaturity": None if paper is None else {"band": paper.band.value, "reason": paper.reason},
    }


def _level(level: Level) -> dict[str, Any]:
    return {"ordinal": level.ordinal, "id": level.id, "title": level.title}


def _check(found: CheckResult, document: FactDocument) -> dict[str, Any]:
    check = found.check
    times: dict[str, str | None] = {}
    if found.status is not CheckStatus.NOT_APPLICABLE:
        for source, name in _facts_read(check.definition):
            fact = document.facts.get(source, {}).get(name)
            times[f"facts.{source}.{name}"] = instant(fact.observed_at) if fact else None
    return {
        "id": check.id,
        "title": check.title,
        "level": check.level.id,
        "area": check.area.id,
        "status": found.status.value,
        "observed": found.observed,
        "message": found.message,
        "factTimestamps": times,
    }


def _facts_read(rule: object) -> Iterator[tuple[str, str]]:
    """(source, name) of each reported fact a rule definition reads."""
    if isinstance(rule, Mapping):
        if "fact" in rule:
            path = parse_fact_path(rule["fact"])  # the definition compiled: the path is valid
            if path[0] == "facts":
                yield path[1], path[2]
        for key in ("all", "any"):
            for child in rule.get(key) or ():
                yield from _facts_read(child)
        if "not" in rule:
            yield from _facts_read(rule["not"])


def definition_digest(card: Scorecard) -> str:
    """`sha256:<hex>` of the definition as Stairway read it (canonical JSON): the same for two files that
    differ only in layout or comments, different when any level, area, check or rule differs."""
    return "sha256:" + hashlib.sha256(canonical(_definition(card))).hexdigest()


def _definition(card: Scorecard) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": card.name, "title": card.title, "description": card.description},
        "spec": {
            "filter": _scope(card.scope),
            "levels": [{"id": level.id, "title": level.title} for level in card.levels],
            "areas": [{"id": area.id, "title": area.title} for area in card.areas],
            "lopsidedThreshold": card.lopsided_threshold,
            "checks": [_check_definition(check) for check in card.checks],
        },
    }


def _check_definition(check: Check) -> dict[str, Any]:
    return {
        "id": check.id,
        "title": check.title,
        "level": check.level.id,
        "area": check.area.id,
        "rule": check.definition,
        "remediation": check.remediation,
        "description": check.description,
        "filter": _scope(check.scope) if check.scope else None,
        "links": [{"url": link.url, "title": link.title} for link in check.links],
    }


def _scope(scope: EntityScope) -> dict[str, list[str]]:
    return {key: sorted(values) for key, values in scope.values.items()}


# --- DORA ---------------------------------------------------------------------------------------


def _dora(connection: Connection, ref: str, now: datetime, delivery: Delivery) -> dict[str, Any]:
    keys, profile, window_days = delivery.keys or DoraKeys(), delivery.profile, delivery.window_days
    found = bands(keys, profile)
    return {
        "deployments": keys.deployments,
        "failures": keys.failures,
        "deploymentsPerWeek": keys.deployments_per_week,
        "leadTimeHours": keys.lead_time_hours,
        "changeFailureRate": keys.change_failure_rate,
        "recoveryHours": keys.recovery_hours,
        "bands": {name: band.value for name, band in found.by_name().items()},
        "band": overall_band(found).value,
        "profile": profile.name,
        "windowDays": window_days,
        "events": _event_counts(connection, ref, now, window_days),
    }


def _event_counts(connection: Connection, ref: str, now: datetime, window_days: int) -> dict[str, Any]:
    """The events behind the keys: production deployments finished, and incidents opened, in the window
    (the window's bounds as the keys take them: after its start, up to and including `now`)."""
    start = now - timedelta(days=window_days)
    d, i = DEPLOYMENTS.c, INCIDENTS.c
    deployments = (
        sa.select(sa.func.count())
        .where(d.entity_ref == ref, d.environment == PRODUCTION, d.finished_at > start, d.finished_at <= now)
        .scalar_subquery()
    )
    incidents = (
        sa.select(sa.func.count()).where(i.entity_ref == ref, i.opened_at > start, i.opened_at <= now).scalar_subquery()
    )
    counted, opened = connection.execute(sa.select(deployments, incidents)).one()
    return {"environment": PRODUCTION, "deployments": int(counted), "incidents": int(opened)}


# --- sealing ------------------------------------------------------------------------------------


def sealed_pack(
    engine: Engine,
    scorecards: Sequence[Scorecard],
    ref: str,
    now: datetime,
    dora_profile: Profile,
    signing_key: Ed25519PrivateKey | None,
) -> dict[str, Any]:
    """A pack built from one snapshot of the database, sealed (and signed, given a key)."""
    with snapshot(engine) as connection:
        pack = build_pack(connection, scorecards, ref, now, dora_profile)
    return seal(pack, signing_key)
