"""Behaviour of catalog.processing.process_file: one descriptor file to entity rows, targets and problems.

Also covers `$text` / `$json` / `$yaml` substitutions (catalog.substitutions) as process_file applies them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import orjson
import pytest

from catalog.processing import (
    MANAGED_BY_LOCATION,
    MANAGED_BY_ORIGIN_LOCATION,
    EntityRow,
    FileResult,
    FileTask,
    Problem,
    file_hash,
    process_file,
    process_files,
)

COMPONENT = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: Orders-Service
  title: Orders
  description: Takes orders
  tags: [python, grpc, python]
  annotations:
    github.com/project-slug: acme/orders
spec:
  type: service
  lifecycle: production
  owner: Team-A
  system: payments
  providesApis: [orders-api]
  dependsOn: [resource:orders-db]
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The ingested root folder, symlinks resolved as the ingest resolves it."""
    path = Path(os.path.realpath(tmp_path)) / "repo"
    path.mkdir()
    return path


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def process(path: Path, root: Path, origin: Path | None = None, **options: object) -> FileResult:
    return process_file(FileTask(str(path), str(root), str(origin or path), **options))  # type: ignore[arg-type]


def component(name: str = "svc", extra_spec: str = "", extra_metadata: str = "") -> str:
    return (
        "apiVersion: backstage.io/v1alpha1\n"
        "kind: Component\n"
        "metadata:\n"
        f"  name: {name}\n"
        f"{extra_metadata}"
        "spec:\n"
        "  type: service\n"
        "  lifecycle: production\n"
        "  owner: team-a\n"
        f"{extra_spec}"
    )


def body(row: EntityRow) -> dict:
    return orjson.loads(row.body)


# --- a valid component ----------------------------------------------------------------------------


def test_valid_component_becomes_one_entity_row(root: Path):
    path = write(root / "services" / "catalog-info.yaml", COMPONENT)

    result = process(path, root)

    assert result.problems == []
    assert result.targets == []
    assert result.unchanged is False
    assert result.path == str(path)
    (row,) = result.entities
    assert row.ref == "component:default/orders-service"
    assert (row.kind, row.namespace, row.name) == ("Component", "default", "Orders-Service")
    assert (row.title, row.description) == ("Orders", "Takes orders")
    assert (row.type, row.lifecycle) == ("service", "production")
    assert row.owner_ref == "group:default/team-a"
    assert row.system_ref == "system:default/payments"
    assert row.tags == ["grpc", "python"]
    assert row.line == 1


def test_valid_component_row_carries_its_declared_relations_with_canonical_targets(root: Path):
    # The row stores each declared (type, target) once; the inverse direction is derived when read
    # (queries.relations_from, through relations.INVERSE).
    path = write(root / "catalog-info.yaml", COMPONENT)

    (row,) = process(path, root).entities

    assert row.relations == [
        ("dependsOn", "resource:default/orders-db"),
        ("ownedBy", "group:default/team-a"),
        ("partOf", "system:default/payments"),
        ("providesApi", "api:default/orders-api"),
    ]


def test_repeated_references_are_stored_once(root: Path):
    path = write(root / "c.yaml", component(extra_spec="  providesApis: [orders, Orders, api:default/orders]\n"))

    (row,) = process(path, root).entities

    assert row.relations == [("ownedBy", "group:default/team-a"), ("providesApi", "api:default/orders")]


def test_body_is_json_with_default_namespace_and_location_annotations(root: Path):
    path = write(root / "services" / "catalog-info.yaml", COMPONENT)
    origin = root / "all.yaml"

    (row,) = process(path, root, origin).entities

    stored = body(row)
    assert stored["apiVersion"] == "backstage.io/v1alpha1"
    assert stored["kind"] == "Component"
    assert stored["metadata"]["name"] == "Orders-Service"
    assert stored["metadata"]["namespace"] == "default"
    assert stored["metadata"]["tags"] == ["python", "grpc", "python"]  # the body keeps what was written
    assert stored["metadata"]["annotations"] == {
        "github.com/project-slug": "acme/orders",
        MANAGED_BY_LOCATION: f"file:{path}",
        MANAGED_BY_ORIGIN_LOCATION: f"file:{origin}",
    }
    assert MANAGED_BY_LOCATION == "backstage.io/managed-by-location"
    assert MANAGED_BY_ORIGIN_LOCATION == "backstage.io/managed-by-origin-location"
    assert stored["spec"]["owner"] == "Team-A"
    assert "relations" not in stored and "status" not in stored


def test_location_annotations_written_in_the_file_are_replaced(root: Path):
    path = write(
        root / "c.yaml",
        component(
            extra_metadata=(
                "  annotations:\n"
                "    backstage.io/managed-by-location: url:https://elsewhere/x.yaml\n"
                "    backstage.io/managed-by-origin-location: url:https://elsewhere/y.yaml\n"
            )
        ),
    )

    (row,) = process(path, root).entities

    annotations = body(row)["metadata"]["annotations"]
    assert annotations[MANAGED_BY_LOCATION] == f"file:{path}"
    assert annotations[MANAGED_BY_ORIGIN_LOCATION] == f"file:{path}"


def test_relations_and_status_written_in_the_file_are_not_stored(root: Path):
    text = component() + "relations:\n  - type: ownedBy\n    targetRef: group:default/evil\nstatus:\n  items: []\n"
    path = write(root / "c.yaml", text)

    (row,) = process(path, root).entities

    stored = body(row)
    assert "relations" not in stored and "status" not in stored
    assert row.relations == [("ownedBy", "group:default/team-a")]


def test_content_hash_changes_with_the_stored_body(root: Path):
    first = process(write(root / "a.yaml", component(extra_metadata="  description: one\n")), root).entities[0]
    second = process(write(root / "b.yaml", component(extra_metadata="  description: two\n")), root).entities[0]
    again = process(root / "a.yaml", root).entities[0]

    assert first.content_hash != second.content_hash
    assert first.content_hash == again.content_hash


def test_entity_in_a_namespace_gets_its_refs_in_that_namespace(root: Path):
    text = component(extra_metadata="  namespace: ml\n", extra_spec="  system: default/platform\n")
    path = write(root / "c.yaml", text)

    (row,) = process(path, root).entities

    assert row.ref == "component:ml/svc"
    assert row.namespace == "ml"
    assert row.owner_ref == "group:ml/team-a"
    assert row.system_ref == "system:default/platform"
    assert body(row)["metadata"]["namespace"] == "ml"


def test_subcomponent_is_not_taken_for_the_system(root: Path):
    path = write(root / "c.yaml", component(extra_spec="  subcomponentOf: checkout\n"))

    (row,) = process(path, root).entities

    assert row.system_ref is None
    assert ("partOf", "component:default/checkout") in row.relations


def test_entity_without_tags_or_title_has_empty_columns(root: Path):
    (row,) = process(write(root / "c.yaml", component()), root).entities

    assert row.tags == []
    assert row.title is None
    assert row.description is None


def test_each_document_is_an_entity_with_its_own_line(root: Path):
    text = component("one") + "---\n" + component("two") + "---\n"
    path = write(root / "c.yaml", text)

    result = process(path, root)

    assert result.problems == []
    assert [(row.ref, row.line) for row in result.entities] == [
        ("component:default/one", 1),
        ("component:default/two", 10),
    ]


def test_process_files_processes_each_task_in_order(root: Path):
    a = write(root / "a.yaml", component("a"))
    b = write(root / "b.yaml", component("b"))

    results = process_files([FileTask(str(b), str(root), str(b)), FileTask(str(a), str(root), str(a))])

    assert [r.path for r in results] == [str(b), str(a)]
    assert [r.entities[0].ref for r in results] == ["component:default/b", "component:default/a"]


# --- invalid entities and problems ----------------------------------------------------------------


def test_invalid_entity_is_a_policy_problem_with_its_line(root: Path):
    text = (
        component("good")
        + "---\n"
        + (
            "apiVersion: backstage.io/v1alpha1\n"
            "kind: Component\n"
            "metadata:\n"
            "  name: broken\n"
            "spec:\n"
            "  type: service\n"
            "  owner: team-a\n"
        )
    )
    path = write(root / "c.yaml", text)

    result = process(path, root)

    assert [row.ref for row in result.entities] == ["component:default/good"]
    (problem,) = result.problems
    assert problem.message.startswith("Policy check failed for component:default/broken")
    assert '"spec.lifecycle" is required' in problem.message
    assert problem.line == 10
    assert problem.entity_ref == "component:default/broken"
    assert problem.severity == "error"


def test_invalid_field_value_is_named_in_the_problem(root: Path):
    path = write(root / "c.yaml", component(extra_metadata="  tags: [Not A Tag]\n"))

    result = process(path, root)

    assert result.entities == []
    (problem,) = result.problems
    assert problem.message.startswith("Policy check failed for component:default/svc")
    assert '"metadata.tags.0"' in problem.message
    assert problem.line == 1


def test_entity_without_a_readable_name_is_reported_as_entity(root: Path):
    path = write(root / "c.yaml", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {}\nspec: {}\n")

    (problem,) = process(path, root).problems

    assert problem.message.startswith("Policy check failed for entity; ")
    assert '"metadata.name" is required' in problem.message
    assert problem.entity_ref is None


def test_dependency_without_kind_is_a_processing_problem_and_no_entity(root: Path):
    path = write(root / "c.yaml", component(extra_spec="  dependsOn: [orders-db]\n"))

    result = process(path, root)

    assert result.entities == []
    (problem,) = result.problems
    assert problem.message.startswith("Processing failed for component:default/svc")
    assert '"spec.dependsOn.0"' in problem.message
    assert problem.line == 1


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "42\n"], ids=repr)
def test_non_mapping_document_is_a_problem(root: Path, text):
    path = write(root / "c.yaml", component() + "---\n" + text)

    result = process(path, root)

    assert [row.ref for row in result.entities] == ["component:default/svc"]
    (problem,) = result.problems
    assert "must be a mapping" in problem.message
    assert problem.line == 10


@pytest.mark.parametrize("text", ["---\n", "", "# nothing here\n", "---\n---\n"], ids=repr)
def test_empty_documents_yield_nothing(root: Path, text):
    result = process(write(root / "c.yaml", text), root)

    assert (result.entities, result.problems, result.targets) == ([], [], [])


def test_trailing_empty_document_is_ignored(root: Path):
    result = process(write(root / "c.yaml", component() + "---\n"), root)

    assert result.problems == []
    assert len(result.entities) == 1


def test_yaml_syntax_error_keeps_earlier_documents_and_reports_the_line(root: Path):
    text = component("one") + "---\nbroken: [\n---\n" + component("two")
    path = write(root / "c.yaml", text)

    result = process(path, root)

    assert [row.ref for row in result.entities] == ["component:default/one"]
    (problem,) = result.problems
    assert problem.message.startswith("YAML syntax error")
    assert problem.line == 11  # where libyaml found the unclosed `[`


def test_non_utf8_file_is_one_problem_naming_the_line(root: Path):
    path = write(root / "c.yaml", component().encode() + b"  description: caf\xe9\n")

    result = process(path, root)

    assert result.entities == []
    (problem,) = result.problems
    assert "not valid UTF-8" in problem.message
    assert problem.line == 9
    assert result.content_hash != ""


def test_file_over_the_size_limit_is_refused(root: Path):
    path = write(root / "c.yaml", component())

    result = process(path, root, max_bytes=50)

    assert result.entities == []
    (problem,) = result.problems
    assert "over the limit of 50 bytes" in problem.message


def test_alias_bomb_is_a_problem_and_other_documents_still_count(root: Path):
    bomb = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    path = write(root / "c.yaml", bomb + "---\n" + component())

    result = process(path, root)

    assert [row.ref for row in result.entities] == ["component:default/svc"]
    (problem,) = result.problems
    assert "alias bomb" in problem.message
    assert problem.line == 1


def test_missing_file_is_a_problem_not_an_exception(root: Path):
    result = process(root / "missing.yaml", root)

    assert result.entities == []
    (problem,) = result.problems
    assert problem.message.startswith("Could not read file")


# --- content hash ---------------------------------------------------------------------------------


def test_the_recorded_content_hash_is_what_file_hash_computes(root: Path):
    path = write(root / "c.yaml", "broken: [\n")

    assert process(path, root).content_hash == file_hash(str(path))
    write(path, component("renamed"))
    assert process(path, root).content_hash == file_hash(str(path))
    assert file_hash(str(root / "missing.yaml")) is None


# --- Location entities ----------------------------------------------------------------------------


def location(spec: str, name: str = "repo") -> str:
    return f"apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: {name}\nspec:\n{spec}"


def test_location_yields_absolute_targets_and_is_itself_an_entity(root: Path):
    path = write(
        root / "teams" / "all.yaml",
        location("  target: ./one.yaml\n  targets:\n    - ../services/**/catalog-info.yaml\n    - file:two.yaml\n"),
    )

    result = process(path, root)

    assert result.problems == []
    assert result.targets == [
        str(root / "teams" / "one.yaml"),
        str(root / "services" / "**" / "catalog-info.yaml"),
        str(root / "teams" / "two.yaml"),
    ]
    assert all(os.path.isabs(target) for target in result.targets)
    (row,) = result.entities
    assert row.ref == "location:default/repo"
    assert row.kind == "Location"
    assert row.relations == []
    assert body(row)["spec"]["target"] == "./one.yaml"


def test_location_target_outside_the_root_is_a_problem_other_targets_kept(root: Path):
    path = write(root / "all.yaml", location("  targets: [./inside.yaml, ../outside.yaml]\n"))

    result = process(path, root)

    assert result.targets == [str(root / "inside.yaml")]
    (problem,) = result.problems
    assert "outside the ingested root" in problem.message
    assert str(root) in problem.message
    assert problem.entity_ref == "location:default/repo"
    assert problem.line == 1


def test_location_of_type_url_yields_a_problem_and_no_targets(root: Path):
    path = write(
        root / "all.yaml", location("  type: url\n  target: https://github.com/acme/repo/blob/main/catalog-info.yaml\n")
    )

    result = process(path, root)

    assert result.targets == []
    (problem,) = result.problems
    assert '"url"' in problem.message
    assert problem.entity_ref == "location:default/repo"


def test_url_target_in_a_file_location_is_a_problem(root: Path):
    path = write(root / "all.yaml", location("  target: https://example.com/catalog-info.yaml\n"))

    result = process(path, root)

    assert result.targets == []
    (problem,) = result.problems
    assert "URL" in problem.message


def test_targets_from_several_locations_in_one_file_are_collected(root: Path):
    text = location("  target: ./a.yaml\n", "first") + "---\n" + location("  target: ./b.yaml\n", "second")
    path = write(root / "all.yaml", text)

    result = process(path, root)

    assert result.targets == [str(root / "a.yaml"), str(root / "b.yaml")]
    assert [row.ref for row in result.entities] == ["location:default/first", "location:default/second"]


# --- $text / $json / $yaml substitutions ----------------------------------------------------------


def api(definition: str, name: str = "orders-api") -> str:
    return (
        "apiVersion: backstage.io/v1alpha1\n"
        "kind: API\n"
        "metadata:\n"
        f"  name: {name}\n"
        "spec:\n"
        "  type: openapi\n"
        "  lifecycle: production\n"
        "  owner: team-a\n"
        f"  definition: {definition}\n"
    )


def test_text_placeholder_is_replaced_by_the_file_text(root: Path):
    openapi = '{"openapi": "3.0.0",\n "info": {"title": "Orders"}}\n'
    write(root / "apis" / "api.json", openapi)
    path = write(root / "apis" / "catalog-info.yaml", api("{$text: ./api.json}"))

    result = process(path, root)

    assert result.problems == []
    (row,) = result.entities
    assert body(row)["spec"]["definition"] == openapi


def template(parameters: str) -> str:
    return (
        "apiVersion: scaffolder.backstage.io/v1beta3\n"
        "kind: Template\n"
        "metadata:\n"
        "  name: new-service\n"
        "spec:\n"
        "  type: service\n"
        "  owner: team-a\n"
        f"  parameters: {parameters}\n"
        "  steps:\n"
        "    - action: fetch:plain\n"
    )


def test_json_placeholder_is_parsed(root: Path):
    form = {"title": "New service", "required": ["name"], "properties": {"name": {"type": "string"}}}
    write(root / "templates" / "form.json", json.dumps(form))
    path = write(root / "templates" / "template.yaml", template("{$json: ./form.json}"))

    result = process(path, root)

    assert result.problems == []
    (row,) = result.entities
    assert body(row)["spec"]["parameters"] == form


def test_yaml_placeholder_is_parsed_with_the_descriptor_schema(root: Path):
    write(root / "form.yaml", "title: New service\nversion: 2026-06-14\nx-enabled: on\nx-port: 8080\nx-mode: 0755\n")
    path = write(root / "template.yaml", template("{$yaml: ./form.yaml}"))

    (row,) = process(path, root).entities

    assert body(row)["spec"]["parameters"] == {
        "title": "New service",
        "version": "2026-06-14",
        "x-enabled": "on",
        "x-port": 8080,
        "x-mode": 755,
    }


def test_json_placeholder_that_breaks_the_schema_is_a_policy_problem(root: Path):
    write(root / "api.json", '{"openapi": "3.0.0"}')
    path = write(root / "catalog-info.yaml", api("{$json: ./api.json}"))

    result = process(path, root)

    # An API definition must be a string: the parsed object is refused, as upstream refuses it.
    assert result.entities == []
    (problem,) = result.problems
    assert problem.message.startswith("Policy check failed for api:default/orders-api")
    assert '"spec.definition"' in problem.message


def test_placeholder_elsewhere_in_the_entity_is_replaced(root: Path):
    write(root / "docs" / "summary.txt", "Takes orders")
    write(root / "docs" / "links.json", '[{"url": "https://example.com/orders", "title": "Docs"}]')
    text = component(
        extra_metadata=("  description: {$text: ./docs/summary.txt}\n  links: {$json: ./docs/links.json}\n")
    )
    path = write(root / "c.yaml", text)

    (row,) = process(path, root).entities

    assert row.description == "Takes orders"
    assert body(row)["metadata"]["links"] == [{"url": "https://example.com/orders", "title": "Docs"}]


def test_substituted_value_is_validated(root: Path):
    path = write(root / "c.yaml", component(extra_metadata="  title: {$json: ./title.json}\n"))
    write(root / "title.json", "42")

    result = process(path, root)

    assert result.entities == []
    (problem,) = result.problems
    assert problem.message.startswith("Policy check failed for component:default/svc")
    assert '"metadata.title"' in problem.message


def test_missing_placeholder_file_is_a_problem_naming_the_field(root: Path):
    text = api("{$text: ./missing.json}", "broken-api") + "---\n" + component("other")
    path = write(root / "catalog-info.yaml", text)

    result = process(path, root)

    assert [row.ref for row in result.entities] == ["component:default/other"]
    (problem,) = result.problems
    assert problem.message.startswith('"spec.definition"')
    assert "missing.json" in problem.message
    assert problem.entity_ref == "api:default/broken-api"
    assert problem.line == 1


def test_placeholder_file_outside_the_root_is_a_problem_naming_the_field(root: Path):
    write(root.parent / "secret.txt", "top secret")
    text = component("first") + "---\n" + api("{$text: ../secret.txt}")
    path = write(root / "catalog-info.yaml", text)

    result = process(path, root)

    assert [row.ref for row in result.entities] == ["component:default/first"]
    (problem,) = result.problems
    assert problem.message.startswith('"spec.definition"')
    assert "outside the ingested root" in problem.message
    assert "top secret" not in problem.message
    assert problem.line == 10


def test_placeholder_through_a_symlink_leading_outside_is_refused(root: Path):
    write(root.parent / "secret.txt", "top secret")
    (root / "innocent.txt").symlink_to(root.parent / "secret.txt")
    path = write(root / "catalog-info.yaml", api("{$text: ./innocent.txt}"))

    result = process(path, root)

    assert result.entities == []
    (problem,) = result.problems
    assert "outside the ingested root" in problem.message


def test_url_placeholder_is_a_problem(root: Path):
    path = write(root / "catalog-info.yaml", api("{$text: 'https://example.com/api.json'}"))

    result = process(path, root)

    assert result.entities == []
    (problem,) = result.problems
    assert problem.message.startswith('"spec.definition"')
    assert "URL" in problem.message


@pytest.mark.parametrize(("kind", "content"), [("$json", "{not json"), ("$yaml", "a: [\n")])
def test_unparsable_placeholder_file_is_a_problem_naming_the_field(root: Path, kind, content):
    write(root / "api.data", content)
    path = write(root / "catalog-info.yaml", api(f"{{{kind}: ./api.data}}"))

    result = process(path, root)

    assert result.entities == []
    (problem,) = result.problems
    assert problem.message.startswith('"spec.definition"')
    assert "could not parse" in problem.message


def test_placeholder_file_over_the_size_limit_is_a_problem(root: Path):
    write(root / "api.json", "x" * 600)
    path = write(root / "catalog-info.yaml", api("{$text: ./api.json}"))

    result = process(path, root, max_bytes=500)

    assert result.entities == []
    (problem,) = result.problems
    assert problem.message.startswith('"spec.definition"')
    assert "over the limit of 500 bytes" in problem.message


def test_placeholder_in_a_list_names_the_index(root: Path):
    path = write(root / "c.yaml", component(extra_metadata="  links:\n    - {$json: ./nope.json}\n"))

    (problem,) = process(path, root).problems

    assert problem.message.startswith('"metadata.links.0"')


def test_mapping_with_more_than_the_placeholder_key_is_left_alone(root: Path):
    text = api("{$text: ./api.json, other: 1}")
    path = write(root / "catalog-info.yaml", text)

    result = process(path, root)

    # Not a placeholder: the definition stays a mapping, which the API schema refuses.
    assert result.entities == []
    (problem,) = result.problems
    assert '"spec.definition"' in problem.message
    assert problem.message.startswith("Policy check failed for api:default/orders-api")


def test_alias_bomb_in_a_yaml_placeholder_is_refused(root: Path):
    bomb = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(5)
    )  # 9**6 leaves: past the 100,000-node limit a descriptor document may expand to
    write(root / "bomb.yaml", bomb)
    path = write(root / "template.yaml", template("{$yaml: ./bomb.yaml}"))

    result = process(path, root)

    assert result.entities == []
    (problem,) = result.problems
    assert "alias bomb" in problem.message


def test_deep_nesting_in_a_file_with_placeholders_is_a_problem_not_a_crash(root: Path):
    write(root / "summary.txt", "Takes orders")
    deep = "{a: " * 600 + "x" + "}" * 600
    text = (
        component("deep", extra_metadata="  description: {$text: ./summary.txt}\n", extra_spec=f"  extra: {deep}\n")
        + "---\n"
        + component("fine")
    )
    path = write(root / "c.yaml", text)

    result = process(path, root)

    assert [row.ref for row in result.entities] == ["component:default/fine"]
    assert len(result.problems) == 1
    assert isinstance(result.problems[0], Problem)


def test_the_same_reference_written_several_ways_is_one_relation(root: Path):
    spec = '  providesApis: [orders, Orders, "api:default/orders", "API:ORDERS"]\n'
    path = write(root / "c.yaml", component(extra_spec=spec))

    (row,) = process(path, root).entities

    assert row.relations == [("ownedBy", "group:default/team-a"), ("providesApi", "api:default/orders")]
