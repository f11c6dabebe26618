"""Writing one source's processed files into the database: set-based upserts, diffs and orphans.

The writer keeps only compact per-entity state (ref, id, location, hash) in memory, never the
bodies, and writes nothing for an entity or file that did not change.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from catalog.columns import MAX_REF
from catalog.driver import binder, execute_many, insert_rows
from catalog.locations import location_path, location_string
from catalog.locks import take_lock
from catalog.processing import (
    DUPLICATE_ENTITY,
    ERROR,
    UNREADABLE_FILE,
    UNRESOLVED_RELATION,
    WARNING,
    YAML_ERROR,
    EntityRow,
    FileResult,
    Problem,
)
from catalog.tables import ENTITIES, PROCESSING_ERRORS, RELATIONS, SOURCE_FILES, TAGS

BATCH = 1000
INCREMENTAL_WARNINGS = 5000  # changed refs up to which unresolved-relation warnings are redone piecemeal
UNREADABLE = (UNREADABLE_FILE, YAML_ERROR)


T = TypeVar("T")


class KnownEntity(NamedTuple):
    id: int
    source: str
    location: str
    content_hash: str
    line: int | None


class KnownFile(NamedTuple):
    content_hash: str
    targets: list[str]
    read_again: bool


@dataclass
class WriteSummary:
    """What one source's ingest changed."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    errors: int = 0
    warnings: int = 0
    files: int = 0


_ENTITY_COLUMNS = (
    "ref",
    "kind",
    "namespace",
    "name",
    "title",
    "description",
    "type",
    "lifecycle",
    "owner_ref",
    "system_ref",
    "body",
    "content_hash",
    "source",
    "location",
    "line",
    "template_ref",
    "template_version",
    "created_at",
    "updated_at",
)


@dataclass
class _Pending:
    inserts: list[tuple[object, ...]] = field(default_factory=list)
    updates: list[tuple[object, ...]] = field(default_factory=list)
    relations: list[tuple[object, ...]] = field(default_factory=list)
    tags: list[tuple[object, ...]] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)  # refs whose relations and tags are rewritten


def _ordered_uid() -> str:
    """A UUIDv7-style id: the time leads, so bulk inserts append to the uid index; 74 random bits follow."""
    millis = time.time_ns() // 1_000_000
    random_bits = _random.getrandbits(74)
    high, low = random_bits >> 62, random_bits & ((1 << 62) - 1)
    text = f"{millis:012x}7{high:03x}{(0b10 << 62 | low):016x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


# Seeded from the OS once; ids need uniqueness, not secrecy, and urandom per row costs seconds.
_random = random.Random(os.urandom(16))


def catalogue_is_empty(connection: Connection) -> bool:
    """Whether no source has stored an entity yet: the next ingest is a first, bulk load."""
    return connection.execute(sa.select(ENTITIES.c.id).limit(1)).first() is None


class CatalogWriter:
    """Applies a source's file results inside one transaction on `connection`."""

    def __init__(self, connection: Connection, source: str, now: datetime) -> None:
        self.connection = connection
        self.source = source
        self.now = now
        self.summary = WriteSummary()
        self._bind_time = binder(connection, ENTITIES.c.updated_at)  # for the driver-level writes
        self._now_param = self._bind_time(now)
        self._pending = _Pending()
        self._claimed: dict[str, str] = {}  # ref -> location that provides it in this run
        self._contenders: dict[str, list[tuple[str, EntityRow]]] = {}
        self._problems: dict[str, list[Problem]] = {}  # location -> problems found in this run
        self._file_rows: dict[str, tuple[str, str]] = {}  # path -> content hash, targets as JSON
        self._seen_files: set[str] = set()
        self._volatile: set[str] = set()  # files read with placeholders: read again next time
        # Refs added, rewritten or removed, while few: unresolved-relation warnings are then redone for
        # them and their neighbours only; None once there are too many to be worth it.
        self._changed_refs: set[str] | None = set()
        self._existing: dict[str, KnownEntity] = {}
        self._refs_by_location: dict[str, list[str]] = {}
        self._files: dict[str, KnownFile] = {}
        self._load()
        # Only on SQLite: PostgreSQL's DROP INDEX would lock readers out until the ingest commits.
        # Decided now, done at the first full batch: until the writer writes, it takes no write lock
        # (a remote source may wait on its upstream for minutes, and fail, without blocking others).
        self._bulk_load = not self._existing and connection.dialect.name == "sqlite"
        self._deferred_indexes: list[sa.Index] = []

    def _load(self) -> None:
        entities = sa.select(
            ENTITIES.c.ref,
            ENTITIES.c.id,
            ENTITIES.c.source,
            ENTITIES.c.location,
            ENTITIES.c.content_hash,
            ENTITIES.c.line,
        )
        for ref, *rest in self.connection.execute(entities):
            stored = KnownEntity(*rest)
            self._existing[ref] = stored
            if stored.source == self.source:
                self._refs_by_location.setdefault(stored.location, []).append(ref)
        files = sa.select(
            SOURCE_FILES.c.path, SOURCE_FILES.c.content_hash, SOURCE_FILES.c.targets, SOURCE_FILES.c.read_again
        ).where(SOURCE_FILES.c.source == self.source)
        for path, content_hash, targets, read_again in self.connection.execute(files):
            self._files[path] = KnownFile(content_hash, orjson.loads(targets), bool(read_again))

    def _defer_indexes(self) -> list[sa.Index]:
        """Into an empty catalogue, build the secondary indexes once at the end: sorting all keys
        once is several times cheaper than growing each B-tree row by row. Unique ones stay."""
        indexes = [index for table in (ENTITIES, RELATIONS, TAGS) for index in table.indexes if not index.unique]
        for index in indexes:
            index.drop(self.connection)
        return indexes

    def known_hash(self, path: str) -> str | None:
        """The hash to skip `path` by, or None when it must be read again (new, or had errors)."""
        stored = self._files.get(path)
        return stored.content_hash if stored and not stored.read_again else None

    def would_empty(self) -> int:
        """How many entities the source holds that this run would all remove (nothing read provides
        any); 0 when it provides at least one, or held none."""
        if self._claimed or self._contenders:
            return 0
        return sum(len(refs) for refs in self._refs_by_location.values())

    def stored_files(self) -> list[str]:
        """Every file the source read last time."""
        return list(self._files)

    def stored_targets(self, path: str) -> list[str]:
        """The Location targets an unchanged file declared when it was last read."""
        stored = self._files.get(path)
        return stored.targets if stored else []

    def keep_files(self, keep: Callable[[str], bool]) -> list[str]:
        """Keep what the chosen files provided last time, as if read again unchanged (a refresh of part
        of a source, such as the one repository a push changed); the paths kept."""
        kept = [path for path in self._files if path not in self._seen_files and keep(path)]
        for path in kept:
            self.apply(FileResult(path, self._files[path].content_hash, unchanged=True))
        return kept

    def add_problems(self, path: str, problems: Iterable[Problem]) -> None:
        """Attach problems found outside the file itself (e.g. while expanding its targets)."""
        self._problems.setdefault(location_string(path), []).extend(problems)

    def apply(self, result: FileResult) -> None:
        """Record what one file yielded."""
        location = location_string(result.path)
        self._seen_files.add(result.path)
        self.summary.files += 1
        if result.unchanged:
            self._keep(location)
            return
        problems = self._problems.setdefault(location, [])
        problems.extend(result.problems)
        if result.volatile:
            self._volatile.add(result.path)
        stored = self._files.get(result.path)
        unreadable = any(problem.code in UNREADABLE for problem in result.problems)
        if unreadable and stored is not None:
            # Not read whole: as its entities (its Locations among them) stay, so do the files they led
            # to, followed and recorded with its targets while it stays unreadable.
            result.targets = list(dict.fromkeys([*result.targets, *stored.targets]))
        if not result.content_hash and stored is not None:
            # Not read at all (e.g. its upstream failed): what it held last time stands, to be read again.
            self._file_rows[result.path] = (stored.content_hash, orjson.dumps(stored.targets).decode())
        elif stored is None or stored.content_hash != result.content_hash or stored.targets != result.targets:
            self._file_rows[result.path] = (result.content_hash, orjson.dumps(result.targets).decode())
        for entity in result.entities:
            self._claim(entity, location, problems)
        if unreadable:
            # The file could not be read whole (a YAML syntax error, an I/O error): what it provided
            # before stays, with its uid and firstSeenAt, until it reads cleanly again, as in Backstage.
            self._keep(location)

    def _keep(self, location: str) -> None:
        """Keep the entities a location provided last time that nothing else has claimed."""
        for ref in self._refs_by_location.get(location, ()):
            if ref not in self._claimed:
                self._claimed[ref] = location
                self.summary.unchanged += 1

    def _claim(self, entity: EntityRow, location: str, problems: list[Problem]) -> None:
        ref = entity.ref
        holder = self._claimed.get(ref)
        if holder is not None:
            problems.append(
                _duplicate(ref, "earlier in this file" if holder == location else f"by {holder}", entity.line)
            )
            return
        existing = self._existing.get(ref)
        if existing is not None and existing.source != self.source:
            where = f"by source {existing.source!r} at {existing.location}"
            problems.append(_duplicate(ref, where, entity.line))
            return
        if existing is not None and existing.location != location:
            # The location that holds it keeps it if it still provides it; decided in finish().
            self._contenders.setdefault(ref, []).append((location, entity))
            return
        self._claimed[ref] = location
        self._write(entity, location, existing)

    def _write(self, entity: EntityRow, location: str, existing: KnownEntity | None) -> None:
        pending = self._pending
        if existing is not None and (existing.content_hash, existing.location, existing.line) == (
            entity.content_hash,
            location,
            entity.line,
        ):
            self.summary.unchanged += 1
            return
        columns = (
            entity.ref,
            entity.kind.lower(),
            entity.namespace.lower(),
            entity.name.lower(),
            entity.title,
            entity.description,
            _lower(entity.type),
            _lower(entity.lifecycle),
            entity.owner_ref,
            entity.system_ref,
            entity.body.decode(),
            entity.content_hash,
            self.source,
            location,
            entity.line,
            entity.template_ref,
            entity.template_version,
            None if entity.created_at is None else self._bind_time(entity.created_at),
            self._now_param,
        )
        if existing is None:
            pending.inserts.append((*columns, entity.uid or _ordered_uid(), self._now_param))
            self.summary.added += 1
        else:
            pending.updates.append((*columns, existing.id))
            pending.replaced.append(entity.ref)
            self.summary.updated += 1
        ref = entity.ref
        self._note_change(ref)
        pending.relations.extend((ref, relation, target) for relation, target in entity.relations)
        pending.tags.extend((ref, tag.lower()) for tag in entity.tags)
        if len(pending.inserts) + len(pending.updates) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        pending, self._pending = self._pending, _Pending()
        if self._bulk_load and len(pending.inserts) >= BATCH:
            self._bulk_load = False
            self._deferred_indexes = self._defer_indexes()
        self._delete_side_rows(pending.replaced)
        insert_rows(self.connection, "entities", (*_ENTITY_COLUMNS, "uid", "first_seen_at"), pending.inserts)
        assignments = ", ".join(f"{column} = ?" for column in _ENTITY_COLUMNS)
        execute_many(self.connection, f"UPDATE entities SET {assignments} WHERE id = ?", pending.updates)
        insert_rows(self.connection, "relations", ("source_ref", "type", "target_ref"), pending.relations)
        insert_rows(self.connection, "entity_tags", ("entity_ref", "tag"), pending.tags)

    def _delete_side_rows(self, refs: list[str]) -> None:
        """Remove the relations and tags these entities declared (before rewriting or removing them)."""
        for chunk in _chunks(refs, 500):
            self.connection.execute(sa.delete(RELATIONS).where(RELATIONS.c.source_ref.in_(chunk)))
            self.connection.execute(sa.delete(TAGS).where(TAGS.c.entity_ref.in_(chunk)))

    def finish(self) -> WriteSummary:
        """Settle contested refs, remove what this source no longer provides, write errors."""
        # Processing errors span sources (unresolved-relation warnings): one finish at a time writes
        # them, so that two refreshes on PostgreSQL neither deadlock on their rows nor both insert.
        take_lock(self.connection, "processing-errors")
        self._settle_contenders()
        self._flush()
        for index in self._deferred_indexes:
            index.create(self.connection)
        self._remove_orphans()
        self._write_problems()
        self._write_source_files()
        changed = self.summary.added or self.summary.updated or self.summary.removed
        if changed:
            self._refresh_unresolved_warnings()
        self.summary.errors, self.summary.warnings = self._count_problems()
        return self.summary

    def _write_source_files(self) -> None:
        """Record the hash and targets of every file read anew, and whether it must be read again."""
        new: list[tuple[object, ...]] = []
        changed: list[tuple[object, ...]] = []
        for path, (content_hash, targets) in self._file_rows.items():
            read_again = path in self._volatile or _has_errors(self._problems.get(location_string(path), ()))
            if path in self._files:
                changed.append((content_hash, targets, read_again, self.source, path))
            else:
                new.append((self.source, path, content_hash, targets, read_again))
        insert_rows(self.connection, "source_files", ("source", "path", "content_hash", "targets", "read_again"), new)
        execute_many(
            self.connection,
            "UPDATE source_files SET content_hash = ?, targets = ?, read_again = ? WHERE source = ? AND path = ?",
            changed,
        )

    def _settle_contenders(self) -> None:
        for ref, contenders in self._contenders.items():
            holder = self._claimed.get(ref)
            for location, entity in contenders:
                if holder is None:
                    holder = self._claimed[ref] = location
                    self._write(entity, location, self._existing[ref])
                else:
                    self._problems.setdefault(location, []).append(_duplicate(ref, f"by {holder}", entity.line))

    def _remove_orphans(self) -> None:
        gone = [
            ref for ref, stored in self._existing.items() if stored.source == self.source and ref not in self._claimed
        ]
        self.summary.removed = len(gone)
        for ref in gone:
            self._note_change(ref)
        self._delete_side_rows(gone)
        for chunk in _chunks(gone, 500):
            self.connection.execute(sa.delete(ENTITIES).where(ENTITIES.c.ref.in_(chunk)))
        vanished = [path for path in self._files if path not in self._seen_files]
        for chunk in _chunks(vanished, 500):
            self.connection.execute(
                sa.delete(SOURCE_FILES).where(SOURCE_FILES.c.source == self.source, SOURCE_FILES.c.path.in_(chunk))
            )
            self.connection.execute(
                sa.delete(PROCESSING_ERRORS).where(
                    PROCESSING_ERRORS.c.source == self.source,
                    PROCESSING_ERRORS.c.location.in_([location_string(path) for path in chunk]),
                )
            )

    def _write_problems(self) -> None:
        """Replace the problems of every location read in this run, when they differ from what is stored.

        Unresolved-relation warnings are not a file's own: `_refresh_unresolved_warnings` keeps them.
        """
        if not self._problems:
            return
        table = PROCESSING_ERRORS
        own = sa.and_(table.c.source == self.source, table.c.code != UNRESOLVED_RELATION)
        stored: dict[str, list[tuple[object, ...]]] = {}
        columns = (table.c.line, table.c.entity_ref, table.c.severity, table.c.code, table.c.message)
        for location, *rest in self.connection.execute(sa.select(table.c.location, *columns).where(own)):
            stored.setdefault(location, []).append(tuple(rest))
        for location, problems in self._problems.items():
            fresh = [(p.line, p.entity_ref, p.severity, p.code, p.message) for p in problems]
            if sorted(fresh, key=repr) == sorted(stored.get(location, []), key=repr):
                continue
            self.connection.execute(sa.delete(table).where(own, table.c.location == location))
            if problems:
                rows = [
                    {
                        "source": self.source,
                        "location": location,
                        "line": p.line,
                        "entity_ref": _storable(p.entity_ref, MAX_REF),
                        "severity": p.severity,
                        "code": p.code,
                        "message": _storable(p.message),
                        "created_at": self.now,
                    }
                    for p in problems
                ]
                self.connection.execute(sa.insert(table), rows)
            path = location_path(location)
            stored_file = self._files.get(path)
            if (
                path not in self._file_rows
                and stored_file is not None
                and stored_file.read_again != (path in self._volatile or _has_errors(problems))
            ):
                # Read as unchanged, yet its targets failed to expand: read it again next time.
                self.connection.execute(
                    sa.update(SOURCE_FILES)
                    .where(SOURCE_FILES.c.source == self.source, SOURCE_FILES.c.path == path)
                    .values(read_again=path in self._volatile or _has_errors(problems))
                )

    def _note_change(self, ref: str) -> None:
        if self._changed_refs is not None:
            self._changed_refs.add(ref)
            if len(self._changed_refs) > INCREMENTAL_WARNINGS:
                self._changed_refs = None

    def _refresh_unresolved_warnings(self) -> None:
        """Redo the unresolved-relation warnings the change may have changed: those of the entities it
        wrote or removed, and of the entities with relations to them (which it may have resolved or
        broken); after a large change, the whole catalogue's."""
        table = PROCESSING_ERRORS
        unresolved = table.c.code == UNRESOLVED_RELATION
        if self._changed_refs is None:
            self.connection.execute(sa.delete(table).where(unresolved))
            self.connection.execute(_UNRESOLVED, self._warning_params())
            return
        changed = sorted(self._changed_refs)
        affected = set(changed)
        for chunk in _chunks(changed, 500):
            query = sa.select(RELATIONS.c.source_ref).where(RELATIONS.c.target_ref.in_(chunk)).distinct()
            affected.update(self.connection.execute(query).scalars())
        for chunk in _chunks(sorted(affected), 500):
            self.connection.execute(sa.delete(table).where(unresolved, table.c.entity_ref.in_(chunk)))
            self.connection.execute(
                sa.text(_UNRESOLVED.text + " AND r.source_ref IN :refs").bindparams(
                    sa.bindparam("refs", expanding=True)
                ),
                {**self._warning_params(), "refs": chunk},
            )

    def _warning_params(self) -> dict[str, object]:
        return {"severity": WARNING, "code": UNRESOLVED_RELATION, "now": self.now}

    def _count_problems(self) -> tuple[int, int]:
        query = (
            sa.select(PROCESSING_ERRORS.c.severity, sa.func.count())
            .where(PROCESSING_ERRORS.c.source == self.source)
            .group_by(PROCESSING_ERRORS.c.severity)
        )
        counts: dict[str, int] = {severity: count for severity, count in self.connection.execute(query)}
        return counts.get(ERROR, 0), counts.get(WARNING, 0)


# Every relation to a ref that no entity has, as a warning of the entity that declares it.
_UNRESOLVED = sa.text(
    "INSERT INTO processing_errors (source, location, line, entity_ref, severity, code, message, created_at)"
    " SELECT e.source, e.location, e.line, r.source_ref, :severity, :code,"
    " 'Relation ' || r.type || ' to ' || r.target_ref || ' is unresolved: no such entity in the catalogue',"
    " :now FROM relations r JOIN entities e ON e.ref = r.source_ref"
    " WHERE NOT EXISTS (SELECT 1 FROM entities t WHERE t.ref = r.target_ref)"
)


def _storable(text: str | None, limit: int | None = None) -> str | None:
    """Text that PostgreSQL will store: no NUL characters, cut to the column's size."""
    if text is None:
        return None
    text = text.replace("\x00", "\\0")
    return text[: limit - 3] + "..." if limit and len(text) > limit else text


def _has_errors(problems: Iterable[Problem]) -> bool:
    """Whether a file must be read again next time: errors may clear when other files change."""
    return any(problem.severity == ERROR for problem in problems)


def _duplicate(ref: str, where: str, line: int) -> Problem:
    """The error for a second provider of an entity; `where` says who provides it already."""
    return Problem(f"Duplicate entity {ref}: already provided {where}", DUPLICATE_ENTITY, line, ref)


def _lower(value: str | None) -> str | None:
    return value.lower() if value is not None else None


def _chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
