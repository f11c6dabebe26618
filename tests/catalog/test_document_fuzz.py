"""Property tests: whatever a descriptor file holds, reading it (the same `process_bytes` every local and
remote file goes through: decode, parse, substitute placeholders, validate, flatten) yields entities or
error records with a message, never an exception; and every entity that comes out reads back the same."""

from __future__ import annotations

import os
import re
from pathlib import Path

import orjson
import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from catalog.documents import Document, read_documents
from catalog.locations import Root
from catalog.processing import (
    ANNOTATION,
    ERROR,
    INVALID_ENTITY,
    INVALID_REFERENCE,
    LOCATION,
    MANAGED_BY_LOCATION,
    MANAGED_BY_ORIGIN_LOCATION,
    PLACEHOLDER,
    UNREADABLE_FILE,
    WARNING,
    YAML_ERROR,
    EntityRow,
    FileResult,
    LocalPlace,
    process_bytes,
    process_entity,
)
from catalog.refs import entity_ref
from catalog.validation import validate_entity

MAX_BYTES = 64 * 1024
CODES = {UNREADABLE_FILE, YAML_ERROR, INVALID_ENTITY, INVALID_REFERENCE, PLACEHOLDER, LOCATION, ANNOTATION}
FUZZ = settings(max_examples=200, derandomize=True, deadline=None, database=None)

# Files a placeholder may name: beside the descriptor, and one outside the root.
PLACEHOLDER_FILES = {
    "name.txt": "fuzzed",
    "kind.txt": "Component",
    "form.yaml": "name: from-yaml\nnamespace: ns\n",
    "form.json": '{"name": "from-json", "tags": ["a", "b"]}',
    "targets.json": '["./a.yaml", "../outside.yaml"]',
    "deep.json": "[" * 2000 + "]" * 2000,
    "bomb.yaml": "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(5)),
    "latin1.txt": "caf\xe9",
}


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> LocalPlace:
    """Where the fuzzed file is read: a descriptor in a root folder holding the placeholder files."""
    base = Path(os.path.realpath(tmp_path_factory.mktemp("fuzz")))
    root = base / "root"
    root.mkdir()
    for name, text in PLACEHOLDER_FILES.items():
        (root / name).write_bytes(text.encode("latin-1" if name == "latin1.txt" else "utf-8"))
    (base / "outside.txt").write_text("top secret")
    key = str(root / "catalog-info.yaml")
    return LocalPlace(key, Root(str(root)), f"file:{key}")


def read(place: LocalPlace, data: bytes) -> FileResult:
    """Read `data` as the file at `place`, and check what every reading must be."""
    result = process_bytes(place, data, MAX_BYTES)

    assert result.path == place.key and re.fullmatch(r"[0-9a-f]{32}", result.content_hash)
    try:
        text: str | None = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    last_line = len(text.splitlines()) + 1 if text is not None else data.count(b"\n") + 1
    for problem in result.problems:
        assert problem.message.strip(), problem
        assert problem.code in CODES, problem
        assert problem.severity in (ERROR, WARNING), problem
        assert problem.line is None or 1 <= problem.line <= last_line, (problem, last_line)
        assert problem.severity == ERROR or problem.entity_ref in {row.ref for row in result.entities}, problem
    if not result.entities and not any(problem.severity == ERROR for problem in result.problems):
        # Nothing stored and nothing said: only for a file of empty documents.
        assert text is not None
        assert all(isinstance(document, Document) and document.data is None for document in read_documents(text))
    for row in result.entities:
        reads_back_the_same(place, row, result)
    return result


def reads_back_the_same(place: LocalPlace, row: EntityRow, result: FileResult) -> None:
    """A stored entity is valid as stored, and stored again (as another catalogue would hand it over)
    it is the same row."""
    body = orjson.loads(row.body)
    assert validate_entity(body) == []
    metadata = body["metadata"]
    assert row.ref == entity_ref(body["kind"], metadata["namespace"], metadata["name"])
    assert metadata["annotations"][MANAGED_BY_LOCATION] == f"file:{place.key}"
    assert metadata["annotations"][MANAGED_BY_ORIGIN_LOCATION] == place.origin
    assert "relations" not in body and "status" not in body

    again = process_entity(place, body)

    said = {(p.code, p.severity, p.message) for p in result.problems if p.entity_ref == row.ref}
    assert {(p.code, p.severity, p.message) for p in again.problems} <= said
    (same,) = again.entities
    assert same._replace(line=row.line) == row
    assert set(again.targets) <= set(result.targets)


# --- (a) arbitrary bytes and (b) arbitrary text ---------------------------------------------------


@FUZZ
@given(data=st.binary(max_size=4096))
@example(data=b"\xff\xfe\x00\x00")
@example(data=b"a: \xed\xa0\x80\n")
def test_arbitrary_bytes_are_entities_or_errors(place: LocalPlace, data: bytes) -> None:
    read(place, data)


@FUZZ
@given(text=st.text(max_size=2000))
@example(text="\x00")
@example(text="a: b\r\x85c: [\u2028")
def test_arbitrary_text_is_entities_or_errors(place: LocalPlace, text: str) -> None:
    read(place, text.encode("utf-8"))


# YAML's structure and Stairway's own keys, so that random text reaches the parser's and the
# validator's corners: anchors and aliases, tags, merge keys, flow and block collections, placeholders.
TOKENS = [
    "apiVersion: backstage.io/v1alpha1\n",
    "apiVersion: scaffolder.backstage.io/v1beta3\n",
    "kind: Component\n",
    "kind: Location\n",
    "kind: {$text: ./kind.txt}\n",
    "metadata:\n",
    "metadata: {$yaml: ./form.yaml}\n",
    "  name: svc\n",
    "  name: {$text: ./name.txt}\n",
    "  namespace: ns\n",
    "spec:\n",
    "  type: service\n  lifecycle: production\n  owner: team-a\n",
    "  targets: [./a.yaml, ../b.yaml, /etc/passwd, 'file:///etc/passwd']\n",
    "  targets: {$json: ./targets.json}\n",
    "  definition: {$yaml: ./bomb.yaml}\n",
    "  definition: {$json: ./deep.json}\n",
    "  description: {$text: ../outside.txt}\n",
    "  description: {$text: ./latin1.txt}\n",
    "&a ",
    "*a",
    "&b ",
    "*b",
    "<<: ",
    "!!int ",
    "!!str ",
    "!!float ",
    "!!binary ",
    "!!timestamp ",
    "!!set ",
    "!!omap ",
    "!custom ",
    "!!python/object:os.system ",
    "? ",
    ": ",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ", ",
    "'",
    '"',
    '"\\x24text"',
    "|\n",
    ">-\n",
    "~",
    "0x1F",
    "0o17",
    "0755",
    ".inf",
    ".nan",
    "1e400",
    "9" * 5000,
    "true",
    "x",
    "#",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
    "%TAG ! tag:example.com,2000:\n",
    "\n",
    "  ",
    "\t",
    "\r\n",
    "\ufeff",
    "caf\xe9",
]


@FUZZ
@given(tokens=st.lists(st.sampled_from(TOKENS), max_size=60))
def test_yaml_like_text_is_entities_or_errors(place: LocalPlace, tokens: list[str]) -> None:
    read(place, "".join(tokens).encode("utf-8"))


# --- (c) documents built from JSON-like values, and entity-shaped ones ----------------------------


SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=25,
)


def dump(documents: list[object]) -> bytes:
    return yaml.safe_dump_all(documents, allow_unicode=True, sort_keys=False).encode("utf-8")


@FUZZ
@given(documents=st.lists(VALUES, min_size=1, max_size=3))
def test_documents_of_json_like_values_are_entities_or_errors(place: LocalPlace, documents: list[object]) -> None:
    read(place, dump(documents))


PLACEHOLDERS = st.builds(
    lambda kind, target: {kind: target},
    st.sampled_from(["$text", "$json", "$yaml"]),
    st.sampled_from(
        [f"./{name}" for name in PLACEHOLDER_FILES]
        + ["./missing.txt", "../outside.txt", "/etc/passwd", "https://example.com/x", ""]
    ),
)

# A valid entity of each built-in kind; the fuzz changes a few of its fields.
VALID: dict[str, dict[str, object]] = {
    "Component": {"type": "service", "lifecycle": "production", "owner": "team-a", "dependsOn": ["resource:db"]},
    "API": {"type": "openapi", "lifecycle": "production", "owner": "team-a", "definition": "openapi: 3.0.0"},
    "Resource": {"type": "database", "owner": "group:team-a", "system": "payments"},
    "System": {"owner": "team-a", "domain": "money"},
    "Domain": {"owner": "team-a"},
    "Group": {"type": "team", "children": [], "parent": "org", "profile": {"displayName": "A"}},
    "User": {"memberOf": ["team-a"], "profile": {"email": "jo@example.com"}},
    "Location": {"targets": ["./a.yaml", "./**/catalog-info.yaml", "../outside.yaml"]},
    "Template": {"type": "service", "owner": "team-a", "steps": [{"action": "fetch:plain"}], "parameters": []},
}
# Where a change goes: a path of keys from the entity's top.
FIELDS = [
    ("apiVersion",),
    ("kind",),
    ("metadata",),
    ("metadata", "name"),
    ("metadata", "namespace"),
    ("metadata", "title"),
    ("metadata", "description"),
    ("metadata", "tags"),
    ("metadata", "links"),
    ("metadata", "uid"),
    ("metadata", "labels"),
    ("metadata", "labels", "tier"),
    ("metadata", "annotations"),
    *(
        ("metadata", "annotations", key)
        for key in (
            "backstage.io/source-location",
            "backstage.io/techdocs-ref",
            "backstage.io/source-template",
            "backstage.io/template-version",
            "backstage.io/createdAt",
            MANAGED_BY_LOCATION,
            "not a key!",
        )
    ),
    ("spec",),
    *(
        ("spec", key)
        for key in (
            "type",
            "lifecycle",
            "owner",
            "system",
            "subcomponentOf",
            "domain",
            "parent",
            "dependsOn",
            "providesApis",
            "children",
            "members",
            "memberOf",
            "scaffoldedFrom",
            "definition",
            "target",
            "targets",
            "presence",
            "steps",
            "parameters",
            "profile",
            "remotes",
        )
    ),
    ("relations",),
    ("status",),
    ("extra",),
]
INTERESTING: list[object] = [
    "team-a",
    "group:team-a",
    "user:default/jo",
    "component:ns/svc",
    "a:b:c",
    "",
    "bad name",
    "a" * 63,
    "a" * 64,
    "x" * 300,
    "a\x00b",
    "ünïcode",
    "ns",
    "Bad_NS",
    "group:" + "o" * 600,
    "url:https://x/y",
    "https://x/y",
    "template:default/t",
    "2026-01-01T00:00:00Z",
    "yesterday",
    "./a.yaml",
    "../../etc/passwd",
    "file:///etc/passwd",
    "optional",
    "required",
    "mcp-server",
    "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    ["team-a", "api:x"],
    ["./b.yaml", "/etc/passwd"],
    [{"url": "https://x", "title": "X"}],
    [{"action": ""}],
    [{"type": "mcp", "url": "https://x"}],
    [],
    {},
    {"displayName": ""},
    7,
    1.5,
    None,
    True,
]
CHANGES = st.sampled_from(INTERESTING) | PLACEHOLDERS | VALUES


def entity(kind: str, name: object, changes: list[tuple[tuple[str, ...], object]]) -> dict[str, object]:
    """A valid entity of `kind` with each change applied where it still fits."""
    version = "scaffolder.backstage.io/v1beta3" if kind == "Template" else "backstage.io/v1alpha1"
    document: dict[str, object] = {
        "apiVersion": version,
        "kind": kind,
        "metadata": {"name": name, "annotations": {"backstage.io/source-location": "url:https://x/y"}},
        "spec": dict(VALID[kind]),
    }
    for path, value in changes:
        parent: object = document
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(parent, dict):
            parent[path[-1]] = value
    return document


ENTITIES = st.builds(
    entity,
    st.sampled_from(list(VALID)),
    st.sampled_from(["svc", "Orders-Service", "a" * 63]) | PLACEHOLDERS,
    st.lists(st.tuples(st.sampled_from(FIELDS), CHANGES), max_size=3),
)

COMPONENT_SPEC = {"type": "service", "lifecycle": "production", "owner": "team-a"}


@FUZZ
@given(documents=st.lists(ENTITIES | VALUES, min_size=1, max_size=3))
# Named by placeholders: the entity was named before they were substituted, and the file stopped the ingest.
@example(
    documents=[
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": {"$text": "./name.txt"}},
            "spec": COMPONENT_SPEC,
        }
    ]
)
@example(
    documents=[
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": {"$text": "./kind.txt"},
            "metadata": {"$yaml": "./form.yaml"},
            "spec": COMPONENT_SPEC,
        }
    ]
)
def test_entity_shaped_documents_are_entities_or_errors(place: LocalPlace, documents: list[object]) -> None:
    read(place, dump(documents))
