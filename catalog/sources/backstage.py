"""A running Backstage catalogue as a source: every entity, page by page, through `/entities/by-query`.

Backstage already parsed its descriptors and followed its Locations; its entities arrive with
`metadata.uid`, `metadata.etag` and `relations`. Stairway validates each by the same rules as a
file, derives relations itself, keeps where upstream says the entity is managed, and writes only
entities whose content changed: an unchanged catalogue costs one pass of pages and no writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import httpx
import orjson

from catalog.locations import LocationError
from catalog.processing import INVALID_ENTITY, FileResult, Problem, entity_hash, process_entity
from catalog.refs import DEFAULT_NAMESPACE
from catalog.sources.definitions import BackstageSource
from catalog.sources.refresh import RefreshContext
from catalog.sources.upstream import UpstreamError
from catalog.substitutions import SubstitutionError, TargetReader

MAX_PAGES = 100_000  # a cursor loop that never ends is an upstream bug; stop rather than spin


@dataclass(frozen=True, slots=True)
class CataloguePlace:
    """An entity as another Backstage catalogue serves it: placeholders and Locations are upstream's business."""

    key: str  # the entity's by-name URL
    origin: str
    follows: str = ""
    description: str = "Backstage catalogue source"
    keeps_annotations: bool = True

    def reader(self) -> TargetReader:
        """Nothing to read: upstream resolved the placeholders."""

        def refuse(kind: str, target: str) -> str:
            raise SubstitutionError(f"Placeholder {kind} {target!r} was left unresolved by the upstream catalogue")

        return refuse

    def resolve_target(self, target: object) -> str:
        """Nothing to follow: upstream followed its Locations."""
        raise LocationError("Locations of an upstream Backstage catalogue are followed by that catalogue")

    def optional(self, target: str) -> str:
        """Never called: nothing is followed."""
        return target


def read_backstage(source: BackstageSource, context: RefreshContext) -> None:
    """Read every entity the catalogue at `source.base_url` serves (under the source's filters)."""
    base = source.base_url.rstrip("/")
    url = f"{base}/api/catalog/entities/by-query"
    origin = f"url:{url}"
    writer = context.writer
    keys = context.reading.provenance_keys
    params = httpx.QueryParams({"limit": source.page_size, "filter": list(source.filters)})
    cursors: set[str] = set()
    for _number in range(MAX_PAGES):
        page = _page(context.upstream.fetch(url, params=params).content, url)
        for index, entity in enumerate(page.items):
            if not isinstance(entity, dict):
                problem = Problem(f"Item {index} of a page is not an entity: {entity!r:.80}", INVALID_ENTITY)
                writer.apply(FileResult(f"{url}#invalid-{len(cursors)}-{index}", "", problems=[problem]))
                continue
            key = _entity_url(base, entity) or f"{url}#invalid-{len(cursors)}-{index}"
            content_hash = entity_hash(entity, keys)
            if writer.known_hash(key) == content_hash:
                writer.apply(FileResult(key, content_hash, unchanged=True))
            else:
                writer.apply(process_entity(CataloguePlace(key, origin), entity, keys))
        if page.next_cursor is None:
            return
        if page.next_cursor in cursors:
            raise UpstreamError(f"{url}: the upstream returned the same page cursor twice; stopping")
        cursors.add(page.next_cursor)
        params = httpx.QueryParams({"limit": source.page_size, "cursor": page.next_cursor})
    raise UpstreamError(f"{url}: more than {MAX_PAGES} pages; stopping")


@dataclass(frozen=True, slots=True)
class _Page:
    items: list[object]
    next_cursor: str | None


def _page(content: bytes, url: str) -> _Page:
    """A by-query response, checked for the shape Backstage gives: items, totalItems, pageInfo."""
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        raise UpstreamError(f"{url}: the answer is not JSON; is this a Backstage backend?") from None
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise UpstreamError(f"{url}: the answer has no 'items' list; is this a Backstage catalogue API?")
    page_info = body.get("pageInfo")
    cursor = page_info.get("nextCursor") if isinstance(page_info, dict) else None
    return _Page(body["items"], cursor if isinstance(cursor, str) and cursor else None)


def _entity_url(base: str, entity: dict[str, object]) -> str | None:
    """Where Backstage serves this entity alone: the key its row and errors are kept under."""
    metadata = entity.get("metadata")
    kind = entity.get("kind")
    if not isinstance(metadata, dict) or not isinstance(kind, str) or not isinstance(metadata.get("name"), str):
        return None
    namespace = metadata.get("namespace") if isinstance(metadata.get("namespace"), str) else DEFAULT_NAMESPACE
    parts = (kind.lower(), str(namespace).lower(), str(metadata["name"]).lower())
    return f"{base}/api/catalog/entities/by-name/" + "/".join(quote(part, safe="") for part in parts)
