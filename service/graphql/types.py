"""GraphQL object types for catalogue entities, relations and processing errors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from catalog.provenance import Provenance, read_provenance
from catalog.queries import StoredEntity, StoredError
from scorecards.dora import DoraKeys
from service.graphql.dora_types import DoraMetrics, window
from service.graphql.scorecard_types import ScorecardResult


@strawberry.type
class KeyValue:
    key: str
    value: str


@strawberry.type
class Link:
    url: str
    title: str | None = None
    icon: str | None = None
    type: str | None = None


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


def _pairs(mapping: object) -> list[KeyValue]:
    if not isinstance(mapping, dict):
        return []
    return [KeyValue(key=str(key), value=str(value)) for key, value in sorted(mapping.items())]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


@strawberry.type(description="A catalogue entity: a Component, API, System, Group, ... as ingested.")
class Entity:
    stored: strawberry.Private[StoredEntity]

    @property
    def _metadata(self) -> dict[str, Any]:
        return self.stored.body.get("metadata") or {}

    @property
    def _spec(self) -> dict[str, Any]:
        spec = self.stored.body.get("spec")
        return spec if isinstance(spec, dict) else {}

    @strawberry.field(description="Stable unique id, kept across re-ingests.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.stored.uid)

    @strawberry.field(description="Canonical reference, kind:namespace/name in lower case.")
    def ref(self) -> str:
        return self.stored.ref

    @strawberry.field
    def kind(self) -> str:
        return str(self.stored.body.get("kind"))

    @strawberry.field
    def api_version(self) -> str:
        return str(self.stored.body.get("apiVersion"))

    @strawberry.field
    def namespace(self) -> str:
        return str(self._metadata.get("namespace") or "default")

    @strawberry.field
    def name(self) -> str:
        return str(self._metadata.get("name"))

    @strawberry.field
    def title(self) -> str | None:
        return _text(self._metadata.get("title"))

    @strawberry.field
    def description(self) -> str | None:
        return _text(self._metadata.get("description"))

    @strawberry.field
    def tags(self) -> list[str]:
        return [str(tag) for tag in self._metadata.get("tags") or []]

    @strawberry.field
    def labels(self) -> list[KeyValue]:
        return _pairs(self._metadata.get("labels"))

    @strawberry.field
    def annotations(self) -> list[KeyValue]:
        return _pairs(self._metadata.get("annotations"))

    @strawberry.field(description="The value of one annotation, or null.")
    def annotation(self, key: str) -> str | None:
        annotations = self._metadata.get("annotations") or {}
        return _text(annotations.get(key))

    @strawberry.field
    def links(self) -> list[Link]:
        return [
            Link(
                url=str(link.get("url")),
                title=_text(link.get("title")),
                icon=_text(link.get("icon")),
                type=_text(link.get("type")),
            )
            for link in self._metadata.get("links") or []
            if isinstance(link, dict)
        ]

    @strawberry.field
    def type(self) -> str | None:
        return _text(self._spec.get("type"))

    @strawberry.field
    def lifecycle(self) -> str | None:
        return _text(self._spec.get("lifecycle"))

    @strawberry.field(description="The owning entity (usually a Group), or null if it is not in the catalogue.")
    async def owner(self, info: strawberry.Info) -> Entity | None:
        return await _load(info, self.stored.owner_ref)

    @strawberry.field(description="Reference of the owner as declared, resolved or not.")
    def owner_ref(self) -> str | None:
        return self.stored.owner_ref

    @strawberry.field(description="The System this entity is part of, or null.")
    async def system(self, info: strawberry.Info) -> Entity | None:
        return await _load(info, self.stored.system_ref)

    @strawberry.field(description="Relations in both directions, optionally of one type (e.g. ownedBy, hasPart).")
    async def relations(self, info: strawberry.Info, type: str | None = None) -> list[Relation]:
        pairs = await info.context.relations.load(self.stored.ref)
        return [Relation(type=t, target_ref=target) for t, target in pairs if type is None or t == type]

    @strawberry.field(description="The descriptor's spec, as ingested.")
    def spec(self) -> JSON | None:
        return self.stored.body.get("spec")

    @strawberry.field(description="The descriptor as ingested, with location annotations.")
    def descriptor(self) -> JSON:
        return self.stored.body  # type: ignore[return-value]  # JSON is strawberry's alias for any JSON value

    @strawberry.field(description="Where the descriptor was read, e.g. file:/path/catalog-info.yaml.")
    def source_location(self) -> str | None:
        return self.stored.location

    @strawberry.field(description="The line of the source file the descriptor starts on.")
    def source_line(self) -> int | None:
        return self.stored.line

    @strawberry.field
    def first_seen_at(self) -> datetime:
        return self.stored.first_seen_at

    def _provenance(self, info: strawberry.Info) -> Provenance:
        return read_provenance(self._metadata, self._spec, info.context.config.golden_paths.annotations)

    @strawberry.field(
        description="When it was created: its backstage.io/createdAt annotation, else when the catalogue first saw it."
    )
    def created_at(self, info: strawberry.Info) -> datetime:
        return self._provenance(info).created_at or self.stored.first_seen_at

    @strawberry.field(
        description="The scaffolder template it started from (backstage.io/source-template, spec.scaffoldedFrom "
        "or a configured annotation), as declared, resolved or not."
    )
    def source_template_ref(self, info: strawberry.Info) -> str | None:
        return self._provenance(info).template_ref

    @strawberry.field(description="The template it started from, or null when none is declared or it is gone.")
    async def source_template(self, info: strawberry.Info) -> Entity | None:
        return await _load(info, self._provenance(info).template_ref)

    @strawberry.field(
        description="Its backstage.io/template-version annotation: for a component, the template version it was "
        "made from; for a Template, its current version."
    )
    def template_version(self, info: strawberry.Info) -> str | None:
        return self._provenance(info).template_version

    @strawberry.field(description="DORA's four keys over the last `windowDays` days (production deployments).")
    async def dora(self, info: strawberry.Info, window_days: int | None = 90) -> DoraMetrics | None:
        keys = await info.context.dora_keys.load((self.stored.ref, window(window_days)))
        return DoraMetrics.of(keys or DoraKeys(), info.context.config.dora_profile)

    @strawberry.field(description="Its results on every scorecard that applies to it, evaluated now.")
    async def scorecards(self, info: strawberry.Info) -> list[ScorecardResult]:
        found = await info.context.results.load(self.stored.ref)
        return [ScorecardResult(result=result, entity_ref=self.stored.ref) for result in found.values()]

    @strawberry.field(description="Its result on one scorecard, or null when that scorecard does not apply.")
    async def scorecard(self, info: strawberry.Info, name: str) -> ScorecardResult | None:
        result = (await info.context.results.load(self.stored.ref)).get(name)
        return ScorecardResult(result=result, entity_ref=self.stored.ref) if result else None

    @strawberry.field
    def updated_at(self) -> datetime:
        return self.stored.updated_at


@strawberry.type
class Relation:
    type: str
    target_ref: str

    @strawberry.field(description="The target entity, or null when the relation is unresolved.")
    async def target(self, info: strawberry.Info) -> Entity | None:
        return await _load(info, self.target_ref)


async def _load(info: strawberry.Info, ref: str | None) -> Entity | None:
    if ref is None:
        return None
    stored = await info.context.entities.load(ref)
    return Entity(stored=stored) if stored is not None else None


@strawberry.type
class ProcessingError:
    stored: strawberry.Private[StoredError]

    @strawberry.field(description="Where the problem is, e.g. file:/path/catalog-info.yaml.")
    def location(self) -> str:
        return self.stored.location

    @strawberry.field
    def line(self) -> int | None:
        return self.stored.line

    @strawberry.field
    def entity_ref(self) -> str | None:
        return self.stored.entity_ref

    @strawberry.field(description="error (the document was not ingested) or warning (it was, with a problem).")
    def severity(self) -> str:
        return self.stored.severity

    @strawberry.field(
        description="What kind of problem, stable for frontends: yaml-error, invalid-entity, "
        "invalid-reference, duplicate-entity, location, placeholder, unreadable-file, annotation, "
        "unresolved-relation."
    )
    def code(self) -> str:
        return self.stored.code

    @strawberry.field
    def message(self) -> str:
        return self.stored.message

    @strawberry.field
    def source(self) -> str:
        return self.stored.source

    @strawberry.field
    def created_at(self) -> datetime:
        return self.stored.created_at
