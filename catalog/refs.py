"""Entity references: `[kind:][namespace/]name`, parsed the way Backstage's `ref.ts` does."""

from __future__ import annotations

import functools
from dataclasses import dataclass

DEFAULT_NAMESPACE = "default"


class RefError(ValueError):
    """An entity reference that cannot be parsed, or lacks a kind with no default."""


@dataclass(frozen=True, slots=True)
class EntityName:
    """A parsed reference; parts are kept as written, `ref` is the canonical lower-case form."""

    kind: str
    namespace: str
    name: str

    @property
    def ref(self) -> str:
        return f"{self.kind}:{self.namespace}/{self.name}".lower()


def split_ref(text: object) -> tuple[str | None, str | None, str]:
    """Split a reference string into (kind, namespace, name) without applying defaults.

    Mirrors the current upstream parser: the first ':' separates the kind unless a '/'
    comes before it; the first '/' separates the namespace; the rest is the name.
    """
    if not isinstance(text, str):
        raise RefError(f"Entity reference must be a string, got {type(text).__name__}")
    colon = text.find(":")
    slash = text.find("/")
    if slash != -1 and slash < colon:
        colon = -1
    kind = None if colon == -1 else text[:colon]
    namespace = None if slash == -1 else text[colon + 1 : slash]
    name = text[max(colon + 1, slash + 1) :]
    if kind == "" or namespace == "" or name == "":
        raise RefError(f'Entity reference "{text}" was not on the form [<kind>:][<namespace>/]<name>')
    return kind, namespace, name


def parse_ref(
    text: object,
    *,
    default_kind: str | None = None,
    default_namespace: str = DEFAULT_NAMESPACE,
) -> EntityName:
    """Parse a reference, filling in the kind and namespace from the defaults given."""
    kind, namespace, name = split_ref(text)
    return EntityName(_kind_or_default(text, kind, default_kind), namespace or default_namespace, name)


def canonical_ref(text: object, *, default_kind: str | None = None, default_namespace: str = DEFAULT_NAMESPACE) -> str:
    """The canonical `kind:namespace/name` form, lower-cased, of a reference string (the hot path of ingest)."""
    if isinstance(text, str):
        return _canonical(text, default_kind, default_namespace)
    split_ref(text)  # raises the RefError for a non-string
    raise AssertionError("unreachable")


@functools.lru_cache(maxsize=32768)
def _canonical(text: str, default_kind: str | None, default_namespace: str) -> str:
    # Owners, systems, APIs and dependencies are referred to again and again across a catalogue;
    # 32k entries (a few MB) hold a 50k-entity catalogue's targets, 8k missed half of them.
    kind, namespace, name = split_ref(text)
    return f"{_kind_or_default(text, kind, default_kind)}:{namespace or default_namespace}/{name}".lower()


def _kind_or_default(text: object, kind: str | None, default_kind: str | None) -> str:
    kind = kind or default_kind
    if not kind:
        raise RefError(
            f'Entity reference "{text}" had missing or empty kind (e.g. did not start with "component:" or similar)'
        )
    return kind


def entity_ref(kind: str, namespace: str | None, name: str) -> str:
    """The canonical reference of an entity from its own kind, namespace and name."""
    return f"{kind}:{namespace or DEFAULT_NAMESPACE}/{name}".lower()
