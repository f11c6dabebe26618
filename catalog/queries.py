"""Read-side queries over the catalogue: filtered keyset pages, lookups by ref, relations, errors."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from catalog.driver import scan
from catalog.refs import parse_ref
from catalog.relations import INVERSE
from catalog.tables import ENTITIES, PROCESSING_ERRORS, RELATIONS, TAGS

# SQLite allows 32,766 bound parameters; stay well below for IN lists.
IN_CHUNK = 900


@dataclass(frozen=True)
class EntityFilter:
    """Which entities to list; every field optional, all given fields must match (case-insensitive)."""

    kind: Sequence[str] | None = None
    namespace: str | None = None
    type: Sequence[str] | None = None
    lifecycle: Sequence[str] | None = None
    owner: str | None = None
    system: str | None = None
    domain: str | None = None
    tag: str | None = None
    search: str | None = None


@dataclass(frozen=True)
class StoredEntity:
    """An entity as read back: its columns and the decoded descriptor."""

    uid: str
    ref: str
    body: dict[str, Any]
    owner_ref: str | None
    system_ref: str | None
    location: str
    line: int | None
    first_seen_at: datetime
    updated_at: datetime


_ENTITY_COLUMNS = (
    ENTITIES.c.uid,
    ENTITIES.c.ref,
    ENTITIES.c.body,
    ENTITIES.c.owner_ref,
    ENTITIES.c.system_ref,
    ENTITIES.c.location,
    ENTITIES.c.line,
    ENTITIES.c.first_seen_at,
    ENTITIES.c.updated_at,
)


def _stored(row: Sequence[Any]) -> StoredEntity:
    uid, ref, body, owner_ref, system_ref, location, line, first_seen, updated = row
    return StoredEntity(
        uid, ref, orjson.loads(body), owner_ref, system_ref, location, line, aware(first_seen), aware(updated)
    )


def aware(moment: datetime) -> datetime:
    """The moment as UTC-aware."""
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def filter_conditions(entity_filter: EntityFilter | None) -> list[sa.ColumnElement[bool]]:
    """SQL conditions on the entities table for a filter."""
    if entity_filter is None:
        return []
    f = entity_filter
    where: list[sa.ColumnElement[bool]] = []
    if f.kind:
        where.append(ENTITIES.c.kind.in_([k.lower() for k in f.kind]))
    if f.namespace:
        where.append(ENTITIES.c.namespace == f.namespace.lower())
    if f.type:
        where.append(ENTITIES.c.type.in_([t.lower() for t in f.type]))
    if f.lifecycle:
        where.append(ENTITIES.c.lifecycle.in_([lc.lower() for lc in f.lifecycle]))
    if f.owner:
        where.append(ENTITIES.c.owner_ref == parse_ref(f.owner, default_kind="group").ref)
    if f.system:
        where.append(ENTITIES.c.system_ref == parse_ref(f.system, default_kind="system").ref)
    if f.domain:
        # Entities of the domain's systems, and those systems themselves.
        membership = system_domains().subquery()
        domain = parse_ref(f.domain, default_kind="domain").ref
        systems = sa.select(membership.c.source_ref).where(membership.c.target_ref == domain)
        where.append(sa.or_(ENTITIES.c.system_ref.in_(systems), ENTITIES.c.ref.in_(systems)))
    if f.tag:
        tagged = sa.select(TAGS.c.entity_ref).where(TAGS.c.tag == f.tag.lower())
        where.append(ENTITIES.c.ref.in_(tagged))
    if f.search:
        pattern = "%" + f.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(
            sa.or_(
                ENTITIES.c.name.ilike(pattern, escape="\\"),
                ENTITIES.c.title.ilike(pattern, escape="\\"),
                ENTITIES.c.description.ilike(pattern, escape="\\"),
            )
        )
    return where


def system_domains() -> sa.Select[str, str]:
    """(system ref, domain ref) of each System in a domain (its `spec.domain`, stored as partOf)."""
    relation = RELATIONS
    systems = sa.select(ENTITIES.c.ref).where(ENTITIES.c.kind == "system")
    return sa.select(relation.c.source_ref, relation.c.target_ref).where(
        relation.c.source_ref.in_(systems), relation.c.type == "partOf", relation.c.target_ref.like("domain:%")
    )


def count_where(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    """SQL that counts the rows of a group for which `condition` holds."""
    return sa.func.sum(sa.case((condition, 1), else_=0))


def entity_page(
    connection: Connection, entity_filter: EntityFilter | None, after: str | None, limit: int
) -> tuple[list[StoredEntity], bool]:
    """Up to `limit` entities after the ref `after`, in ref order, and whether more follow."""
    query = sa.select(*_ENTITY_COLUMNS).where(*filter_conditions(entity_filter))
    if after is not None:
        query = query.where(ENTITIES.c.ref > after)
    rows = connection.execute(query.order_by(ENTITIES.c.ref).limit(limit + 1)).all()
    return [_stored(row) for row in rows[:limit]], len(rows) > limit


def entity_count(connection: Connection, entity_filter: EntityFilter | None) -> int:
    """How many entities match the filter."""
    query = sa.select(sa.func.count()).select_from(ENTITIES).where(*filter_conditions(entity_filter))
    return int(connection.execute(query).scalar_one())


def entities_by_ref(connection: Connection, refs: Sequence[str]) -> dict[str, StoredEntity]:
    """The stored entities among `refs`, keyed by ref, in one query per chunk of refs."""
    found: dict[str, StoredEntity] = {}
    for start in range(0, len(refs), IN_CHUNK):
        chunk = refs[start : start + IN_CHUNK]
        for row in connection.execute(sa.select(*_ENTITY_COLUMNS).where(ENTITIES.c.ref.in_(chunk))):
            entity = _stored(row)
            found[entity.ref] = entity
    return found


def relations_from(connection: Connection, refs: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """Each ref's relations in both directions as (type, other ref), sorted, without repeats.

    A row `a --ownedBy--> b` is a's `ownedBy b` and b's `ownerOf a`.
    """
    found: dict[str, set[tuple[str, str]]] = {ref: set() for ref in refs}
    relation = RELATIONS
    for start in range(0, len(refs), IN_CHUNK):
        chunk = refs[start : start + IN_CHUNK]
        outgoing = sa.select(sa.literal(True), relation.c.source_ref, relation.c.type, relation.c.target_ref).where(
            relation.c.source_ref.in_(chunk)
        )
        incoming = sa.select(sa.literal(False), relation.c.target_ref, relation.c.type, relation.c.source_ref).where(
            relation.c.target_ref.in_(chunk)
        )
        for forward, ref, relation_type, other in connection.execute(sa.union_all(outgoing, incoming)):
            found[ref].add((relation_type if forward else INVERSE[relation_type], other))
    return {ref: sorted(pairs) for ref, pairs in found.items()}


def relations_among(connection: Connection, refs: Collection[str]) -> dict[str, list[tuple[str, str]]]:
    """Like `relations_from`, for a large share of the catalogue: one scan of the relations table."""
    found: dict[str, set[tuple[str, str]]] = {ref: set() for ref in refs}
    for source_ref, relation_type, target_ref in scan(connection, "SELECT source_ref, type, target_ref FROM relations"):
        if source_ref in found:
            found[source_ref].add((relation_type, target_ref))
        if target_ref in found:
            found[target_ref].add((INVERSE[relation_type], source_ref))
    return {ref: sorted(pairs) for ref, pairs in found.items()}


def timestamp(value: datetime | str) -> datetime:
    """A timestamp column's value as UTC-aware, as SQLAlchemy or the raw driver returns it."""
    return aware(datetime.fromisoformat(value) if isinstance(value, str) else value)


@dataclass(frozen=True)
class StoredError:
    """A processing error or warning as read back."""

    id: int
    source: str
    location: str
    line: int | None
    entity_ref: str | None
    severity: str
    code: str
    message: str
    created_at: datetime


def error_page(
    connection: Connection, after: int | None, limit: int, severity: str | None = None, source: str | None = None
) -> tuple[list[StoredError], bool]:
    """Processing errors in the order they were recorded, after the id `after`."""
    query = sa.select(
        PROCESSING_ERRORS.c.id,
        PROCESSING_ERRORS.c.source,
        PROCESSING_ERRORS.c.location,
        PROCESSING_ERRORS.c.line,
        PROCESSING_ERRORS.c.entity_ref,
        PROCESSING_ERRORS.c.severity,
        PROCESSING_ERRORS.c.code,
        PROCESSING_ERRORS.c.message,
        PROCESSING_ERRORS.c.created_at,
    ).where(*_error_conditions(severity, source))
    if after is not None:
        query = query.where(PROCESSING_ERRORS.c.id > after)
    rows = connection.execute(query.order_by(PROCESSING_ERRORS.c.id).limit(limit + 1)).all()
    errors = [StoredError(*row[:8], aware(row[8])) for row in rows[:limit]]
    return errors, len(rows) > limit


def error_count(connection: Connection, severity: str | None = None, source: str | None = None) -> int:
    """How many processing errors match."""
    query = sa.select(sa.func.count()).select_from(PROCESSING_ERRORS).where(*_error_conditions(severity, source))
    return int(connection.execute(query).scalar_one())


def _error_conditions(severity: str | None, source: str | None) -> list[sa.ColumnElement[bool]]:
    where = []
    if severity:
        where.append(PROCESSING_ERRORS.c.severity == severity.lower())
    if source:
        where.append(PROCESSING_ERRORS.c.source == source)
    return where
