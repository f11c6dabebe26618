"""Hostile catalogue files: each is refused with an error record naming it, the good file beside it is
still ingested, and bombs and huge files are refused before they cost memory."""

from __future__ import annotations

import os
import random
import textwrap
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from catalog.documents import DEFAULT_MAX_FILE_BYTES, MAX_EXPANDED_NODES
from catalog.ingest import IngestSummary, ingest

GOOD = """\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: good
spec:
  type: service
  lifecycle: production
  owner: team-a
"""
GOOD_REFS = {"group:default/team-a", "component:default/good"}
MB = 1024 * 1024
# What an ingest of one small good file and one refused file may allocate at its peak. A file at the
# 5 MB size limit costs about that much to read; an expanded bomb or a file read whole costs far more.
MEMORY_LIMIT = 16 * MB


def component(name: str, spec: str = "") -> str:
    """A valid Component descriptor; `spec` adds lines under `spec:`, as written."""
    return (
        "apiVersion: backstage.io/v1alpha1\nkind: Component\n"
        f"metadata:\n  name: {name}\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n{spec}"
    )


def location(*targets: str, type_: str | None = None) -> str:
    """A Location descriptor with these targets (each written as a double-quoted YAML string)."""
    lines = "".join(f'    - "{target}"\n' for target in targets)
    kind = f"  type: {type_}\n" if type_ else ""
    return (
        f"apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: root\nspec:\n{kind}  targets:\n{lines}"
    )


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A folder holding the ingested root (`catalog`, with one good file in it) and what lies outside it."""
    real = Path(os.path.realpath(tmp_path))
    write(real / "catalog" / "good.yaml", GOOD)
    write(real / "outside.yaml", component("secret"))
    write(real / "outside.txt", "top secret")
    write(real / "elsewhere" / "catalog-info.yaml", component("elsewhere"))
    return real


def refs(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(sa.text("SELECT ref FROM entities")).scalars())


def errors(engine: Engine) -> list[tuple[str, str, int | None, str | None, str]]:
    """Every processing error: location, code, line, entity ref, message."""
    query = sa.text(
        "SELECT location, code, line, entity_ref, message FROM processing_errors WHERE severity = 'error'"
        " ORDER BY location, line, message"
    )
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]  # type: ignore[misc]


def ingest_measured(engine: Engine, paths: list[str]) -> tuple[IngestSummary, int]:
    """Ingest in this process, and the peak of the memory Python allocated meanwhile."""
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        summary = ingest(engine, paths, workers=0)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        if not tracing:
            tracemalloc.stop()
    return summary, peak


def assert_only_this_file_refused(
    engine: Engine, summary: IngestSummary, path: Path, code: str, *fragments: str
) -> tuple[int | None, str]:
    """The one error is the hostile file's, with `code` and every fragment in its message; the good file stayed."""
    assert refs(engine) == GOOD_REFS
    ((location_, code_, line, _entity_ref, message),) = errors(engine)
    assert (location_, code_) == (f"file:{path}", code)
    for fragment in fragments:
        assert fragment in message
    assert summary.errors == 1
    return line, message


# --- alias bombs ------------------------------------------------------------------------------------


def laughs(levels: int, indent: str = "") -> str:
    """Lines of a "billion laughs": the first holds 9 laughs, each next one 9 aliases of the one before."""
    lines = [f"{indent}l0: &l0 [{', '.join(['lol'] * 9)}]"]
    lines += [f"{indent}l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


BOMBS: dict[str, Callable[[], str]] = {
    # 9**9 laughs: a classic billion laughs at the top of a document.
    "billion laughs": lambda: laughs(9),
    # 9**7 laughs in an entity's spec: without the guard it is stored, some 30 MB of JSON.
    "laughs in an entity": lambda: component("bomb", laughs(7, indent="  ")),
    # One 1 MB string aliased 40 times: few nodes, 40 MB once expanded.
    "a large string aliased": lambda: component(
        "bomb", f"  big: &big {'x' * MB}\n  copies: [{', '.join(['*big'] * 40)}]\n"
    ),
}


@pytest.mark.parametrize("bomb", list(BOMBS), ids=list(BOMBS))
def test_an_alias_bomb_is_refused_before_it_expands(engine: Engine, base: Path, bomb: str) -> None:
    path = write(base / "catalog" / "bomb.yaml", BOMBS[bomb]())

    summary, peak = ingest_measured(engine, [str(base / "catalog")])

    line, _message = assert_only_this_file_refused(
        engine, summary, path, "yaml-error", f"expands to more than {MAX_EXPANDED_NODES:,} nodes", "alias bomb"
    )
    assert line == 1
    assert peak < MEMORY_LIMIT, f"the ingest allocated {peak / MB:.0f} MB"


# --- deep nesting -----------------------------------------------------------------------------------


NESTINGS: dict[str, tuple[Callable[[], str], str, str, int]] = {
    # name: (the file, the code of its error, what the message says, the line it names)
    "10,000 nested lists": (
        lambda: "[" * 10_000 + "]" * 10_000 + "\n",
        "yaml-error",
        "exceeded maximum nesting depth",
        1,
    ),
    "10,000 nested mappings": (
        lambda: "{a: " * 10_000 + "x" + "}" * 10_000 + "\n",
        "yaml-error",
        "exceeded maximum nesting depth",
        1,
    ),
    "2,000 nested block mappings": (
        lambda: "".join("  " * depth + "a:\n" for depth in range(2000)),
        "yaml-error",
        "exceeded maximum nesting depth",
        1000,  # where libyaml gives up
    ),
    # Under libyaml's limit, deeper than Python's recursion limit: building the document stops.
    "990 nested lists in an entity": (
        lambda: component("deep", "  deep: " + "[" * 990 + "]" * 990 + "\n"),
        "yaml-error",
        "Document nests too deeply",
        1,
    ),
    # Likewise, stopped while the document's aliases are counted.
    "990 nested lists in an entity with an anchor": (
        lambda: component("deep", "  anchored: &a 1\n  deep: " + "[" * 990 + "]" * 990 + "\n"),
        "yaml-error",
        "Document nests too deeply",
        1,
    ),
    # Built, and valid, but too deep to store as JSON.
    "300 nested mappings in an entity": (
        lambda: component("deep", "  deep: " + "{a: " * 300 + "x" + "}" * 300 + "\n"),
        "invalid-entity",
        "Entity component:default/deep cannot be stored as JSON",
        1,
    ),
}


@pytest.mark.parametrize("nesting", list(NESTINGS), ids=list(NESTINGS))
def test_deep_nesting_is_an_error_for_that_file_only(engine: Engine, base: Path, nesting: str) -> None:
    content, code, fragment, expected_line = NESTINGS[nesting]
    path = write(base / "catalog" / "deep.yaml", content())

    summary = ingest(engine, [str(base / "catalog")], workers=0)

    line, _message = assert_only_this_file_refused(engine, summary, path, code, fragment)
    assert line == expected_line


# --- huge files -------------------------------------------------------------------------------------


def test_a_20_mb_scalar_is_refused_by_the_size_limit_without_reading_it_whole(engine: Engine, base: Path) -> None:
    path = write(base / "catalog" / "huge.yaml", component("huge", "  note: " + "x" * (20 * MB) + "\n"))

    summary, peak = ingest_measured(engine, [str(base / "catalog")])

    assert_only_this_file_refused(
        engine, summary, path, "unreadable-file", f"over the limit of {DEFAULT_MAX_FILE_BYTES:,} bytes"
    )
    assert peak < MEMORY_LIMIT, f"the ingest allocated {peak / MB:.0f} MB"


# --- bytes that are not UTF-8 -----------------------------------------------------------------------
# (Latin-1 is test_ingest.py::test_each_bad_input_is_an_error_and_everything_else_ingests.)


NOT_UTF8: dict[str, tuple[bytes, int, str]] = {
    # name: (the file, the line of the first bad byte, the message)
    "random bytes": (
        b"kind: Component\n" + bytes([0xFF]) + random.Random(7).randbytes(4096),
        2,
        "byte 0xff at offset 16",
    ),
    "UTF-16 with a byte order mark": (component("utf16").encode("utf-16"), 1, "byte 0xff at offset 0"),
    "a UTF-8-encoded surrogate": (b"metadata:\n  name: \xed\xa0\x80\n", 2, "byte 0xed at offset 18"),
    "an overlong encoding of /": (b"metadata:\n  name: a\xc0\xafb\n", 2, "byte 0xc0 at offset 19"),
}


@pytest.mark.parametrize("sample", list(NOT_UTF8), ids=list(NOT_UTF8))
def test_bytes_that_are_not_utf8_are_refused_naming_where(engine: Engine, base: Path, sample: str) -> None:
    content, expected_line, fragment = NOT_UTF8[sample]
    path = write(base / "catalog" / "binary.yaml", content)

    summary = ingest(engine, [str(base / "catalog")], workers=0)

    line, _message = assert_only_this_file_refused(
        engine, summary, path, "unreadable-file", "File is not valid UTF-8", fragment
    )
    assert line == expected_line


def test_control_characters_in_valid_utf8_are_a_yaml_error(engine: Engine, base: Path) -> None:
    path = write(base / "catalog" / "control.yaml", component("nul").replace("name: nul", "name: a\x00b\x1b"))

    summary = ingest(engine, [str(base / "catalog")], workers=0)

    assert_only_this_file_refused(engine, summary, path, "yaml-error", "control characters are not allowed")


# --- symlinks out of the root -----------------------------------------------------------------------


def _file_link(base: Path) -> Path:
    link = base / "catalog" / "linked.yaml"
    link.symlink_to(base / "outside.yaml")
    return link


def _folder_link(base: Path) -> Path:
    link = base / "catalog" / "escape"
    link.symlink_to(base / "elsewhere")
    return link


@pytest.mark.parametrize(
    ("make_link", "argument"),
    [
        (_file_link, "catalog"),
        (_folder_link, "catalog"),
        (_file_link, "catalog/*.yaml"),
        (_folder_link, "catalog/**/*.yaml"),
    ],
    ids=["file link, folder argument", "folder link, folder argument", "file link, glob", "folder link, glob"],
)
def test_a_symlink_leading_out_of_the_root_is_an_error_and_is_not_read(
    engine: Engine, base: Path, make_link: Callable[[Path], Path], argument: str
) -> None:
    link = make_link(base)

    summary = ingest(engine, [str(base / argument)], workers=0)

    assert refs(engine) == GOOD_REFS  # neither component:default/secret nor component:default/elsewhere
    ((where, code, _line, _ref, message),) = errors(engine)
    assert (where, code) == (f"file:{link}", "location")
    assert message == f"a symlink that leads outside the ingested root {base / 'catalog'}; not read"
    assert summary.errors == 1


def test_a_symlink_error_goes_when_the_symlink_does(engine: Engine, base: Path) -> None:
    link = _file_link(base)
    ingest(engine, [str(base / "catalog")], workers=0)
    assert len(errors(engine)) == 1

    link.unlink()
    summary = ingest(engine, [str(base / "catalog")], workers=0)

    assert (errors(engine), summary.errors, refs(engine)) == ([], 0, GOOD_REFS)


@pytest.mark.parametrize("target", ["./escape/catalog-info.yaml", "./escape", "./escape/*.yaml", "./**/escape/*.yaml"])
def test_a_location_target_through_a_symlinked_folder_out_of_the_root_is_refused(
    engine: Engine, base: Path, target: str
) -> None:
    link = _folder_link(base)
    path = write(base / "catalog" / "all.yaml", location("./good.yaml", target))

    summary = ingest(engine, [str(path)], workers=0)

    assert refs(engine) == GOOD_REFS | {"location:default/root"}
    ((where, code, _line, entity_ref, message),) = errors(engine)
    assert (where, code) == (f"file:{path}", "location")
    root = base / "catalog"
    if target.startswith("./**"):  # refused while the glob is walked, after the Location was read
        assert (entity_ref, message) == (
            None,
            f"Location target {link}: a symlink that leads outside the ingested root {root}; not read",
        )
    else:
        assert (entity_ref, message) == (
            "location:default/root",
            f'Location target "{target}" resolves outside the ingested root {root}',
        )
    assert summary.errors == 1


# --- Location targets and placeholders that climb out ----------------------------------------------
# (`../outside.yaml` is test_ingest.py::test_targets_that_climb_out_of_the_root_are_refused.)


def test_location_targets_outside_the_root_are_each_refused(engine: Engine, base: Path) -> None:
    outside = str(base / "outside.yaml")
    targets = [
        "../../../../../../../../etc/passwd",
        "./nested/../../outside.yaml",
        outside,
        f"file:{outside}",
        "../*.yaml",
        "/etc/**/*.yaml",
    ]
    path = write(base / "catalog" / "all.yaml", location("./good.yaml", *targets))

    summary = ingest(engine, [str(path)], workers=0)

    assert refs(engine) == GOOD_REFS | {"location:default/root"}
    found = errors(engine)
    assert [(where, code, ref) for where, code, _line, ref, _message in found] == [
        (f"file:{path}", "location", "location:default/root")
    ] * len(targets)
    messages = sorted(message for *_rest, message in found)
    root = base / "catalog"
    assert messages == sorted(
        f'Location target "{target}" resolves outside the ingested root {root}' for target in targets
    )
    assert summary.errors == len(targets)


@pytest.mark.parametrize(
    ("placeholder", "target"),
    [("$text", "../../outside.txt"), ("$json", "/etc/passwd"), ("$yaml", "../../outside.yaml")],
)
def test_a_placeholder_outside_the_root_is_an_error_and_leaks_nothing(
    engine: Engine, base: Path, placeholder: str, target: str
) -> None:
    descriptor = component("leaky").replace(
        "  name: leaky\n", f"  name: leaky\n  description: {{{placeholder}: {target}}}\n"
    )
    path = write(base / "catalog" / "svc" / "catalog-info.yaml", descriptor)

    summary = ingest(engine, [str(base / "catalog")], workers=0)

    _line, message = assert_only_this_file_refused(
        engine, summary, path, "placeholder", '"metadata.description"', f"{target!r} resolves outside the ingested root"
    )
    assert "top secret" not in message and "root:" not in message


@pytest.mark.parametrize(
    ("targets", "type_", "fragment"),
    [
        (["file:///etc/passwd"], None, "is a URL; a file location only reads local paths"),
        (["url:https://example.com/catalog-info.yaml"], None, "is a URL; a file location only reads local paths"),
        (["http://169.254.169.254/latest/meta-data/"], None, "is a URL; a file location only reads local paths"),
        (["https://example.com/catalog-info.yaml"], "url", 'a local file source follows only "file" locations'),
    ],
    ids=["file URL", "url: prefix", "metadata address", "url Location"],
)
def test_a_url_target_in_a_local_location_is_refused(
    engine: Engine, base: Path, targets: list[str], type_: str | None, fragment: str
) -> None:
    path = write(base / "catalog" / "all.yaml", location(*targets, type_=type_))

    summary = ingest(engine, [str(base / "catalog")], workers=0)

    assert refs(engine) == GOOD_REFS | {"location:default/root"}
    ((where, code, _line, entity_ref, message),) = errors(engine)
    assert (where, code, entity_ref) == (f"file:{path}", "location", "location:default/root")
    assert fragment in message
    assert summary.errors == 1


# --- placeholders that name the entity --------------------------------------------------------------


def test_an_entity_named_by_placeholders_is_named_after_they_are_substituted(engine: Engine, base: Path) -> None:
    # Such a file used to stop the whole ingest: the entity was named before its placeholders were read.
    write(base / "catalog" / "svc" / "name.txt", "placed")
    write(base / "catalog" / "svc" / "kind.txt", "Component")
    write(base / "catalog" / "svc" / "metadata.txt", "name: placed-too\n")  # not *.yaml: the folder would read it
    descriptor = textwrap.dedent(
        """\
        apiVersion: backstage.io/v1alpha1
        kind: Component
        metadata:
          name: {$text: ./name.txt}
        spec: {type: service, lifecycle: production, owner: team-a}
        ---
        apiVersion: backstage.io/v1alpha1
        kind: {$text: ./kind.txt}
        metadata: {$yaml: ./metadata.txt}
        spec: {type: service, lifecycle: production, owner: team-a}
        ---
        apiVersion: backstage.io/v1alpha1
        kind: Component
        metadata:
          name: {$text: ./missing.txt}
        spec: {type: service, lifecycle: production, owner: team-a}
        """
    )
    path = write(base / "catalog" / "svc" / "catalog-info.yaml", descriptor)

    summary = ingest(engine, [str(base / "catalog")], workers=0)

    assert refs(engine) == GOOD_REFS | {"component:default/placed", "component:default/placed-too"}
    ((where, code, line, entity_ref, message),) = errors(engine)
    assert (where, code, line, entity_ref) == (f"file:{path}", "placeholder", 12, None)
    assert message.startswith("\"metadata.name\": Placeholder $text could not read './missing.txt'")
    assert summary.errors == 1
