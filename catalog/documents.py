"""Reading descriptor files: multi-document YAML with the line of every document, safely."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import yaml

if not getattr(yaml, "__with_libyaml__", False):  # pragma: no cover - depends on the install
    raise RuntimeError(
        "PyYAML was installed without libyaml: Stairway needs yaml.CSafeLoader to parse catalogues "
        "at speed. Reinstall PyYAML from a wheel, or install libyaml-dev and rebuild it."
    )

DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024
# A document whose aliases expand past this many nodes is an alias bomb ("billion laughs"):
# real descriptors have a few hundred nodes. Long strings count one node per 64 characters, so
# aliasing a large string many times is caught too (at most about 6 MB of expanded text).
MAX_EXPANDED_NODES = 100_000
SCALAR_CHARS_PER_NODE = 64


class DescriptorLoader(yaml.CSafeLoader):
    """libyaml's loader with YAML 1.2 core-schema scalars, as Backstage's own parser reads them.

    YAML 1.1 would turn `2026-06-14` into a date, `on` into True, `0755` into 493 and `8080:80`
    into a number; upstream sees those as strings (or decimal 755), so Stairway must too.
    """

    # libyaml calls these once per node; PyYAML's versions also walk path resolvers nobody uses here.
    def descend_resolver(self, current_node: object, current_index: object) -> None:
        """No path resolvers: nothing to track."""

    def ascend_resolver(self) -> None:
        """No path resolvers: nothing to track."""

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        """The tag of a node without an explicit one, by the YAML 1.2 core schema."""
        if kind is yaml.ScalarNode:
            if implicit[0]:
                for tag, pattern in self.yaml_implicit_resolvers.get(value[:1], ()):
                    if pattern.match(value):
                        return tag
            return _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP


def _core_schema_resolvers() -> dict[str | None, list[tuple[str, re.Pattern[str]]]]:
    rules = [
        ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", "~nN"),
        ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
        ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
        (
            "tag:yaml.org,2002:float",
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
            "-+.0123456789",
        ),
    ]
    resolvers: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {"": [(rules[0][0], re.compile(rules[0][1]))]}
    for tag, pattern, firsts in rules:
        for first in firsts:
            resolvers.setdefault(first, []).append((tag, re.compile(pattern)))
    resolvers["<"] = [("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"))]
    return resolvers


def _construct_core_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith(("0x", "0o")):
        return int(text[2:], 16 if text[1] == "x" else 8)
    return int(text, 10)


DescriptorLoader.yaml_implicit_resolvers = _core_schema_resolvers()
DescriptorLoader.add_constructor("tag:yaml.org,2002:int", _construct_core_int)


class DocumentError(ValueError):
    """A file or document that cannot be read as a descriptor; `line` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(slots=True)
class Document:
    """One YAML document of a file: its parsed value and the 1-based line it starts on."""

    data: object
    line: int


def decode(data: bytes, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> str:
    """The file's text, refusing files over the size limit and bytes that are not UTF-8."""
    if len(data) > max_bytes:
        raise DocumentError(f"File is {len(data):,} bytes, over the limit of {max_bytes:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise DocumentError(
            f"File is not valid UTF-8: byte 0x{data[error.start]:02x} at offset {error.start}", line
        ) from None


def read_documents(text: str) -> Iterator[Document | DocumentError]:
    """Yield each document of a YAML stream, or the error that stopped it.

    A syntax error ends the stream (nothing after it can be trusted); a document that fails
    to construct is reported and the next one is read.
    """
    loader = DescriptorLoader(text)
    check_aliases = "&" in text
    try:
        while True:
            try:
                if not loader.check_node():
                    return
                node = loader.get_node()
            except yaml.MarkedYAMLError as error:
                yield DocumentError(_describe(error), _line_of(error))
                return
            except yaml.YAMLError as error:
                yield DocumentError(f"YAML error: {error}")
                return
            assert node is not None  # check_node() said one follows
            line = node.start_mark.line + 1
            try:
                too_big = check_aliases and _expanded_size(node, {}, MAX_EXPANDED_NODES) > MAX_EXPANDED_NODES
            except RecursionError:
                yield DocumentError("Document nests too deeply", line)
                continue
            if too_big:
                yield DocumentError(
                    f"Document expands to more than {MAX_EXPANDED_NODES:,} nodes through YAML aliases; "
                    "refusing it as an alias bomb",
                    line,
                )
                continue
            try:
                data = loader.construct_document(node) if check_aliases else _construct_plain(node, loader)
            except yaml.MarkedYAMLError as error:
                yield DocumentError(_describe(error), _line_of(error) or line)
            except RecursionError:
                yield DocumentError("Document nests too deeply", line)
            except (yaml.YAMLError, ValueError, TypeError, AttributeError, KeyError) as error:
                # An explicit tag whose value does not fit it, e.g. `!!float abc` or `!!seq {a: 1}`.
                yield DocumentError(f"YAML value error: {error}", line)
            else:
                yield Document(data, line)
    finally:
        loader.dispose()


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_NULLS = ("", "~", "null", "Null", "NULL")
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}


def _construct_plain(node: yaml.Node, loader: DescriptorLoader) -> object:
    """Build a document that has no anchors, several times faster than PyYAML's generic constructor.

    Without anchors no node is shared, so a plain recursive walk is enough; any tag other than the
    common ones is handed to PyYAML's constructor, which knows them all.
    """
    tag = node.tag
    kind = type(node)
    if tag == _STR and kind is yaml.ScalarNode:
        return node.value
    if tag == _MAP and kind is yaml.MappingNode:
        result = {}
        for key_node, value_node in node.value:
            if key_node.tag not in (_STR, _INT, _NULL, _BOOL):
                return loader.construct_object(node, deep=True)  # merge keys, complex keys
            result[_construct_plain(key_node, loader)] = _construct_plain(value_node, loader)
        return result
    if tag == _SEQ and kind is yaml.SequenceNode:
        return [_construct_plain(item, loader) for item in node.value]
    if kind is yaml.ScalarNode:
        if tag == _NULL and node.value in _NULLS:
            return None
        if tag == _BOOL and node.value in _BOOLS:
            return _BOOLS[node.value]
    return loader.construct_object(node, deep=True)


def _expanded_size(node: yaml.Node, memo: dict[int, int], limit: int) -> int:
    """How many nodes the document would have with every alias expanded (stops past `limit`);
    long scalars weigh one node per SCALAR_CHARS_PER_NODE characters."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = limit + 1  # a node met again while being sized is a recursive alias
    size = 1
    if isinstance(node, yaml.ScalarNode):
        size += len(node.value) // SCALAR_CHARS_PER_NODE
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            size += _expanded_size(item, memo, limit)
            if size > limit:
                break
    elif isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            size += _expanded_size(key_node, memo, limit) + _expanded_size(value_node, memo, limit)
            if size > limit:
                break
    memo[key] = size
    return size


def _line_of(error: yaml.MarkedYAMLError) -> int | None:
    mark = error.problem_mark or error.context_mark
    return mark.line + 1 if mark is not None else None


def _describe(error: yaml.MarkedYAMLError) -> str:
    parts = [part for part in (error.context, error.problem) if part]
    return "YAML syntax error: " + (", ".join(parts) if parts else str(error))
