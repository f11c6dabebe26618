"""Ingesting local descriptor files: discover, parse in worker processes, stream to one writer.

Files are read breadth first, each once: the paths given, then the files their Location entities
point at, and so on. Worker processes parse and validate; the parent only writes.
"""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from sqlalchemy.engine import Connection, Engine

from catalog.database import bulk_load_journal
from catalog.documents import DEFAULT_MAX_FILE_BYTES
from catalog.locations import Root, expand, expand_paths, static_prefix
from catalog.locks import refresh_transaction
from catalog.memory import cyclic_gc_paused
from catalog.processing import LOCATION, FileResult, FileTask, Problem, Reading, file_hash
from catalog.store import CatalogWriter, WriteSummary, catalogue_is_empty
from catalog.tables import utc_now
from catalog.workers import WorkerPool, WorkQueue

DEFAULT_SOURCE = "local"
ANALYZE_AFTER = 1000  # changed entities from which PostgreSQL's statistics are refreshed at once

Progress = Callable[[int, int], None]


class IngestError(ValueError):
    """An ingest that cannot start, such as a path that does not exist; nothing was changed."""


@dataclass
class IngestSummary(WriteSummary):
    """What an ingest changed, and how long it took."""

    seconds: float = 0.0

    def line(self) -> str:
        """The one-line summary the CLI prints."""
        return (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, {self.removed} removed, "
            f"{self.errors} errors, {self.warnings} warnings; {self.files} files in {self.seconds:.2f}s"
        )


@dataclass(frozen=True, slots=True)
class Found:
    """A descriptor file to read, the root it is confined to, and the argument that led to it."""

    path: str
    root: str
    origin: str
    refused: str | None = None  # why the path is not read (a symlink out of the root): an error of its own


def ingest(
    engine: Engine,
    paths: Sequence[str],
    *,
    source: str = DEFAULT_SOURCE,
    workers: int | None = None,
    pool: WorkerPool | None = None,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
    progress: Progress | None = None,
    provenance_keys: Sequence[str] = (),
) -> IngestSummary:
    """Make the catalogue of `source` exactly what `paths` (files, folders, globs) describe.

    Parsing runs in `pool` when given (the caller may have started it early), else in a pool of
    `workers` processes (default: one per core; 0 or 1 parses in this process). `provenance_keys`
    are annotations that name a component's source template besides Backstage's own.
    """
    reading = Reading(max_bytes, tuple(provenance_keys))
    started = time.perf_counter()
    found = list(starting_points(paths))
    with (
        cyclic_gc_paused(),
        engine.connect() as connection,
        _first_load_journal(connection),
        refresh_transaction(connection, source) as held,
    ):
        if not held:
            raise IngestError(f"the source {source!r} is being refreshed right now; nothing was ingested, try again")
        writer = CatalogWriter(connection, source, utc_now())
        with nullcontext(pool) if pool is not None else WorkerPool(workers) as pool:
            read_files(writer, found, pool, reading, progress)
        summary = writer.finish()
        refresh_statistics(connection, summary)
    return IngestSummary(**vars(summary), seconds=time.perf_counter() - started)


def read_files(
    writer: CatalogWriter, found: Sequence[Found], pool: WorkerPool, reading: Reading, progress: Progress | None = None
) -> None:
    """Read these files, and every file their Locations reach, into the writer (which is not finished)."""
    queue = WorkQueue()
    found_by_path: dict[str, Found] = {}  # files queued and not read yet
    visited: set[str] = set()

    def enqueue(item: Found) -> None:
        visited.add(item.path)
        found_by_path[item.path] = item
        queue.put(_task_or_unchanged(item, writer, reading))

    refused: set[str] = set()
    for item in found:
        if item.refused is not None:
            if item.path not in refused:
                refused.add(item.path)
                # Recorded as the path's own result, so that the error goes once the path does.
                writer.apply(FileResult(item.path, "", problems=[Problem(item.refused, LOCATION)]))
        elif item.path not in visited:
            enqueue(item)
    for done, result in enumerate(pool.run(queue), 1):
        item = found_by_path.pop(result.path)
        writer.apply(result)
        targets = writer.stored_targets(result.path) if result.unchanged else result.targets
        for discovered in _follow(targets, item, visited, writer):
            enqueue(discovered)
        if progress:
            progress(done, len(visited))


def refresh_statistics(connection: Connection, summary: WriteSummary) -> None:
    """After a large change on PostgreSQL, fresh planner statistics, committed with the change.

    Autovacuum gets there within a minute or so; until then a freshly loaded catalogue is planned
    as if empty, and aggregates such as organisation maturity take twice as long.
    """
    if connection.dialect.name == "postgresql" and summary.added + summary.updated + summary.removed >= ANALYZE_AFTER:
        connection.exec_driver_sql("ANALYZE entities, relations, entity_tags")


def _first_load_journal(connection: Connection) -> AbstractContextManager[None]:
    """Into an empty catalogue, the journal that writes each page once (see bulk_load_journal)."""
    empty = catalogue_is_empty(connection)
    connection.rollback()  # the check's own transaction: the journal changes only outside one
    return bulk_load_journal(connection) if empty else nullcontext()


def _task_or_unchanged(found: Found, writer: CatalogWriter, reading: Reading) -> FileTask | FileResult:
    """The result of a file whose content hash is unchanged (hashed here: no worker needed), else its task.

    A re-ingest of an unchanged catalogue therefore sends no work to the worker processes.
    """
    known = writer.known_hash(found.path)
    if known is not None and file_hash(found.path, reading.provenance_keys) == known:
        return FileResult(found.path, known, unchanged=True)
    return FileTask(found.path, found.root, found.origin, reading.max_bytes, reading.provenance_keys)


def starting_points(paths: Sequence[str]) -> Iterator[Found]:
    """The files each argument names, with the root it confines them to."""
    for argument in paths:
        absolute = os.path.abspath(argument)
        if glob.has_magic(argument):
            if not os.path.isdir(static_prefix(absolute)):
                raise IngestError(f"{argument}: no such folder {static_prefix(absolute)}; nothing was ingested")
            root = Root.of(static_prefix(absolute))
        elif os.path.isdir(absolute):
            root = Root.of(absolute)
        elif os.path.isfile(absolute):
            root = Root.of(os.path.dirname(absolute))
        else:
            raise IngestError(f"{argument}: no such file or folder; nothing was ingested")
        files, refused = expand_paths(absolute, root)
        if not files:
            # Most likely a typo; taken literally it would empty the source.
            reason = f"{refused[0][0]}: {refused[0][1]}" if refused else "matches no descriptor files (*.yaml, *.yml)"
            raise IngestError(f"{argument}: {reason}; nothing was ingested")
        for path in files:
            yield Found(path, root.path, absolute)
        for path, why in refused:  # e.g. a symlink out of the root: refused with an error, not skipped unseen
            yield Found(path, root.path, absolute, refused=why)


def _follow(targets: list[str], found: Found, visited: set[str], writer: CatalogWriter) -> Iterator[Found]:
    """Files a Location's targets reach that were not visited yet."""
    root = Root(found.root)
    for target in targets:
        files, problems = expand(target, root)
        if problems:
            writer.add_problems(found.path, [Problem(f"Location target {message}", LOCATION) for message in problems])
        for path in files:
            if path not in visited:
                visited.add(path)
                yield Found(path, found.root, found.origin)
