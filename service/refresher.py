"""Refreshing the configured sources: each on its own schedule, and on demand (GraphQL, CLI, webhooks).

Refreshes run in worker threads; the event loop only waits, so the server keeps answering reads.
After a refresh that changed the catalogue, scorecards are evaluated again (one evaluation at a time).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
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
from service.metrics import record_evaluation, record_refresh

log = logging.getLogger("stairway.sources")

LONGEST_NAP = 300.0
REFRESH_THREADS = 4  # the scheduler looks again at least this often (a source's status may change elsewhere)


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
        self._locks: dict[str, asyncio.Lock] = {}  # one refresh of a source at a time in this process
        self._tasks: set[asyncio.Task[RefreshOutcome]] = set()
        self._evaluating = asyncio.Lock()
        # SQLite lets one transaction write at a time: refreshes there take turns rather than wait on
        # each other's locks (and time out). PostgreSQL runs them side by side.
        self._turns = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        # Refreshes get threads of their own: long ones must not take the threads GraphQL reads run in.
        self._threads = ThreadPoolExecutor(max_workers=REFRESH_THREADS, thread_name_prefix="refresh")

    def source(self, name: str) -> Source:
        """The configured source of that name; UnknownSource when there is none."""
        source = self.config.source(name)
        if source is None:
            raise UnknownSource(name, self.config)
        return source

    async def refresh(self, name: str, repository: str | None = None) -> RefreshOutcome:
        """Refresh one source now, after the refresh of it already running here, if any. A caller
        that stops waiting (a client gone) does not stop the refresh."""
        return await asyncio.shield(self._start(self.source(name), repository))

    async def refresh_all(self, names: Sequence[str] = ()) -> list[RefreshOutcome]:
        """Refresh the named sources (every configured one when none are named), one after another."""
        chosen = [self.source(name).name for name in names] if names else [s.name for s in self.config.sources]
        return [await self.refresh(name) for name in chosen]

    def states(self, now: datetime | None = None) -> list[SourceState]:
        """Every configured source's status as of `now` (blocking: call it in a worker thread)."""
        with self.engine.connect() as connection:
            return source_states(connection, self.config.sources, now or self.clock())

    async def run_due(self) -> list[RefreshOutcome]:
        """Refresh, side by side, every source whose next run is due, and wait for them."""
        now = self.clock()
        due = self._due(await asyncio.to_thread(self.states, now), now)
        return list(await asyncio.gather(*(self.refresh(name) for name in due)))

    async def run_schedule(self) -> None:
        """Start refreshes as sources fall due, for as long as the server runs. The loop does not wait
        for them: a slow source must not hold back one that refreshes every minute."""
        while True:
            try:
                now = self.clock()
                states = await asyncio.to_thread(self.states, now)
                for name in self._due(states, now):
                    self._start(self.source(name), None)
                upcoming = [s.next_run_at for s in states if s.next_run_at is not None and not self.running(s.name)]
                nap = min(LONGEST_NAP, max(1.0, (min(upcoming) - now).total_seconds())) if upcoming else LONGEST_NAP
            except Exception:  # the database may be down for a while; the schedule carries on
                log.exception("the source scheduler could not read the sources' status")
                nap = 60.0
            await self.sleep(nap)

    def running(self, name: str) -> bool:
        """Whether a refresh of the source is running in this process."""
        lock = self._locks.get(name)
        return lock is not None and lock.locked()

    async def stop(self, grace: float = 5.0) -> None:
        """Give running refreshes a moment to finish (a shutdown); the rest roll back when the engine goes."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=grace)
        self._threads.shutdown(wait=False, cancel_futures=True)

    def _due(self, states: list[SourceState], now: datetime) -> list[str]:
        return [
            s.name for s in states if s.next_run_at is not None and s.next_run_at <= now and not self.running(s.name)
        ]

    def _start(self, source: Source, repository: str | None) -> asyncio.Task[RefreshOutcome]:
        task = asyncio.create_task(self._in_turn(source, repository), name=f"refresh {source.name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _in_turn(self, source: Source, repository: str | None) -> RefreshOutcome:
        async with self._locks.setdefault(source.name, asyncio.Lock()):
            return await self._run(source, repository)

    async def _run(self, source: Source, repository: str | None) -> RefreshOutcome:
        async with self._turns or contextlib.nullcontext():
            outcome = await self._refresh(source, repository)
            (log.warning if outcome.error else log.info)("refresh %s", outcome.line())
            record_refresh(outcome)
            if outcome.changed and self.on_change is not None:
                await self._evaluate(source.name, self.on_change)
        return outcome

    async def _evaluate(self, name: str, evaluate: Callable[[], str]) -> None:
        """Score the changed catalogue again; a failure is logged, and the refresh stands."""
        async with self._evaluating:
            try:
                log.info("after refreshing %s: %s", name, await asyncio.to_thread(record_evaluation, evaluate))
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
            threads=self._threads,
        )
