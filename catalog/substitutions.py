"""`$text`, `$json` and `$yaml` placeholders: a value read from a file beside the descriptor."""

from __future__ import annotations

import os
from collections.abc import Callable

import orjson

from catalog.documents import DEFAULT_MAX_FILE_BYTES, DocumentError, decode, read_at_most, read_documents
from catalog.locations import Root

PLACEHOLDERS = ("$text", "$json", "$yaml")


class SubstitutionError(ValueError):
    """A placeholder whose file is missing, outside the root, too large or unreadable."""


def may_have_placeholders(text: str) -> bool:
    """A cheap test that spares the walk for the vast majority of files."""
    return "$text" in text or "$json" in text or "$yaml" in text


# Reads a placeholder's target (kind, target) as text, or raises SubstitutionError saying why not.
TargetReader = Callable[[str, str], str]


def substitute(value: object, read: TargetReader, where: str = "") -> object:
    """The value with every `{$text|$json|$yaml: target}` mapping replaced by what `read` finds there."""
    if isinstance(value, dict):
        if len(value) == 1:
            key, target = next(iter(value.items()))
            if key in PLACEHOLDERS:
                try:
                    return _resolve(key, target, read)
                except SubstitutionError as error:
                    raise SubstitutionError(f'"{where}": {error}') from None
        return {key: substitute(item, read, f"{where}.{key}" if where else str(key)) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, read, f"{where}.{i}") for i, item in enumerate(value)]
    return value


def file_reader(descriptor_path: str, root: Root, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> TargetReader:
    """Reads placeholder targets as files beside the descriptor, never outside the root."""

    def read(kind: str, target: str) -> str:
        if "://" in target:
            raise SubstitutionError(f"Placeholder {kind} target {target!r} is a URL; only relative files are read here")
        path = os.path.normpath(os.path.join(os.path.dirname(descriptor_path), target))
        if not root.contains(path):
            raise SubstitutionError(
                f"Placeholder {kind} target {target!r} resolves outside the ingested root {root.path}"
            )
        try:
            return decode(read_at_most(path, max_bytes), max_bytes)
        except OSError as error:
            raise SubstitutionError(f"Placeholder {kind} could not read {target!r}: {error.strerror}") from None
        except DocumentError as error:
            raise SubstitutionError(f"Placeholder {kind} could not read {target!r}: {error.message}") from None

    return read


def _resolve(kind: str, target: object, read: TargetReader) -> object:
    if not isinstance(target, str) or not target:
        raise SubstitutionError(f"Placeholder {kind} must name a file, got {target!r}")
    text = read(kind, target)
    if kind == "$text":
        return text
    if kind == "$json":
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError as error:
            raise SubstitutionError(f"Placeholder $json could not parse {target!r}: {error}") from None
    # Through read_documents, so a placeholder file gets the same alias-bomb and depth guards.
    documents = list(read_documents(text))
    if len(documents) != 1:
        raise SubstitutionError(f"Placeholder $yaml needs exactly one document in {target!r}, found {len(documents)}")
    document = documents[0]
    if isinstance(document, DocumentError):
        raise SubstitutionError(f"Placeholder $yaml could not parse {target!r}: {document.message}")
    return document.data
