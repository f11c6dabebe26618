"""Refreshing one source: read it where it lives, replace only its entities, commit whole or not at all.

A refresh runs in a worker thread (parsing and writes must not hold up the event loop); its HTTP
requests go through the `Upstream`, which hands them to the event loop the client lives on.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from catalog.ingest import IngestError, read_files, refresh_statistics, starting_points
from catalog.locks import refresh_transaction
from catalog.processing import Reading
from catalog.provenance import extraction_key
from catalog.sources.definitions import (
    FileSource,
    MissingSecret,
    Source,
    auth_host,
    credential,
    request_headers,
    secret,
)
from catalog.sources.response_cache import ResponseCache
from catalog.sources.status import FAILED, OK, SKIPPED, record_failure, record_start, record_success
from catalog.sources.upstream import RequestCounts, Sleep, Upstream, UpstreamError
from catalog.store import CatalogWriter, WriteSummary
from catalog.tables import HTTP_CACHE, PROCESSING_ERRORS, SOURCE_STATUS, utc_now
from catalog.workers import WorkerPool

log = logging.getLogger("stairway.sources")


@dataclass
class RefreshContext:
    """What a source's reader works with during one refresh."""

    writer: CatalogWriter
    upstream: Upstream
    cache: ResponseCache
    reading: Reading
    cache_dir: str  # where git sources keep their clones
    repository: str | None = None  # "owner/name": refresh only what this repository provides (a push)

    def keep_files(self, chosen: Callable[[str], bool]) -> None:
        """Keep, untouched, what the chosen files the source read before provided (and their ETags)."""
        for path in self.writer.keep_files(chosen):
            self.cache.keep(path)

    def keep_all_but(self, belongs: Callable[[str], bool]) -> None:
        """Keep, untouched, every file the source read before that `belongs` does not select."""
        self.keep_files(lambda path: not belongs(path))


@dataclass
class RefreshOutcome:
    """How one refresh of one source went."""

    source: str
    status: str  # ok, failed, skipped
    summary: WriteSummary = field(default_factory=WriteSummary)
    counts: RequestCounts = field(default_factory=RequestCounts)
    error: str | None = None
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        """Whether the catalogue changed (scorecards then need evaluating again)."""
        return bool(self.summary.added or self.summary.updated or self.summary.removed)

    def figures(self) -> dict[str, int]:
        """The counts, as the status keeps them and GraphQL shows them."""
        s, c = self.summary, self.counts
        return {
            "added": s.added,
            "updated": s.updated,
            "unchanged": s.unchanged,
            "removed": s.removed,
            "errors": s.errors,
            "warnings": s.warnings,
            "files": s.files,
            "requests": c.requests,
            "notModified": c.not_modified,
            "milliseconds": round(self.seconds * 1000),
        }

    def line(self) -> str:
        """One line for the CLI and the logs."""
        if self.status == SKIPPED:
            return f"{self.source}: skipped, another replica is refreshing it"
        requests = f"; {self.counts.requests} requests, {self.counts.not_modified} not modified"
        if self.status == FAILED:
            return f"{self.source}: failed after {self.seconds:.2f}s{requests}: {self.error}"
        s = self.summary
        return (
            f"{self.source}: {s.added} added, {s.updated} updated, {s.unchanged} unchanged, {s.removed} removed, "
            f"{s.errors} errors, {s.warnings} warnings in {self.seconds:.2f}s{requests}"
        )


Reader = Callable[[Source, RefreshContext], None]


def refresh_source(
    engine: Engine,
    source: Source,
    upstream: Upstream,
    *,
    reading: Reading,
    cache_dir: str,
    repository: str | None = None,
    now: datetime | None = None,
) -> RefreshOutcome:
    """Refresh `source` (blocking: call it in a worker thread). A failure leaves its last good
    entities as they were and is recorded with its reason; nothing is ever half-written."""
    now = now or utc_now()
    started = time.perf_counter()
    outcome = RefreshOutcome(source.name, OK, counts=upstream.counts)
    if upstream.deadline is None:
        upstream.deadline = time.monotonic() + source.schedule.timeout
    try:
        with engine.connect() as connection, refresh_transaction(connection, source.name) as held:
            if not held:
                outcome.status = SKIPPED
                return outcome
            record_start(engine, source, now)
            _authorise(upstream, source)
            writer = CatalogWriter(connection, source.name, now)
            cache = ResponseCache(connection, source.name, extraction_key(reading.provenance_keys).hex())
            context = RefreshContext(writer, upstream, cache, reading, cache_dir, repository)
            _reader(source)(source, context)
            held_before = writer.would_empty()
            if held_before:
                raise SourceError(
                    f"the upstream gave no entities at all; the {held_before} the source holds are kept rather "
                    "than all removed (remove the source from stairway.yaml if it is meant to be empty)"
                )
            outcome.summary = writer.finish()
            cache.save(prune=repository is None)
            outcome.seconds = time.perf_counter() - started
            record_success(connection, source, now, outcome.figures())
            refresh_statistics(connection, outcome.summary)
    except (UpstreamError, IngestError, MissingSecret, SourceError) as error:
        outcome.status = FAILED
        outcome.error = str(error)
    except TimeoutError as error:
        outcome.status = FAILED
        outcome.error = f"timed out: {error}"
    except Exception as error:  # a bug must not stop the other sources, nor the server; it is logged whole
        log.exception("refresh of source %r failed unexpectedly", source.name)
        outcome.status = FAILED
        outcome.error = f"unexpected {type(error).__name__}: {error}"
    outcome.seconds = time.perf_counter() - started
    if outcome.status == FAILED:
        assert outcome.error is not None
        record_failure(engine, source, now, outcome.error)
    return outcome


def forget_source(engine: Engine, name: str, now: datetime | None = None) -> WriteSummary:
    """Remove all a source left in the catalogue (entities, files, errors, status, ETags), as a refresh
    that finds nothing would, for a source taken out of the configuration."""
    with engine.connect() as connection, refresh_transaction(connection, name) as held:
        if not held:
            raise SourceError(f"the source {name!r} is being refreshed right now; try again")
        summary = CatalogWriter(connection, name, now or utc_now()).finish()
        for table in (PROCESSING_ERRORS, HTTP_CACHE):
            connection.execute(sa.delete(table).where(table.c.source == name))
        connection.execute(sa.delete(SOURCE_STATUS).where(SOURCE_STATUS.c.name == name))
    return summary


def _authorise(upstream: Upstream, source: Source) -> None:
    """Give the upstream the source's headers, and its token for the one host it is meant for."""
    token_env = getattr(source, "token_env", None)
    upstream.headers = {**upstream.headers, **request_headers(source)}
    token = secret(token_env, source.name)
    if token:
        upstream.auth, upstream.auth_host = {"Authorization": f"Bearer {token}"}, auth_host(source)
    upstream.credential = credential(token_env)


class SourceError(Exception):
    """A source that cannot be read as configured (e.g. git cannot fetch the branch)."""


def _reader(source: Source) -> Reader:
    # Imported here: each reader pulls in only what its own upstream needs.
    if source.type == "file":
        return _read_files
    if source.type == "git":
        from catalog.sources.git import read_git

        return read_git  # type: ignore[return-value]
    if source.type == "url":
        from catalog.sources.url import read_url

        return read_url  # type: ignore[return-value]
    if source.type == "github":
        from catalog.sources.github import read_github

        return read_github  # type: ignore[return-value]
    from catalog.sources.backstage import read_backstage

    return read_backstage  # type: ignore[return-value]


def _read_files(source: Source, context: RefreshContext) -> None:
    assert isinstance(source, FileSource)
    read_local(source.paths, context)


def read_local(paths: tuple[str, ...], context: RefreshContext) -> None:
    """Read local files, folders or globs (a folder source, or a git source's clone) into the refresh."""
    found = list(starting_points(paths))
    with WorkerPool() as pool:
        read_files(context.writer, found, pool, context.reading)


async def refresh_in_thread(
    engine: Engine,
    source: Source,
    client: httpx.AsyncClient,
    *,
    reading: Reading,
    cache_dir: str,
    repository: str | None = None,
    sleep: Sleep = asyncio.sleep,
    now: datetime | None = None,
    threads: Executor | None = None,
) -> RefreshOutcome:
    """Refresh `source` in a worker thread (of `threads`, else the loop's default), its requests going
    through `client` on this event loop."""
    loop = asyncio.get_running_loop()
    upstream = Upstream(client, sleep=sleep, loop=loop)
    work = functools.partial(
        refresh_source, engine, source, upstream, reading=reading, cache_dir=cache_dir, repository=repository, now=now
    )
    return await loop.run_in_executor(threads, work)
