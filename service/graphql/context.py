"""Per-request GraphQL context: the engine and DataLoaders keyed by entity ref."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from catalog.queries import StoredEntity, entities_by_ref, relations_from


class RequestContext(BaseContext):
    """One request's view of the catalogue; loaders batch every lookup a query needs into one SQL query."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self.entities: DataLoader[str, StoredEntity | None] = DataLoader(load_fn=self._load_entities)
        self.relations: DataLoader[str, list[tuple[str, str]]] = DataLoader(load_fn=self._load_relations)

    def remember(self, entities: list[StoredEntity]) -> None:
        """Prime the entity loader with rows already read, so relations to them cost nothing."""
        for entity in entities:
            self.entities.prime(entity.ref, entity)

    async def _load_entities(self, refs: list[str]) -> list[StoredEntity | None]:
        with self.engine.connect() as connection:
            found = entities_by_ref(connection, refs)
        return [found.get(ref) for ref in refs]

    async def _load_relations(self, refs: list[str]) -> list[list[tuple[str, str]]]:
        with self.engine.connect() as connection:
            found = relations_from(connection, refs)
        return [found[ref] for ref in refs]
