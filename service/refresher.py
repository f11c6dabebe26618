"""Refreshing the configured sources: each on its own schedule, and on demand (GraphQL, CLI, webhooks).

Refreshes run in worker threads; the event loop only waits, so the server keeps answering reads.
After a refresh that changed the catalogue, scorecards are evaluated again (one evaluation at a time).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

import httpx
from sqlalchemy.engine import Engine

from catalog.processing import Reading
from catalog.sources.definitions import Source
from catalog.sources.refresh import RefreshOutcome, refresh_in_thread
from catalog.sources.status import SourceState, source_states
from catalog.sources.upstream import Sleep
from catalog.tables import utc_now
from service.config import Config

log = logging.getLogger("stairway.sources")

LONGEST_NAP = 300.0  # the scheduler looks again at least this often (a source's status may change elsewhere)


class UnknownSource(KeyError):
    """No source of that name is configured."""

    def __init__(self, name: str, config: Config) -> None:
        known = ", ".join(source.name for source in config.sources) or "none are configured"
        super().__init__(name)
        self.message = f"no source named {name!r} in the configuration (sources: {known})"


class Refresher:
    """Refreshes the sources `config` lists, against `engine`, with `client` for every HTTP request."""

    def __init__(
        self,
        engine: Engine,
        config: Config,
        client: httpx.AsyncClient,
        *,
        on_change: Callable[[], str] | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.engine = engine
        self.config = config
        self.client = client
        self.on_change = on_change
        self.sleep = sleep
        self.clock = clock
        self._running: dict[str, asyncio.Task[RefreshOutcome]] = {}
        self._evaluating = asyncio.Lock()
        # SQLite lets one transaction write at a time: refreshes there take turns rather than wait on
        # each other's locks (and time out). PostgreSQL runs them side by side.
        self._turns = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    def source(self, name: str) -> Source:
        """The configured source of that name; UnknownSource when there is none."""
        source = self.config.source(name)
        if source is None:
            raise UnknownSource(name, self.config)
        return source

    async def refresh(self, name: str, repository: str | None = None) -> RefreshOutcome:
        """Refresh one source now (after the refresh of it already running here, if any)."""
        source = self.source(name)
        running = self._running.get(name)
        if running is not None:
            await asyncio.shield(running)
        task = asyncio.create_task(self._run(source, repository))
        self._running[name] = task
        try:
            return await asyncio.shield(task)
        finally:
            if self._running.get(name) is task and task.done():
                del self._running[name]

    async def refresh_all(self, names: Sequence[str] = ()) -> list[RefreshOutcome]:
        """Refresh the named sources (every configured one when none are named), one after another."""
        chosen = [self.source(name).name for name in names] if names else [s.name for s in self.config.sources]
        return [await self.refresh(name) for name in chosen]

    def states(self, now: datetime | None = None) -> list[SourceState]:
        """Every configured source's status as of `now` (blocking: call it in a worker thread)."""
        with self.engine.connect() as connection:
            return source_states(connection, self.config.sources, now or self.clock())

    async def run_due(self) -> list[RefreshOutcome]:
        """Refresh, side by side, every source whose next run is due."""
        now = self.clock()
        states = await asyncio.to_thread(self.states, now)
        due = [
            s.name for s in states if s.next_run_at is not None and s.next_run_at <= now and s.name not in self._running
        ]
        return list(await asyncio.gather(*(self.refresh(name) for name in due)))

    async def run_schedule(self) -> None:
        """Refresh sources as they fall due, for as long as the server runs."""
        while True:
            try:
                await self.run_due()
                nap = await asyncio.to_thread(self._seconds_to_next_run)
            except Exception:  # the database may be down for a while; the schedule carries on
                log.exception("the source scheduler could not read the sources' status")
                nap = 60.0
            await self.sleep(nap)

    def _seconds_to_next_run(self) -> float:
        upcoming = [state.next_run_at for state in self.states() if state.next_run_at is not None]
        if not upcoming:
            return LONGEST_NAP
        return min(LONGEST_NAP, max(1.0, (min(upcoming) - self.clock()).total_seconds()))

    async def _run(self, source: Source, repository: str | None) -> RefreshOutcome:
        async with self._turns or contextlib.nullcontext():
            outcome = await self._refresh(source, repository)
            (log.warning if outcome.error else log.info)("refresh %s", outcome.line())
            if outcome.changed and self.on_change is not None:
                await self._evaluate(source.name, self.on_change)
        return outcome

    async def _evaluate(self, name: str, evaluate: Callable[[], str]) -> None:
        """Score the changed catalogue again; a failure is logged, and the refresh stands."""
        async with self._evaluating:
            try:
                log.info("after refreshing %s: %s", name, await asyncio.to_thread(evaluate))
            except Exception:
                log.exception(
                    "after refreshing %s, evaluating the scorecards failed; `stairway evaluate` retries", name
                )

    async def _refresh(self, source: Source, repository: str | None) -> RefreshOutcome:
        return await refresh_in_thread(
            self.engine,
            source,
            self.client,
            reading=Reading(provenance_keys=self.config.golden_paths.annotations),
            cache_dir=self.config.cache_dir,
            repository=repository,
            sleep=self.sleep,
            now=self.clock(),
        )
