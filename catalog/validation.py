"""Backstage's field validators (catalog-model `KubernetesValidatorFunctions` / `CommonValidatorFunctions`)
and `validate_entity`: envelope schema, NoForeignRootFields and FieldFormat policies, built-in kind schemas.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import NamedTuple

# Every pattern is used with fullmatch: JS `/^...$/` without the m flag anchors the whole
# string, while Python's `$` would also accept a trailing newline.
_DNS_LABEL_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_TAG_RE = re.compile(r"[a-z0-9+#]+(?:-[a-z0-9+#]+)*")
_OBJECT_NAME_RE = re.compile(r"(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_KIND_RE = re.compile(r"[a-zA-Z][a-z0-9A-Z]*")
_VERSION_RE = re.compile(r"[a-z0-9A-Z]+")
# WHATWG URL, reduced to what matters for descriptors: a scheme, a colon and something after
# it; no leading whitespace (the constructor would need a base URL for '   abc').
_URL_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):(\S.*)", re.DOTALL)
# Special schemes must carry a host without spaces ("http://" and "http://a b" both throw).
_SPECIAL_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp"})
_SPECIAL_REST_RE = re.compile(r"[/\\]*[^/\\?#\s]+(?:[/\\?#].*)?", re.DOTALL)
_Predicate = Callable[[object], bool]


def is_valid_dns_label(value: object) -> bool:
    """RFC 1123 label: [a-z0-9] runs joined by single '-', 1-63 characters."""
    return isinstance(value, str) and 1 <= len(value) <= 63 and _DNS_LABEL_RE.fullmatch(value) is not None


def is_valid_dns_subdomain(value: object) -> bool:
    """RFC 1123 subdomain: 1-253 characters of '.'-separated DNS labels."""
    if not isinstance(value, str) or not 1 <= len(value) <= 253:
        return False
    return all(is_valid_dns_label(part) for part in value.split("."))


def is_valid_entity_name(value: object) -> bool:
    """Kubernetes object name (upstream isValidObjectName): [A-Za-z0-9] runs joined by [-_.], 1-63."""
    return isinstance(value, str) and 1 <= len(value) <= 63 and _OBJECT_NAME_RE.fullmatch(value) is not None


def _is_valid_version(value: str) -> bool:
    return 1 <= len(value) <= 63 and _VERSION_RE.fullmatch(value) is not None


@functools.lru_cache(maxsize=4096)
def _is_valid_prefixed_key(value: str) -> bool:
    # Annotation and label keys and apiVersions repeat across a whole catalogue: check each once.
    return _prefix_and_or_suffix(value, is_valid_dns_subdomain, is_valid_entity_name)


@functools.lru_cache(maxsize=256)
def _is_valid_api_version_string(value: str) -> bool:
    return _prefix_and_or_suffix(value, is_valid_dns_subdomain, _is_valid_version)


def _prefix_and_or_suffix(value: object, prefix_ok: _Predicate, suffix_ok: Callable[[str], bool]) -> bool:
    # Upstream isValidPrefixAndOrSuffix: '<suffix>' or '<prefix>/<suffix>', never more parts.
    if not isinstance(value, str):
        return False
    parts = value.split("/")
    if len(parts) == 1:
        return suffix_ok(parts[0])
    return len(parts) == 2 and prefix_ok(parts[0]) and suffix_ok(parts[1])


def is_valid_api_version(value: object) -> bool:
    """An optional DNS-subdomain prefix and '/', then an alphanumeric version of 1-63 characters."""
    return isinstance(value, str) and _is_valid_api_version_string(value)


def is_valid_kind(value: object) -> bool:
    """A letter followed by letters and digits, 1-63 characters."""
    return isinstance(value, str) and 1 <= len(value) <= 63 and _KIND_RE.fullmatch(value) is not None


def is_valid_namespace(value: object) -> bool:
    """A namespace is a DNS label (lower case, no '_' or '.')."""
    return is_valid_dns_label(value)


def is_valid_label_key(value: object) -> bool:
    """An optional DNS-subdomain prefix and '/', then an entity-name-shaped key."""
    return isinstance(value, str) and _is_valid_prefixed_key(value)


def is_valid_label_value(value: object) -> bool:
    """The empty string or an entity-name-shaped value."""
    return value == "" or is_valid_entity_name(value)


def is_valid_annotation_key(value: object) -> bool:
    """Same rule as label keys."""
    return isinstance(value, str) and _is_valid_prefixed_key(value)


def is_valid_annotation_value(value: object) -> bool:
    """Any string, of any length."""
    return isinstance(value, str)


def is_valid_tag(value: object) -> bool:
    """The newer upstream tag rule: [a-z0-9+#] runs joined by single '-', 1-63 characters."""
    return isinstance(value, str) and 1 <= len(value) <= 63 and _TAG_RE.fullmatch(value) is not None


def is_valid_url(value: object) -> bool:
    """Roughly what the WHATWG URL constructor accepts without a base URL."""
    if not isinstance(value, str):
        return False
    match = _URL_RE.fullmatch(value)
    if match is None:
        return False
    if match.group(1).lower() in _SPECIAL_SCHEMES:
        return _SPECIAL_REST_RE.fullmatch(match.group(2)) is not None
    return True


def is_valid_string(value: object) -> bool:
    """A string that is not empty after trimming whitespace."""
    return isinstance(value, str) and bool(value.strip())


# --- messages ---------------------------------------------------------------------------------

# Expectation texts copied from upstream FieldFormatEntityPolicy.ts.
_EXPECT_OBJECT_NAME = (
    "a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total"
)
_EXPECT_PREFIX_SUFFIX = "a valid prefix and/or suffix"
_EXPECT_DNS_LABEL = "a string that is sequences of [a-z0-9] separated by [-], at most 63 characters in total"
_EXPECT_TAG = "a string that is sequences of [a-z0-9+#] separated by [-], at most 63 characters in total"
_EXPECT_KIND = "a string that is a sequence of [a-zA-Z][a-z0-9A-Z], at most 63 characters in total"
_EXPECT_STRING = "a string"
_EXPECT_URL = "a string that is a valid url"
_EXPECT_NON_EMPTY = "a non empty string"


def _js(value: object) -> str:
    """Render a value the way JS template literals do, so messages read like upstream's."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join("" if item is None else _js(item) for item in value)
    if isinstance(value, Mapping):
        return "[object Object]"
    return str(value)


def _format(out: list[str], field: str, value: object, valid: _Predicate, expectation: str) -> None:
    # FieldFormatEntityPolicy's require(): null means "no value", otherwise validate and explain.
    if value is None:
        out.append(f'"{field}" must have a value')
    elif not valid(value):
        out.append(f'"{field}" is not valid; expected {expectation} but found "{_js(value)}"')


# --- metadata (envelope schema + FieldFormatEntityPolicy) ---------------------------------------

_Check = Callable[[str, object, list[str]], None]


def _string(path: str, value: object, out: list[str]) -> None:
    if not isinstance(value, str):
        out.append(f'"{path}" must be a string')


def _non_empty_string(path: str, value: object, out: list[str]) -> None:
    if not isinstance(value, str) or not value:
        out.append(f'"{path}" must be a non-empty string')


def _field(valid: _Predicate, expectation: str) -> _Check:
    def check(path: str, value: object, out: list[str]) -> None:
        _format(out, path, value, valid, expectation)

    return check


def _pairs(key_ok: _Predicate, value_ok: _Predicate, value_expect: str) -> _Check:
    # Labels and annotations: upstream reports both key and value problems as `metadata.<map>.<key>`.
    def check(path: str, value: object, out: list[str]) -> None:
        if not isinstance(value, Mapping):
            out.append(f'"{path}" must be a mapping')
            return
        for key, item in value.items():
            if not key_ok(key) or not value_ok(item):  # build the field name only when needed
                field = f"{path}.{_js(key)}"
                _format(out, field, key, key_ok, _EXPECT_PREFIX_SUFFIX)
                _format(out, field, item, value_ok, value_expect)

    return check


def _meta_tags(path: str, value: object, out: list[str]) -> None:
    if not isinstance(value, list | tuple):
        out.append(f'"{path}" must be a list')
        return
    for i, tag in enumerate(value):
        if not is_valid_tag(tag):
            _format(out, f"{path}.{i}", tag, is_valid_tag, _EXPECT_TAG)


def _link_ok(link: object) -> bool:
    return (
        isinstance(link, Mapping)
        and is_valid_url(link.get("url"))
        and ("title" not in link or is_valid_string(link["title"]))
        and ("icon" not in link or is_valid_entity_name(link["icon"]))
        and ("type" not in link or isinstance(link["type"], str))
    )


def _meta_links(path: str, value: object, out: list[str]) -> None:
    if not isinstance(value, list | tuple):
        out.append(f'"{path}" must be a list')
        return
    for i, link in enumerate(value):
        if _link_ok(link):  # the common case formats no field names
            continue
        at = f"{path}.{i}"
        if not isinstance(link, Mapping):
            out.append(f'"{at}" must be a mapping')
            continue
        url = link.get("url")
        if url is None:
            out.append(f'"{at}.url" is required')
        else:
            _format(out, f"{at}.url", url, is_valid_url, _EXPECT_URL)
        if "title" in link:
            _format(out, f"{at}.title", link["title"], is_valid_string, _EXPECT_NON_EMPTY)
        if "icon" in link:
            _format(out, f"{at}.icon", link["icon"], is_valid_entity_name, _EXPECT_OBJECT_NAME)
        if "type" in link:
            _string(f"{at}.type", link["type"], out)


_META_CHECKS: dict[str, tuple[str, _Check]] = {
    key: (f"metadata.{key}", check)
    for key, check in {
        "name": _field(is_valid_entity_name, _EXPECT_OBJECT_NAME),
        "namespace": _field(is_valid_namespace, _EXPECT_DNS_LABEL),
        "title": _string,
        "description": _string,
        "uid": _non_empty_string,
        "etag": _non_empty_string,
        "labels": _pairs(is_valid_label_key, is_valid_label_value, _EXPECT_OBJECT_NAME),
        "annotations": _pairs(is_valid_annotation_key, is_valid_annotation_value, _EXPECT_STRING),
        "tags": _meta_tags,
        "links": _meta_links,
    }.items()
}


def _check_metadata(meta: object, out: list[str]) -> None:
    if not isinstance(meta, Mapping):
        out.append('"metadata" must be a mapping')
        return
    for key, value in meta.items():
        entry = _META_CHECKS.get(key)
        if entry is not None:
            entry[1](entry[0], value, out)
    if "name" not in meta:
        out.append('"metadata.name" is required')


# --- spec checks for the built-in kinds (their JSON schemas) ------------------------------------


def _string_list(path: str, value: object, out: list[str]) -> None:
    if not isinstance(value, list | tuple):
        out.append(f'"{path}" must be a list')
        return
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item:
            out.append(f'"{path}.{i}" must be a non-empty string')


def _mapping(path: str, value: object, out: list[str]) -> None:
    if not isinstance(value, Mapping):
        out.append(f'"{path}" must be a mapping')


def _profile(path: str, value: object, out: list[str]) -> None:
    if not isinstance(value, Mapping):
        out.append(f'"{path}" must be a mapping')
        return
    for key in ("displayName", "email", "picture"):
        if key in value:
            _non_empty_string(f"{path}.{key}", value[key], out)


def _presence(path: str, value: object, out: list[str]) -> None:
    if value not in ("required", "optional"):
        out.append(f'"{path}" must be one of "required", "optional" but found "{_js(value)}"')


def _parameters(path: str, value: object, out: list[str]) -> None:
    # Template.v1beta3: one JSON-schema form (object) or a list of them.
    if isinstance(value, Mapping):
        return
    if not isinstance(value, list | tuple) or not all(isinstance(form, Mapping) for form in value):
        out.append(f'"{path}" must be a mapping or a list of mappings')


def _records(required: tuple[str, ...], check: _Check, min_items: int = 0) -> _Check:
    # A list of mappings whose `required` keys must pass `check` (Template steps, API remotes).
    def records(path: str, value: object, out: list[str]) -> None:
        if not isinstance(value, list | tuple) or len(value) < min_items:
            out.append(f'"{path}" must be a {"non-empty " if min_items else ""}list')
            return
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                out.append(f'"{path}.{i}" must be a mapping')
                continue
            for key in required:
                if key in item:
                    check(f"{path}.{i}.{key}", item[key], out)
                else:
                    out.append(f'"{path}.{i}.{key}" is required')

    return records


_Versions = tuple[str, ...]


class _Kind(NamedTuple):
    versions: _Versions
    required: tuple[str, ...]
    fields: dict[str, tuple[str, _Check]]


def _kind(versions: _Versions, required: str, strings: str = "", lists: str = "", **more: _Check) -> _Kind:
    """Spec rules: required keys, then keys holding non-empty strings, lists of them, and others."""
    checks: dict[str, _Check] = dict.fromkeys(strings.split(), _non_empty_string)
    checks.update(dict.fromkeys(lists.split(), _string_list))
    checks.update(more)
    # Paths are built once here so checking a valid entity formats no strings.
    return _Kind(versions, tuple(required.split()), {key: (f"spec.{key}", c) for key, c in checks.items()})


_CORE = ("backstage.io/v1alpha1", "backstage.io/v1beta1")
_KINDS: dict[str, _Kind] = {
    "Component": _kind(
        _CORE,
        "type lifecycle owner",
        "type lifecycle owner system subcomponentOf",
        "providesApis consumesApis dependsOn dependencyOf",
    ),
    "API": _kind(_CORE, "type lifecycle owner definition", "type lifecycle owner definition system"),
    "Resource": _kind(_CORE, "type owner", "type owner system", "dependsOn dependencyOf"),
    "System": _kind(_CORE, "owner", "owner domain"),
    "Domain": _kind(_CORE, "owner", "owner"),
    "Group": _kind(_CORE, "type children", "type parent", "children members", profile=_profile),
    # memberOf became optional upstream (UserEntityV1alpha1: `memberOf?: string[]`).
    "User": _kind(_CORE, "", "", "memberOf", profile=_profile),
    "Location": _kind(_CORE, "", "type target", "targets", presence=_presence),
    "Template": _kind(
        ("scaffolder.backstage.io/v1beta3",),
        "type steps",
        "type owner lifecycle",
        steps=_records(("action",), _string),
        parameters=_parameters,
        output=_mapping,
    ),
}
# API spec types served from endpoints rather than a definition (API.v1alpha1.mcp-server and
# ai-model-server schemas): `remotes` replaces `definition`.
_REMOTE_API = _kind(
    _CORE,
    "type lifecycle owner remotes",
    "type lifecycle owner system",
    remotes=_records(("type", "url"), _non_empty_string, min_items=1),
)
_REMOTE_API_TYPES = frozenset({"mcp-server", "ai-model-server"})
_KINDS_BY_LOWER = {kind.lower(): kind for kind in _KINDS}
# Placeholders the catalog substitutes before validation; their final value is unknown here.
_PLACEHOLDERS = frozenset({"$text", "$json", "$yaml"})
_ROOT_FIELDS = frozenset({"apiVersion", "kind", "metadata", "spec", "relations", "status"})


def _is_placeholder(value: object) -> bool:
    return isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in _PLACEHOLDERS


def _check_spec(spec: object, rules: _Kind | None, out: list[str]) -> None:
    if not isinstance(spec, Mapping):
        out.append('"spec" must be a mapping')
        return
    if rules is None:
        return
    spec_type = spec.get("type")
    if rules is _KINDS["API"] and isinstance(spec_type, str) and spec_type in _REMOTE_API_TYPES:
        rules = _REMOTE_API
    fields = rules.fields
    for key, value in spec.items():
        entry = fields.get(key)
        if entry is not None and not _is_placeholder(value):
            entry[1](entry[0], value, out)
    for key in rules.required:
        if key not in spec:
            out.append(f'"spec.{key}" is required')


def _check_kind(value: object, out: list[str]) -> None:
    if value is None:
        out.append('"kind" is required')
    elif not is_valid_kind(value):
        out.append(f'"kind" is not valid; expected {_EXPECT_KIND} but found "{_js(value)}"')
    elif isinstance(value, str) and value not in _KINDS and value.lower() in _KINDS_BY_LOWER:
        # Upstream matches kinds exactly, so `component` is rejected rather than treated as custom.
        out.append(f'"kind" is not valid; expected "{_KINDS_BY_LOWER[value.lower()]}" but found "{value}"')


def _check_api_version(value: object, kind: object, rules: _Kind | None, out: list[str]) -> None:
    if value is None:
        out.append('"apiVersion" is required')
    elif not is_valid_api_version(value):
        out.append(f'"apiVersion" is not valid; expected {_EXPECT_PREFIX_SUFFIX} but found "{_js(value)}"')
    elif rules is not None and value not in rules.versions:
        supported = ", ".join(rules.versions)
        out.append(f'"apiVersion" is not valid; kind "{kind}" expects one of {supported} but found "{value}"')


def validate_entity(data: object) -> list[str]:
    """Problems with a descriptor document, as Backstage would report them; [] when valid."""
    if not isinstance(data, Mapping):
        return [f"Entity must be a mapping but found {type(data).__name__}"]
    out: list[str] = []
    kind = data.get("kind")
    api_version = data.get("apiVersion")
    rules = _KINDS.get(kind) if isinstance(kind, str) else None
    # Spec rules apply only once the kind/apiVersion pair is one we know.
    spec_rules = rules if rules is not None and api_version in rules.versions else None
    for key, value in data.items():
        if key == "apiVersion":
            _check_api_version(value, kind, rules, out)
        elif key == "kind":
            _check_kind(value, out)
        elif key == "metadata":
            _check_metadata(value, out)
        elif key == "spec":
            _check_spec(value, spec_rules, out)
        elif key not in _ROOT_FIELDS:
            # NoForeignRootFieldsEntityPolicy wording.
            out.append(f"Unknown field {_js(key)}")
    for key in ("apiVersion", "kind", "metadata"):
        if key not in data:
            out.append(f'"{key}" is required')
    if spec_rules is not None and "spec" not in data:
        out.append('"spec" is required')
    return out
