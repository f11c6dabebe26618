"""Per-request GraphQL context: the engine and DataLoaders keyed by entity ref."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy.engine import Connection, Engine
from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from catalog.queries import StoredEntity, entities_by_ref, relations_from
from catalog.tables import utc_now
from scorecards.adoption import AdoptionPoint, TrendSeries, adoption_trends
from scorecards.definitions import Scorecard
from scorecards.dora import DoraKeys, dora_keys
from scorecards.evaluate import ScorecardResult
from scorecards.results import evaluate_entities
from service.authentication import ANYONE, Caller
from service.config import Config
from service.refresher import Refresher

P = ParamSpec("P")
T = TypeVar("T")


class RequestContext(BaseContext):
    """One request's view of the catalogue; loaders batch every lookup a query needs into one SQL query."""

    def __init__(
        self,
        engine: Engine,
        scorecards: Sequence[Scorecard] = (),
        config: Config | None = None,
        refresher: Refresher | None = None,
        caller: Caller = ANYONE,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.caller = caller  # who is asking, and what it may do
        self.refresher = refresher
        self.scorecards = scorecards
        self.config = config or Config()
        self.now = utc_now()  # one clock per request: every result in a response is as of the same moment
        self.entities: DataLoader[str, StoredEntity | None] = DataLoader(load_fn=self._load_entities)
        self.relations: DataLoader[str, list[tuple[str, str]]] = DataLoader(load_fn=self._load_relations)
        self.results: DataLoader[str, dict[str, ScorecardResult]] = DataLoader(load_fn=self._load_results)
        self.dora_keys: DataLoader[tuple[str, int], DoraKeys | None] = DataLoader(load_fn=self._load_dora_keys)
        self.adoption_trends: DataLoader[tuple[TrendSeries, int], list[AdoptionPoint]] = DataLoader(
            load_fn=self._load_adoption_trends
        )
        self._checks: dict[str, dict[str, Any]] = {}

    def graphql_checks(self, scorecard: Scorecard) -> dict[str, Any]:
        """The GraphQL Check objects of a definition, by id, built once per request."""
        from service.graphql.scorecard_types import Check

        if scorecard.name not in self._checks:
            self._checks[scorecard.name] = {check.id: Check.of(check) for check in scorecard.checks}
        return self._checks[scorecard.name]

    @property
    def owners_may_exempt(self) -> bool:
        """Whether callers may exempt the entities they own without being admin (auth.ownersMayExempt)."""
        return self.config.auth.owners_may_exempt

    def scorecard(self, name: str) -> Scorecard | None:
        """The live definition of that name."""
        return next((card for card in self.scorecards if card.name == name), None)

    def remember(self, entities: list[StoredEntity]) -> None:
        """Prime the entity loader with rows already read, so relations to them cost nothing."""
        for entity in entities:
            self.entities.prime(entity.ref, entity)

    async def read(self, query: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a read query on a connection in a worker thread, so the event loop (and /healthz)
        stays responsive while the database works."""

        def run() -> T:
            with self.engine.connect() as connection:
                return query(connection, *args, **kwargs)

        return await asyncio.to_thread(run)

    async def write(self, change: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a change in one transaction in a worker thread."""

        def run() -> T:
            with self.engine.begin() as connection:
                return change(connection, *args, **kwargs)

        return await asyncio.to_thread(run)

    async def _load_entities(self, refs: list[str]) -> list[StoredEntity | None]:
        found = await self.read(entities_by_ref, refs)
        return [found.get(ref) for ref in refs]

    async def _load_relations(self, refs: list[str]) -> list[list[tuple[str, str]]]:
        found = await self.read(relations_from, refs)
        return [found[ref] for ref in refs]

    async def _load_adoption_trends(self, wanted: list[tuple[TrendSeries, int]]) -> list[list[AdoptionPoint]]:
        # Every group of a report asks for its own series: one query per grouping, not one per group.
        today = self.now.date()
        found: dict[tuple[TrendSeries, int], list[AdoptionPoint]] = {}
        for days in {days for _series, days in wanted}:
            series = [one for one, asked in wanted if asked == days]
            for one, points in (await self.read(adoption_trends, series, days, today)).items():
                found[one, days] = points
        return [found[key] for key in wanted]

    async def _load_dora_keys(self, wanted: list[tuple[str, int]]) -> list[DoraKeys | None]:
        # A page of entities asks once per window, however many entities it holds.
        found: dict[tuple[str, int], DoraKeys] = {}
        for days in {days for _ref, days in wanted}:
            refs = [ref for ref, asked in wanted if asked == days]
            for ref, keys in (await self.read(dora_keys, refs, self.now, days)).items():
                found[ref, days] = keys
        return [found.get(key) for key in wanted]

    async def _load_results(self, refs: list[str]) -> list[dict[str, ScorecardResult]]:
        # Evaluated now from the stored descriptor, facts and exemptions: expiries and stale facts
        # show at once, and a page costs the same handful of queries whatever its size.
        def evaluated(connection: Connection) -> dict[str, dict[str, ScorecardResult]]:
            found: dict[str, dict[str, ScorecardResult]] = {ref: {} for ref in refs}
            for ref, result in evaluate_entities(connection, self.scorecards, refs, self.now, self.config.dora_profile):
                found[ref][result.scorecard.name] = result
            return found

        found = await self.read(evaluated)
        return [found[ref] for ref in refs]
