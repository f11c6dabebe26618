"""Turning one descriptor file into entity rows, Location targets and processing errors.

This runs in worker processes during a bulk ingest, so it returns compact, picklable rows
(the body already serialised to JSON) rather than Python documents.
"""

from __future__ import annotations

import gc
import hashlib
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from sys import intern
from typing import NamedTuple, Protocol

import orjson

from catalog.columns import MAX_REF, MAX_SPEC_VALUE, too_long
from catalog.documents import DEFAULT_MAX_FILE_BYTES, Document, DocumentError, decode, read_at_most, read_documents
from catalog.locations import LocationError, Root, location_string, optional_pattern, resolve_target
from catalog.provenance import SCAFFOLDED_FROM, extraction_key, read_provenance
from catalog.refs import DEFAULT_NAMESPACE, entity_ref
from catalog.relations import spec_references
from catalog.substitutions import SubstitutionError, TargetReader, file_reader, may_have_placeholders, substitute
from catalog.validation import validate_entity

MANAGED_BY_LOCATION = "backstage.io/managed-by-location"
MANAGED_BY_ORIGIN_LOCATION = "backstage.io/managed-by-origin-location"
ERROR = "error"
WARNING = "warning"

# Stable codes for what went wrong, for frontends and for telling apart who manages a record.
UNREADABLE_FILE = "unreadable-file"
YAML_ERROR = "yaml-error"
INVALID_ENTITY = "invalid-entity"
INVALID_REFERENCE = "invalid-reference"
PLACEHOLDER = "placeholder"
LOCATION = "location"
DUPLICATE_ENTITY = "duplicate-entity"
ANNOTATION = "annotation"
UNRESOLVED_RELATION = "unresolved-relation"  # recomputed across the catalogue after every change

# Annotations Backstage reads as location refs (`<type>:<target>`, parseLocationRef).
LOCATION_REF_ANNOTATIONS = ("backstage.io/source-location", "backstage.io/techdocs-ref")


@dataclass(frozen=True, slots=True)
class Reading:
    """How every descriptor of an ingest or refresh is read."""

    max_bytes: int = DEFAULT_MAX_FILE_BYTES
    provenance_keys: tuple[str, ...] = ()  # annotations that name a source template, besides Backstage's


class Place(Protocol):
    """Where a descriptor was read, and how to follow what it points at from there."""

    @property
    def key(self) -> str:
        """The path or URL read: FileResult.path."""

    @property
    def origin(self) -> str:
        """The location string of the registered location that led here."""

    @property
    def follows(self) -> str:
        """The Location type it follows: "file" in a folder, "url" remotely, "" none."""

    @property
    def description(self) -> str:
        """What reads here, for messages: "local file source"."""

    @property
    def keeps_annotations(self) -> bool:
        """Whether the upstream already said where the entity is managed (another Backstage)."""

    def reader(self) -> TargetReader:
        """How `$text`/`$json`/`$yaml` targets are read from here."""

    def resolve_target(self, target: object) -> str:
        """The path, glob or URL a Location target names from here; LocationError when refused."""

    def optional(self, target: str) -> str:
        """The resolved target marked so that its absence is no error (`presence: optional`)."""


@dataclass(frozen=True, slots=True)
class LocalPlace:
    """A file inside a folder source: its targets and placeholders stay inside the root."""

    key: str
    root: Root
    origin: str
    max_bytes: int = DEFAULT_MAX_FILE_BYTES
    follows: str = "file"
    description: str = "local file source"
    keeps_annotations: bool = False

    def reader(self) -> TargetReader:
        """Placeholder files beside the descriptor."""
        return file_reader(self.key, self.root, self.max_bytes)

    def resolve_target(self, target: object) -> str:
        """A path or glob inside the root."""
        return resolve_target(target, self.key, self.root)

    def optional(self, target: str) -> str:
        """A glob that matches just the target."""
        return optional_pattern(target)


@dataclass(frozen=True, slots=True)
class FileTask:
    """A file to read, the root it must stay inside, and the registered location that led to it."""

    path: str
    root: str
    origin: str
    max_bytes: int = DEFAULT_MAX_FILE_BYTES
    provenance_keys: tuple[str, ...] = ()  # annotations that name a source template, besides Backstage's


class EntityRow(NamedTuple):
    """A valid entity, ready to store: indexed columns, side-table values and the JSON body.

    A NamedTuple because tens of thousands cross from worker processes: tuples pickle fastest.
    """

    ref: str
    kind: str
    namespace: str
    name: str
    title: str | None
    description: str | None
    type: str | None
    lifecycle: str | None
    owner_ref: str | None
    system_ref: str | None
    tags: list[str]
    relations: list[tuple[str, str]]  # (type, target ref) as declared; inverses are read from the same rows
    body: bytes
    content_hash: str
    line: int
    template_ref: str | None
    template_version: str | None
    created_at: datetime | None
    uid: str | None = None  # kept from an upstream catalogue that assigned one (else Stairway assigns its own)


@dataclass(frozen=True, slots=True)
class Problem:
    """A processing error or warning found in a file."""

    message: str
    code: str
    line: int | None = None
    entity_ref: str | None = None
    severity: str = ERROR


@dataclass(slots=True)
class FileResult:
    """What one file yielded; `unchanged` files (same hash as last time) carry only their hash."""

    path: str
    content_hash: str
    unchanged: bool = False
    entities: list[EntityRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    volatile: bool = False  # it takes values from placeholder files, which may change while it does not


def start_worker() -> None:
    """Set up a worker process (it lives here so a worker imports nothing but the parsing modules).

    Parsed documents and rows are acyclic: reference counting frees them, and the cyclic
    collector's passes over millions of young objects only cost time. A worker also leaves as
    soon as its parent is gone (killed mid-ingest), instead of lingering as an orphan.
    """
    gc.disable()
    parent = os.getppid()

    def leave_with_parent() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=leave_with_parent, name="parent-watch", daemon=True).start()


def process_files(tasks: list[FileTask]) -> list[FileResult]:
    """Process a batch of files (one unit of work for a worker process)."""
    return [process_file(task) for task in tasks]


def process_file(task: FileTask) -> FileResult:
    """Read, parse, validate and flatten one descriptor file."""
    try:
        data = read_at_most(task.path, task.max_bytes)
    except OSError as error:
        return FileResult(task.path, "", problems=[Problem(f"Could not read file: {error.strerror}", UNREADABLE_FILE)])
    place = LocalPlace(task.path, Root(task.root), location_string(task.origin), task.max_bytes)
    return process_bytes(place, data, task.max_bytes, task.provenance_keys)


def process_bytes(place: Place, data: bytes, max_bytes: int, provenance_keys: tuple[str, ...] = ()) -> FileResult:
    """Parse, validate and flatten the descriptors in `data`, as read at `place`."""
    hash_key = extraction_key(provenance_keys)
    result = FileResult(place.key, _digest(data, hash_key))
    try:
        text = decode(data, max_bytes)
    except DocumentError as error:
        result.problems.append(Problem(error.message, UNREADABLE_FILE, error.line))
        return result
    reader = place.reader() if may_have_placeholders(text) else None
    result.volatile = reader is not None
    for document in read_documents(text):
        if isinstance(document, DocumentError):
            result.problems.append(Problem(document.message, YAML_ERROR, document.line))
        else:
            _process_document(document, place, reader, provenance_keys, hash_key, result)
    return result


def process_entity(place: Place, entity: dict[str, object], provenance_keys: tuple[str, ...] = ()) -> FileResult:
    """Validate and flatten an entity another catalogue already parsed (its body is stored as given,
    less the `relations` and `status` Stairway derives itself)."""
    result = FileResult(place.key, entity_hash(entity, provenance_keys))
    _process_document(Document(entity, 0), place, None, provenance_keys, extraction_key(provenance_keys), result)
    return result


def entity_hash(entity: dict[str, object], provenance_keys: tuple[str, ...] = ()) -> str:
    """The content hash `process_entity` records: of the entity's JSON with sorted keys."""
    try:
        encoded = orjson.dumps(entity, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # keys that are not strings cannot come from JSON; from YAML they might
        encoded = orjson.dumps(entity, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return _digest(encoded, extraction_key(provenance_keys))


def _process_document(
    document: Document,
    place: Place,
    reader: TargetReader | None,
    provenance_keys: tuple[str, ...],
    hash_key: bytes,
    result: FileResult,
) -> None:
    data = document.data
    line = document.line
    if data is None:  # an empty document, e.g. a trailing `---`
        return
    ref = _ref_of(data)
    if reader is not None:
        try:
            data = substitute(data, reader)
        except SubstitutionError as error:
            result.problems.append(Problem(str(error), PLACEHOLDER, line, ref))
            return
        except RecursionError:
            result.problems.append(
                Problem("Document nests too deeply to resolve its placeholders", PLACEHOLDER, line, ref)
            )
            return
        ref = _ref_of(data)  # its kind, name or namespace may have been placeholders
    problems = validate_entity(data)
    if problems:
        subject = ref or "entity"
        result.problems.append(
            Problem(f"Policy check failed for {subject}; " + "; ".join(problems), INVALID_ENTITY, line, ref)
        )
        return
    assert isinstance(data, dict) and ref is not None  # validate_entity guarantees the envelope
    metadata: dict[str, object] = data["metadata"]
    spec = data.get("spec") or {}
    kind: str = data["kind"]
    namespace = str(metadata.get("namespace") or DEFAULT_NAMESPACE)
    pairs, ref_problems = spec_references(kind, namespace, spec)
    if ref_problems:
        result.problems.append(
            Problem(f"Processing failed for {ref}; " + "; ".join(ref_problems), INVALID_REFERENCE, line, ref)
        )
        return
    too_big = _column_problem(metadata, spec, pairs)
    if too_big:
        result.problems.append(Problem(f"Entity {ref} cannot be stored: {too_big}", INVALID_ENTITY, line, ref))
        return
    body = _stored_body(data, metadata, namespace, place)
    try:
        encoded = _to_json(body)
    except orjson.JSONEncodeError as error:
        result.problems.append(Problem(f"Entity {ref} cannot be stored as JSON: {error}", INVALID_ENTITY, line, ref))
        return
    # Only an entity that will be stored gets warnings, and only a stored Location is followed.
    _check_location_ref_annotations(metadata, line, ref, result)
    provenance = read_provenance(metadata, spec, provenance_keys, namespace)
    result.problems.extend(Problem(message, ANNOTATION, line, ref, WARNING) for message in provenance.problems)
    if provenance.from_spec and provenance.template_ref:
        pairs.append((SCAFFOLDED_FROM, provenance.template_ref))
    if kind.lower() == "location" and place.follows:
        _collect_targets(spec, place, line, ref, result)
    # Interned, the few distinct kinds, types, owners and relation names pickle once per batch
    # instead of once per entity: the parent unpickles every row, on the critical path.
    pairs = sorted({(intern(relation), intern(target)) for relation, target in pairs})
    owner = next((target for relation, target in pairs if relation == "ownedBy"), None)
    system = next((target for relation, target in pairs if relation == "partOf" and target.startswith("system:")), None)
    tags = metadata.get("tags") or []
    result.entities.append(
        EntityRow(
            ref=ref,
            kind=intern(kind),
            namespace=intern(namespace),
            name=str(metadata["name"]),
            title=_text(metadata.get("title")),
            description=_text(metadata.get("description")),
            type=_interned_text(spec.get("type")),
            lifecycle=_interned_text(spec.get("lifecycle")),
            owner_ref=owner,
            system_ref=system,
            tags=sorted({intern(str(tag)) for tag in tags}) if isinstance(tags, list) else [],
            relations=pairs,
            body=encoded,
            content_hash=_digest(encoded, hash_key),
            line=line,
            template_ref=provenance.template_ref,
            template_version=provenance.template_version,
            created_at=provenance.created_at,
            uid=_upstream_uid(metadata) if place.keeps_annotations else None,
        )
    )


def _to_json(body: dict[str, object]) -> bytes:
    """JSON bytes; numeric or boolean mapping keys (rare in YAML) become strings, as in JavaScript."""
    try:
        return orjson.dumps(body)  # about twice as fast as with OPT_NON_STR_KEYS
    except TypeError:
        return orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)


def file_hash(path: str, provenance_keys: tuple[str, ...] = ()) -> str | None:
    """The content hash `process_file` records for a file, or None when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return content_hash(handle.read(), provenance_keys)
    except OSError:
        return None


def content_hash(data: bytes, provenance_keys: tuple[str, ...] = ()) -> str:
    """The content hash `process_bytes` records for these bytes."""
    return _digest(data, extraction_key(provenance_keys))


def _digest(data: bytes, key: bytes = b"") -> str:
    return hashlib.blake2b(data, digest_size=16, key=key).hexdigest()


def _stored_body(
    data: dict[str, object], metadata: dict[str, object], namespace: str, place: Place
) -> dict[str, object]:
    """The descriptor as stored: namespace defaulted, location annotations set, relations derived later.

    Changes the freshly parsed document in place (copying only the annotations, which a YAML alias
    may share with another document), as copying every body costs a bulk ingest seconds.
    """
    annotations = dict(metadata.get("annotations") or {})  # type: ignore[call-overload]
    if not (place.keeps_annotations and MANAGED_BY_LOCATION in annotations):
        annotations[MANAGED_BY_LOCATION] = location_string(place.key)
        annotations[MANAGED_BY_ORIGIN_LOCATION] = place.origin
    metadata["namespace"] = namespace
    metadata["annotations"] = annotations
    data.pop("relations", None)
    data.pop("status", None)
    return data


def _column_problem(
    metadata: Mapping[str, object], spec: Mapping[str, object], pairs: list[tuple[str, str]]
) -> str | None:
    """What would not fit the indexed columns: PostgreSQL refuses over-long values and NUL characters
    where SQLite takes them, and one refused row would fail the whole ingest."""
    values: list[tuple[str, object, int]] = [
        ("spec.type", spec.get("type"), MAX_SPEC_VALUE),
        ("spec.lifecycle", spec.get("lifecycle"), MAX_SPEC_VALUE),
        ("metadata.title", metadata.get("title"), 0),
        ("metadata.description", metadata.get("description"), 0),
    ]
    values += [(f"reference {target[:40]!r}...", target, MAX_REF) for _relation, target in pairs]
    for where, value, limit in values:
        if not isinstance(value, str):
            continue
        if limit and too_long(value, limit):
            return f'"{where}" is longer than {limit} characters'
        if "\x00" in value:
            return f'"{where}" contains a NUL character'
    return None


def _check_location_ref_annotations(metadata: Mapping[str, object], line: int, ref: str, result: FileResult) -> None:
    """Warn (the entity is kept, as upstream keeps it) about annotations Backstage's parseLocationRef
    will refuse when a plugin reads them, e.g. a source location without its `url:` prefix."""
    annotations = metadata.get("annotations")
    if not isinstance(annotations, dict):
        return
    for key in LOCATION_REF_ANNOTATIONS:
        value = annotations.get(key)
        if value is None:
            continue
        problem = location_ref_problem(value)
        if problem:
            message = f'"metadata.annotations.{key}" is not a valid location reference: {problem}'
            result.problems.append(Problem(message, ANNOTATION, line, ref, WARNING))


def location_ref_problem(value: str) -> str | None:
    """Why Backstage's parseLocationRef would refuse this `<type>:<target>` string, or None."""
    type_, colon, target = value.partition(":")
    if not colon or not type_.strip() or not target.strip():
        return f"expected '<type>:<target>', e.g. 'url:https://host/path', but found \"{value}\""
    if type_.strip() in ("http", "https"):
        return f"found \"{value}\"; prefix it with 'url:', e.g. 'url:{value}'"
    return None


def _collect_targets(spec: Mapping[str, object], place: Place, line: int, ref: str, result: FileResult) -> None:
    targets = list(spec.get("targets") or [])  # type: ignore[call-overload]
    if spec.get("target") is not None:
        targets.insert(0, spec["target"])
    kind = str(spec.get("type") or place.follows)
    if kind != place.follows:
        result.problems.append(
            Problem(
                f'Location {ref} has type "{kind}"; a {place.description} follows only "{place.follows}" locations, '
                f"so its {len(targets)} target(s) were not read",
                LOCATION,
                line,
                ref,
            )
        )
        return
    optional = spec.get("presence") == "optional"
    for target in targets:
        try:
            resolved = place.resolve_target(target)
        except LocationError as error:
            result.problems.append(Problem(str(error), LOCATION, line, ref))
            continue
        result.targets.append(place.optional(resolved) if optional else resolved)


def _ref_of(data: object) -> str | None:
    """The entity's canonical ref when its kind and name are readable, for error messages."""
    if not isinstance(data, dict):
        return None
    metadata = data.get("metadata")
    kind = data.get("kind")
    if not isinstance(metadata, dict) or not isinstance(kind, str) or not isinstance(metadata.get("name"), str):
        return None
    namespace = metadata.get("namespace")
    return entity_ref(kind, namespace if isinstance(namespace, str) else None, metadata["name"])


UID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _upstream_uid(metadata: Mapping[str, object]) -> str | None:
    """The `metadata.uid` another Backstage assigned, when it is a UUID (so the same entity keeps one id)."""
    uid = metadata.get("uid")
    return uid.lower() if isinstance(uid, str) and UID.fullmatch(uid) else None


def _interned_text(value: object) -> str | None:
    return intern(value) if isinstance(value, str) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
