"""Where an entity came from: the scaffolder template that started it, the template version, when it was created.

Backstage's `catalog:write` action writes `backstage.io/source-template`; the community scaffolder
relation processor reads `spec.scaffoldedFrom`; organisations add their own annotation keys. These
are read once, at ingest, into columns, so adoption is counted in SQL without opening descriptors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from catalog.columns import MAX_REF, MAX_SPEC_VALUE, too_long
from catalog.refs import DEFAULT_NAMESPACE, RefError, canonical_ref

SOURCE_TEMPLATE = "backstage.io/source-template"
TEMPLATE_VERSION = "backstage.io/template-version"
CREATED_AT = "backstage.io/createdAt"
SCAFFOLDED_FROM = "scaffoldedFrom"  # spec field, and the relation it emits (inverse: scaffolderOf)


@dataclass(frozen=True, slots=True)
class Provenance:
    """An entity's template ref, template version and creation time, each None when not declared,
    and what was wrong with any that could not be read (warnings: the entity is kept)."""

    template_ref: str | None = None
    template_version: str | None = None
    created_at: datetime | None = None
    from_spec: bool = False  # the template came from spec.scaffoldedFrom
    problems: tuple[str, ...] = ()


NONE_DECLARED = Provenance()


def read_provenance(
    metadata: Mapping[str, object],
    spec: Mapping[str, object],
    extra_keys: Sequence[str] = (),
    namespace: str | None = None,
) -> Provenance:
    """The provenance a descriptor declares.

    The template is the first of: the `backstage.io/source-template` annotation, `spec.scaffoldedFrom`,
    then each of `extra_keys` (annotations) in order. A short ref (`python-service`) means a Template
    in the entity's own namespace (`namespace`, when the caller has it at hand).
    """
    annotations = metadata.get("annotations")
    if not isinstance(annotations, Mapping):
        annotations = {}
    if (  # most entities: nothing to read (this runs for every entity of a bulk ingest)
        SOURCE_TEMPLATE not in annotations
        and TEMPLATE_VERSION not in annotations
        and CREATED_AT not in annotations
        and SCAFFOLDED_FROM not in spec
        and not extra_keys
    ):
        return NONE_DECLARED
    problems: list[str] = []
    template_ref = None
    from_spec = False
    candidates = [
        (f'annotation "{SOURCE_TEMPLATE}"', annotations.get(SOURCE_TEMPLATE), False),
        ("spec.scaffoldedFrom", spec.get(SCAFFOLDED_FROM), True),
        *((f'annotation "{key}"', annotations.get(key), False) for key in extra_keys),
    ]
    for where, value, in_spec in candidates:
        if value is None or value == "":
            continue
        try:
            namespace = namespace or str(metadata.get("namespace") or DEFAULT_NAMESPACE)
            ref = canonical_ref(value, default_kind="template", default_namespace=namespace)
        except RefError as error:
            problems.append(f"{where} is not a template reference: {error}")
            continue
        if not _storable(ref, MAX_REF):
            problems.append(f"{where} is longer than {MAX_REF} characters or contains a NUL character")
            continue
        template_ref, from_spec = ref, in_spec
        break
    template_version = None
    version = annotations.get(TEMPLATE_VERSION)
    if isinstance(version, str | int | float) and not isinstance(version, bool) and str(version).strip():
        template_version = str(version).strip()
        if not _storable(template_version, MAX_SPEC_VALUE):
            problems.append(f'annotation "{TEMPLATE_VERSION}" is longer than {MAX_SPEC_VALUE} characters')
            template_version = None
    created_at = None
    created = annotations.get(CREATED_AT)
    if created is not None:
        created_at = parse_timestamp(created)
        if created_at is None:
            problems.append(f'annotation "{CREATED_AT}" is not an ISO 8601 timestamp: {str(created)[:80]!r}')
    return Provenance(template_ref, template_version, created_at, from_spec, tuple(problems))


def _storable(text: str, limit: int) -> bool:
    return not too_long(text, limit) and "\x00" not in text


def parse_timestamp(value: object) -> datetime | None:
    """An ISO 8601 timestamp (a bare date means its midnight) as UTC; None when it is not one.

    A timestamp without an offset is taken as UTC.
    """
    if not isinstance(value, str):
        return None
    try:
        return to_utc(datetime.fromisoformat(value.strip()))
    except (ValueError, OverflowError):  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        return None


def to_utc(moment: datetime) -> datetime:
    """A moment in UTC, as timestamps are stored (SQLite compares them as text); naive means UTC.

    Raises OverflowError for a moment that is out of range in UTC (e.g. year 1 at +01:00).
    """
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def extraction_key(extra_keys: Sequence[str]) -> bytes:
    """A hashing key that changes when the configured annotation keys do, so that files and entities
    ingested under other keys count as changed and their provenance is read again (empty: none)."""
    if not extra_keys:
        return b""
    return hashlib.blake2b("\n".join(extra_keys).encode(), digest_size=16).digest()
