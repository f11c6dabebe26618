"""`$text`, `$json` and `$yaml` placeholders: a value read from a file beside the descriptor."""

from __future__ import annotations

import os

import orjson

from catalog.documents import DEFAULT_MAX_FILE_BYTES, DocumentError, decode, read_at_most, read_documents
from catalog.locations import Root

PLACEHOLDERS = ("$text", "$json", "$yaml")


class SubstitutionError(ValueError):
    """A placeholder whose file is missing, outside the root, too large or unreadable."""


def may_have_placeholders(text: str) -> bool:
    """A cheap test that spares the walk for the vast majority of files."""
    return "$text" in text or "$json" in text or "$yaml" in text


def substitute(
    value: object, descriptor_path: str, root: Root, max_bytes: int = DEFAULT_MAX_FILE_BYTES, where: str = ""
) -> object:
    """The value with every `{$text|$json|$yaml: path}` mapping replaced by that file's content."""
    if isinstance(value, dict):
        if len(value) == 1:
            key, target = next(iter(value.items()))
            if key in PLACEHOLDERS:
                try:
                    return _resolve(key, target, descriptor_path, root, max_bytes)
                except SubstitutionError as error:
                    raise SubstitutionError(f'"{where}": {error}') from None
        return {
            key: substitute(item, descriptor_path, root, max_bytes, f"{where}.{key}" if where else str(key))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [substitute(item, descriptor_path, root, max_bytes, f"{where}.{i}") for i, item in enumerate(value)]
    return value


def _resolve(kind: str, target: object, descriptor_path: str, root: Root, max_bytes: int) -> object:
    if not isinstance(target, str) or not target:
        raise SubstitutionError(f"Placeholder {kind} must name a file, got {target!r}")
    if "://" in target:
        raise SubstitutionError(f"Placeholder {kind} target {target!r} is a URL; only relative files are read here")
    path = os.path.normpath(os.path.join(os.path.dirname(descriptor_path), target))
    if not root.contains(path):
        raise SubstitutionError(f"Placeholder {kind} target {target!r} resolves outside the ingested root {root.path}")
    try:
        text = decode(read_at_most(path, max_bytes), max_bytes)
    except OSError as error:
        raise SubstitutionError(f"Placeholder {kind} could not read {target!r}: {error.strerror}") from None
    except DocumentError as error:
        raise SubstitutionError(f"Placeholder {kind} could not read {target!r}: {error.message}") from None
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
