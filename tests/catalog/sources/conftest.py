"""Running a source's refresh as the service does: in a worker thread, requests on an event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from catalog.processing import Reading
from catalog.sources.definitions import Source
from catalog.sources.refresh import RefreshOutcome, refresh_in_thread

Refresh = Callable[..., RefreshOutcome]


class Waits(list[float]):
    """The pauses a refresh asked for (backoff, rate limits), recorded instead of slept."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def refresh(engine: Engine, tmp_path: Path, waits: Waits) -> Refresh:
    """Refresh a source once against the test database; pauses are recorded in `waits`, not slept."""

    def run(source: Source, *, repository: str | None = None, reading: Reading | None = None) -> RefreshOutcome:
        async def main() -> RefreshOutcome:
            async with httpx.AsyncClient(timeout=10) as client:
                return await refresh_in_thread(
                    engine,
                    source,
                    client,
                    reading=reading or Reading(),
                    cache_dir=str(tmp_path / "cache"),
                    repository=repository,
                    sleep=waits,
                )

        return asyncio.run(main())

    return run
