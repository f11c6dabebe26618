"""Behaviour of catalog.documents: reading descriptor files as multi-document YAML, safely."""

from __future__ import annotations

import itertools
import math
import os

import pytest
import yaml

from catalog.documents import (
    DEFAULT_MAX_FILE_BYTES,
    DescriptorLoader,
    Document,
    DocumentError,
    decode,
    read_at_most,
    read_documents,
)


def documents(text: str) -> list[Document | DocumentError]:
    return list(read_documents(text))


def only_value(text: str) -> object:
    """The value of a single-document stream that must load."""
    results = documents(text)
    assert len(results) == 1
    assert isinstance(results[0], Document), results[0]
    return results[0].data


def laughs(levels: int, width: int = 9) -> str:
    """A "billion laughs" document: each level is `width` aliases of the previous one."""
    names = [f"l{i}" for i in range(levels)]
    lines = [f"{names[0]}: &{names[0]} [{', '.join(['lol'] * width)}]"]
    for previous, name in itertools.pairwise(names):
        lines.append(f"{name}: &{name} [{', '.join(['*' + previous] * width)}]")
    return "\n".join(lines) + "\n"


# --- multi-document streams -----------------------------------------------------------------------


def test_each_document_reports_its_one_based_start_line():
    text = "a: 1\n---\nb: 2\n---\n\n# comment\nc: 3\n"

    results = documents(text)

    assert [type(r) for r in results] == [Document, Document, Document]
    assert [(r.data, r.line) for r in results] == [({"a": 1}, 1), ({"b": 2}, 3), ({"c": 3}, 7)]


def test_leading_document_marker_does_not_shift_the_first_line():
    results = documents("---\nkind: Component\n---\nkind: API\n")

    assert [(r.data, r.line) for r in results] == [({"kind": "Component"}, 2), ({"kind": "API"}, 4)]


def test_syntax_error_reports_its_line_and_ends_the_stream_keeping_earlier_documents():
    text = "a: 1\n---\nb: 2\n---\nc: [1, 2\nd: 3\n---\ne: 5\n"

    results = documents(text)

    assert len(results) == 3
    assert [(r.data, r.line) for r in results[:2]] == [({"a": 1}, 1), ({"b": 2}, 3)]
    error = results[2]
    assert isinstance(error, DocumentError)
    assert error.message.startswith("YAML syntax error")
    assert error.line == 6  # where libyaml noticed the unclosed flow sequence
    assert all(not (isinstance(r, Document) and r.data == {"e": 5}) for r in results)


def test_syntax_error_in_the_first_document_yields_only_the_error():
    results = documents("a: b: c\n---\nd: 1\n")

    assert len(results) == 1
    assert isinstance(results[0], DocumentError)
    assert results[0].line == 1


def test_unknown_tag_fails_that_document_only_and_the_stream_goes_on():
    text = "a: 1\n---\nb: !!python/object:os.system echo\n---\nc: 3\n"

    results = documents(text)

    assert isinstance(results[0], Document) and results[0].data == {"a": 1}
    assert isinstance(results[1], DocumentError)
    assert "python/object:os.system" in results[1].message
    assert results[1].line == 3
    assert isinstance(results[2], Document) and (results[2].data, results[2].line) == ({"c": 3}, 5)


def test_empty_stream_yields_nothing_and_a_lone_marker_yields_an_empty_document():
    assert documents("") == []
    assert documents("# only a comment\n") == []
    results = documents("---\n")
    assert len(results) == 1
    assert isinstance(results[0], Document) and results[0].data is None


# --- decoding bytes --------------------------------------------------------------------------------


def test_decode_returns_utf8_text():
    assert decode("name: caf\u00e9 \u2615\n".encode()) == "name: caf\u00e9 \u2615\n"


def test_decode_names_offset_byte_and_line_of_invalid_utf8():
    data = b"kind: Component\nmetadata:\n  name: caf\xe9\n"

    with pytest.raises(DocumentError) as caught:
        decode(data)

    offset = data.index(b"\xe9")
    assert f"offset {offset}" in caught.value.message
    assert "0xe9" in caught.value.message
    assert "UTF-8" in caught.value.message
    assert caught.value.line == 3


def test_decode_refuses_a_file_over_the_size_limit():
    with pytest.raises(DocumentError) as caught:
        decode(b"a: 1\n" * 3, max_bytes=14)

    assert "15 bytes" in caught.value.message
    assert "limit of 14 bytes" in caught.value.message


def test_decode_accepts_a_file_exactly_at_the_size_limit():
    assert decode(b"x" * 14, max_bytes=14) == "x" * 14


def test_default_size_limit_is_applied():
    with pytest.raises(DocumentError):
        decode(b" " * (DEFAULT_MAX_FILE_BYTES + 1))


@pytest.mark.parametrize("size", [0, 1, 99, 100], ids=lambda size: f"{size} bytes")
def test_a_file_up_to_the_limit_is_read_whole(tmp_path, size):
    path = tmp_path / "catalog-info.yaml"
    path.write_bytes(b"x" * size)
    assert read_at_most(str(path), max_bytes=100) == b"x" * size


def test_a_file_over_the_limit_reads_one_byte_more_and_decode_refuses_it(tmp_path):
    path = tmp_path / "catalog-info.yaml"
    path.write_bytes(b"x" * 5000)
    data = read_at_most(str(path), max_bytes=100)
    assert len(data) == 101
    with pytest.raises(DocumentError, match="over the limit of 100 bytes"):
        decode(data, max_bytes=100)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux's /proc")
def test_a_file_whose_size_the_system_does_not_report_is_read_whole():
    # /proc files report a size of 0 and have content: the read must not stop at the reported size.
    with open("/proc/self/status", "rb") as handle:
        expected_start = handle.read(20)
    data = read_at_most("/proc/self/status", max_bytes=1_000_000)
    assert data.startswith(expected_start) and data.endswith(b"\n") and len(data) > 200
    assert len(read_at_most("/proc/self/status", max_bytes=50)) == 51


# --- alias bombs and pathological nesting ---------------------------------------------------------


def test_billion_laughs_is_refused_as_an_alias_bomb():
    results = documents(laughs(9))

    assert len(results) == 1
    assert isinstance(results[0], DocumentError)
    assert "alias bomb" in results[0].message
    assert results[0].line == 1


def test_alias_bomb_in_one_document_does_not_stop_the_next():
    text = "a: 1\n---\n" + laughs(9) + "---\nb: 2\n"

    results = documents(text)

    assert [type(r) for r in results] == [Document, DocumentError, Document]
    assert results[1].line == 3
    assert results[2].data == {"b": 2}


def test_a_few_legitimate_anchors_and_aliases_load():
    text = (
        "defaults: &defaults\n"
        "  lifecycle: production\n"
        "  owner: team-a\n"
        "tags: &tags [go, grpc]\n"
        "first:\n"
        "  <<: *defaults\n"
        "  tags: *tags\n"
        "second:\n"
        "  <<: *defaults\n"
        "  owner: team-b\n"
    )

    value = only_value(text)

    assert value["first"] == {"lifecycle": "production", "owner": "team-a", "tags": ["go", "grpc"]}
    assert value["second"] == {"lifecycle": "production", "owner": "team-b"}


def test_small_laughs_under_the_node_limit_loads():
    value = only_value(laughs(3))

    assert value["l2"] == [[["lol"] * 9] * 9] * 9


@pytest.mark.parametrize("text", ["&a [*a]\n", "a: &a\n  b: *a\n", "a: &a [x, [y, *a]]\n"], ids=repr)
def test_recursive_alias_is_refused_without_hanging(text):
    results = documents(text)

    assert len(results) == 1
    assert isinstance(results[0], DocumentError)
    assert "alias" in results[0].message


@pytest.mark.parametrize("opening", ["[", "{a: "], ids=["sequences", "mappings"])
def test_nesting_deeper_than_libyaml_allows_is_an_error_not_a_crash(opening):
    closing = "]" if opening == "[" else "}"
    text = "a: 1\n---\n" + opening * 2000 + "x" + closing * 2000 + "\n"

    results = documents(text)

    assert isinstance(results[0], Document) and results[0].data == {"a": 1}
    assert len(results) == 2
    assert isinstance(results[1], DocumentError)
    assert "nesting depth" in results[1].message
    assert results[1].line == 3


def test_deep_block_nesting_is_an_error_not_a_crash():
    text = "".join("  " * depth + "a:\n" for depth in range(2000))

    results = documents(text)

    assert len(results) == 1
    assert isinstance(results[0], DocumentError)
    assert "nesting depth" in results[0].message


def test_moderate_nesting_loads():
    value = only_value("a: " + "[" * 100 + "x" + "]" * 100 + "\n")["a"]

    depth = 0
    while isinstance(value, list):
        (value,) = value
        depth += 1
    assert (depth, value) == (100, "x")


@pytest.mark.parametrize("opening", ["[", "{a: "], ids=["sequences", "mappings"])
def test_nesting_just_under_libyaml_limit_is_not_a_crash_and_the_stream_goes_on(opening):
    closing = "]" if opening == "[" else "}"
    text = opening * 990 + "x" + closing * 990 + "\n---\nb: 2\n"

    results = documents(text)

    assert len(results) == 2
    if isinstance(results[0], DocumentError):
        assert results[0].line == 1
    assert isinstance(results[1], Document) and results[1].data == {"b": 2}


def test_deep_nesting_in_a_document_with_anchors_is_an_error_not_a_crash():
    text = "a: &x 1\nb: " + "[" * 990 + "]" * 990 + "\n---\nc: 3\n"

    results = documents(text)

    assert isinstance(results[0], DocumentError | Document)
    assert isinstance(results[-1], Document) and results[-1].data == {"c": 3}


# --- YAML 1.2 core-schema scalars -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("scalar", "expected"),
    [
        ("2026-06-14", "2026-06-14"),
        ("2026-06-14T10:00:00Z", "2026-06-14T10:00:00Z"),
        ("on", "on"),
        ("off", "off"),
        ("yes", "yes"),
        ("no", "no"),
        ("Yes", "Yes"),
        ("y", "y"),
        ("8080:80", "8080:80"),
        ("1:30", "1:30"),
        ("1_000", "1_000"),
        ("0b101", "0b101"),
        ("-0x1f", "-0x1f"),
        ("'true'", "true"),
        ('"0755"', "0755"),
        ("'null'", "null"),
    ],
    ids=repr,
)
def test_yaml_1_1_lookalikes_stay_strings(scalar, expected):
    value = only_value(f"v: {scalar}\n")["v"]

    assert value == expected
    assert isinstance(value, str)


@pytest.mark.parametrize(
    ("scalar", "expected"),
    [
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("false", False),
        ("False", False),
    ],
)
def test_core_schema_booleans(scalar, expected):
    assert only_value(f"v: {scalar}\n")["v"] is expected


@pytest.mark.parametrize(
    ("scalar", "expected"),
    [("0755", 755), ("0x1f", 31), ("0x1F", 31), ("0o17", 15), ("42", 42), ("-12", -12), ("+7", 7), ("0", 0)],
)
def test_core_schema_integers(scalar, expected):
    value = only_value(f"v: {scalar}\n")["v"]

    assert value == expected
    assert type(value) is int


@pytest.mark.parametrize(
    ("scalar", "expected"),
    [("1.5", 1.5), ("1e3", 1000.0), ("-2.5E-1", -0.25), (".5", 0.5), ("3.", 3.0), ("+1.5e2", 150.0)],
)
def test_core_schema_floats(scalar, expected):
    value = only_value(f"v: {scalar}\n")["v"]

    assert value == expected
    assert type(value) is float


def test_core_schema_infinity_and_nan():
    value = only_value("a: .inf\nb: -.Inf\nc: .nan\n")

    assert value["a"] == math.inf
    assert value["b"] == -math.inf
    assert math.isnan(value["c"])


@pytest.mark.parametrize("scalar", ["~", "null", "Null", "NULL", ""], ids=repr)
def test_core_schema_nulls(scalar):
    assert only_value(f"v: {scalar}\n") == {"v": None}


def test_scalar_keys_follow_the_same_schema():
    assert only_value("on: 1\n2026-06-14: 2\n0755: 3\n") == {"on": 1, "2026-06-14": 2, 755: 3}


def test_descriptor_loader_works_with_yaml_load():
    assert yaml.load("port: 8080:80\nmode: 0755\nwhen: 2026-06-14\n", Loader=DescriptorLoader) == {
        "port": "8080:80",
        "mode": 755,
        "when": "2026-06-14",
    }


def test_descriptor_loader_does_not_change_pyyaml_safe_loader():
    assert yaml.safe_load("v: on\n") == {"v": True}
    assert only_value("v: on\n") == {"v": "on"}


# --- explicit tags --------------------------------------------------------------------------------


def test_explicit_tags_that_fit_their_value_are_honoured():
    value = only_value("a: !!str 0755\nb: !!int '12'\nc: !!float 1\nd: !!null ~\ne: !!str on\n")

    assert value == {"a": "0755", "b": 12, "c": 1.0, "d": None, "e": "on"}
    assert type(value["c"]) is float


@pytest.mark.parametrize("text", ["a: !custom x\n", "a: !!python/name:os.system x\n", "? [1, 2]\n: x\n"], ids=repr)
def test_value_that_cannot_be_constructed_is_an_error_for_that_document_only(text):
    results = documents("a: 1\n---\n" + text + "---\nb: 2\n")

    assert len(results) == 3
    assert isinstance(results[1], DocumentError)
    assert results[1].line == 3
    assert isinstance(results[2], Document) and results[2].data == {"b": 2}


def _bad_tag_case(text: str) -> object:
    return pytest.param(text, id=repr(text))


@pytest.mark.parametrize(
    "text",
    [
        _bad_tag_case("a: !!int [1]\n"),
        _bad_tag_case("a: !!set [1]\n"),
        _bad_tag_case("a: !!omap {b: 1}\n"),
        _bad_tag_case("a: !!int abc\n"),
        _bad_tag_case("a: !!int 0x\n"),
        _bad_tag_case("a: !!float abc\n"),
        _bad_tag_case("a: !!timestamp nope\n"),
        _bad_tag_case("a: !!bool 1\nb: R&D\n"),
        _bad_tag_case("a: !!str [1]\n"),
        _bad_tag_case("a: !!map [1]\n"),
        _bad_tag_case("a: !!seq {b: 1}\n"),
        _bad_tag_case("a: !!null [1]\n"),
        _bad_tag_case("a: !!bool [1]\n"),
    ],
)
def test_explicit_tag_its_value_does_not_fit_is_an_error_for_that_document_only(text):
    results = documents("a: 1\n---\n" + text + "---\nb: 2\n")

    assert len(results) == 3
    assert isinstance(results[0], Document) and results[0].data == {"a": 1}
    assert isinstance(results[1], DocumentError), results[1]
    assert results[1].line == 3
    assert isinstance(results[2], Document) and results[2].data == {"b": 2}


def _outcome(results: list[Document | DocumentError]) -> object:
    (result,) = results
    if isinstance(result, DocumentError):
        return "error"
    assert isinstance(result.data, dict)
    return {key: value for key, value in result.data.items() if key != "note"}


@pytest.mark.parametrize(
    "text",
    [
        "a: on\nb: 0755\nc: 2026-06-14\nd: ~\ne: 1.5\nf: [x, {y: true}]\n",
        "<<: {a: 1}\nb: 2\n",
        "a: !!str 12\nb: !!float 1\nc: !!binary aGVsbG8=\n",
        "1: x\n1.5: y\ntrue: z\n~: n\n",
        "a: !!bool True\nb: !!bool false\n",
        "a: !!bool yes\nb: !!bool on\n",
        "a:\n  <<: {p: 1}\n  q: [1, '2', \"3\", null, '', 0x1F, 0o17, .inf]\n",
        "'<<': quoted\nb: ! 12\nc: !!map {d: 1}\nd: !!seq [1, two]\ne:\nf: |\n  block\n",
        "? !!str x\n: y\n? 7\n: z\n",
    ],
    ids=repr,
)
def test_an_ampersand_elsewhere_in_the_file_does_not_change_the_values(text):
    # Files with an `&` (even inside a string) go through the alias-checked path; others do not.
    # A user must get the same values either way.
    without = _outcome(documents(text))
    with_ampersand = _outcome(documents(text + "note: R&D\n"))
    with_anchor = _outcome(documents(text + "note: &n x\n"))

    assert without == with_ampersand == with_anchor


def test_aliases_of_a_large_string_are_refused_like_an_alias_bomb():
    big = "x" * 200_000
    text = f"a: &big {big}\nb: [{', '.join(['*big'] * 40)}]\n---\nc: 3\n"  # 8 MB once expanded

    results = documents(text)

    assert isinstance(results[0], DocumentError) and "alias bomb" in results[0].message
    assert isinstance(results[1], Document) and results[1].data == {"c": 3}


def test_a_large_string_aliased_a_few_times_loads():
    big = "x" * 20_000
    (result,) = documents(f"a: &big {big}\nb: [*big, *big]\n")

    assert isinstance(result, Document) and result.data["b"] == [big, big]
