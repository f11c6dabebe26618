"""Reading descriptor files: multi-document YAML with the line of every document, safely."""

from __future__ import annotations

import operator
import os
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


class _DeferredTagLoader(DescriptorLoader):
    """DescriptorLoader for documents without anchors, whose tags `_construct_plain` resolves itself.

    libyaml's composer calls `resolve` and the two path-resolver hooks once per node, and those
    Python calls cost about a tenth of parsing time. Here they are C callables: `resolve` is `slice`, so
    an untagged node's tag becomes `slice(node class, value, implicit flags)`, decided later during
    construction, which visits every node anyway. Only `_construct_plain` can build such nodes.
    """

    resolve = slice  # type: ignore[assignment]
    descend_resolver = staticmethod(operator.is_)  # type: ignore[assignment]  # (parent, index): a no-op
    ascend_resolver = staticmethod(tuple)  # type: ignore[assignment]  # (): a no-op


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


def read_at_most(path: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> bytes:
    """A file's bytes; of a file over `max_bytes`, one byte more than that, enough for `decode` to refuse it.

    The read is sized by the file: asking every file for `max_bytes + 1` would allocate (and map)
    that much each time, which costs a large ingest a third of a second.
    """
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        data = handle.read(min(size, max_bytes) + 1)
        if size < len(data) <= max_bytes:  # it grew since, or the system does not report its size
            data += handle.read(max_bytes + 1 - len(data))
    return data


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
    check_aliases = "&" in text
    loader = DescriptorLoader(text) if check_aliases else _DeferredTagLoader(text)
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
_PLAIN_CONSTANTS: dict[str, object] = {**dict.fromkeys(_NULLS), **_BOOLS}
# What else a plain scalar can be (numbers, the merge key `<<`) starts with one of these.
_NUMBER_FIRSTS = frozenset(
    first
    for first, rules in DescriptorLoader.yaml_implicit_resolvers.items()
    if any(tag not in (_NULL, _BOOL) for tag, _pattern in rules)
)


def _construct_plain(node: yaml.Node, loader: DescriptorLoader) -> object:
    """Build a document that has no anchors, several times faster than PyYAML's generic constructor.

    Without anchors no node is shared, so a plain recursive walk is enough. Untagged nodes carry a
    deferred tag (see `_DeferredTagLoader`) resolved here; anything other than plain strings, maps,
    lists, nulls and booleans is handed, with its tags settled, to PyYAML's constructor.
    """
    tag = node.tag
    kind = type(node)
    if kind is yaml.ScalarNode:
        value = node.value
        if type(tag) is slice:
            if not tag.step[0]:  # quoted, a block scalar, or tagged `!`: a string
                return value
            if value in _PLAIN_CONSTANTS:  # null, true, false and their spellings
                return _PLAIN_CONSTANTS[value]
            if value[:1] not in _NUMBER_FIRSTS:
                return value
            tag = node.tag = _resolve_plain(value)
        if tag == _STR:
            return value
        if tag == _NULL and value in _NULLS:
            return None
        if tag == _BOOL and value in _BOOLS:
            return _BOOLS[value]
    elif kind is yaml.MappingNode and (type(tag) is slice or tag == _MAP):
        result = {}
        for key_node, value_node in node.value:
            if type(key_node) is not yaml.ScalarNode or key_node.value == "<<":  # a complex key, a merge key
                return _construct_settled(node, loader)
            result[_construct_plain(key_node, loader)] = _construct_plain(value_node, loader)
        return result
    elif kind is yaml.SequenceNode and (type(tag) is slice or tag == _SEQ):
        return [_construct_plain(item, loader) for item in node.value]
    return _construct_settled(node, loader)


def _resolve_plain(value: str) -> str:
    """The core-schema tag of an untagged plain scalar."""
    for tag, pattern in DescriptorLoader.yaml_implicit_resolvers.get(value[:1], ()):
        if pattern.match(value):
            return tag
    return _STR


def _construct_settled(node: yaml.Node, loader: DescriptorLoader) -> object:
    """PyYAML's own construction, after giving every deferred tag below `node` its real value."""
    pending = [node]
    while pending:
        current = pending.pop()
        tag = current.tag
        if type(tag) is slice:
            if isinstance(current, yaml.ScalarNode):
                current.tag = _resolve_plain(current.value) if tag.step[0] else _STR
            else:
                current.tag = _SEQ if isinstance(current, yaml.SequenceNode) else _MAP
        if isinstance(current, yaml.SequenceNode):
            pending.extend(current.value)
        elif isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                pending += (key_node, value_node)
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
