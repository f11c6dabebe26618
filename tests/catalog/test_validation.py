"""Behaviour of catalog.validation: field validators and whole-entity validation."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from catalog import validation as v
from catalog.validation import validate_entity

NAME_EXPECTATION = "a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total"
TAG_EXPECTATION = "a string that is sequences of [a-z0-9+#] separated by [-], at most 63 characters in total"

PUBLIC_VALIDATORS = [
    v.is_valid_api_version,
    v.is_valid_kind,
    v.is_valid_entity_name,
    v.is_valid_namespace,
    v.is_valid_label_key,
    v.is_valid_label_value,
    v.is_valid_annotation_key,
    v.is_valid_annotation_value,
    v.is_valid_dns_subdomain,
    v.is_valid_dns_label,
    v.is_valid_tag,
    v.is_valid_url,
    v.is_valid_string,
]


def entity(kind: str, spec: Any, api_version: str = "backstage.io/v1alpha1") -> dict[str, Any]:
    doc: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "thing"}}
    if spec is not None:
        doc["spec"] = spec
    return doc


# A minimal valid document per built-in kind, and the spec fields its schema requires.
MINIMAL: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "Component": (
        entity("Component", {"type": "service", "lifecycle": "production", "owner": "team-a"}),
        ("type", "lifecycle", "owner"),
    ),
    "API": (
        entity(
            "API", {"type": "openapi", "lifecycle": "production", "owner": "team-a", "definition": "openapi: 3.0.0"}
        ),
        ("type", "lifecycle", "owner", "definition"),
    ),
    "Resource": (entity("Resource", {"type": "database", "owner": "team-a"}), ("type", "owner")),
    "System": (entity("System", {"owner": "team-a"}), ("owner",)),
    "Domain": (entity("Domain", {"owner": "team-a"}), ("owner",)),
    "Group": (entity("Group", {"type": "team", "children": []}), ("type", "children")),
    "User": (entity("User", {}), ()),
    "Location": (entity("Location", {}), ()),
    "Template": (
        entity(
            "Template", {"type": "service", "steps": [{"action": "fetch:plain"}]}, "scaffolder.backstage.io/v1beta3"
        ),
        ("type", "steps"),
    ),
}
REQUIRED_CASES = [(kind, field) for kind, (_, fields) in MINIMAL.items() for field in fields]


# --- field validators ----------------------------------------------------------------------------


@pytest.mark.parametrize("validator", PUBLIC_VALIDATORS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("value", [None, 7, 1.5, True, [], {}, ["a"], b"a"], ids=repr)
def test_validators_reject_non_strings(validator, value):
    assert validator(value) is False


@pytest.mark.parametrize("tag", ["c++", "c#", "f#", "go", "java-8", "a" * 63, "objective-c++"])
def test_tag_allows_plus_and_hash(tag):
    assert v.is_valid_tag(tag)


@pytest.mark.parametrize(
    "tag", ["Go", "go 1.15.3", "go1.15", "-go", "go-", "a--b", "a_b", "", "a" * 64, "go\n"], ids=repr
)
def test_tag_rejects(tag):
    assert not v.is_valid_tag(tag)


def test_dns_label_does_not_take_the_tag_extension():
    assert not v.is_valid_dns_label("c++")
    assert not v.is_valid_namespace("c#")


@pytest.mark.parametrize("text", ["a\n", "ab\n"])
def test_trailing_newline_is_not_accepted_like_js_dollar(text):
    assert not v.is_valid_entity_name(text)
    assert not v.is_valid_kind(text)
    assert not v.is_valid_dns_label(text)


@pytest.mark.parametrize(
    "url",
    [
        "http://foo",
        "url:https://github.com/x",
        "mailto:someone@example.com",
        "https://x.com/a b",
        "http:foo",
        "file:///etc/hosts",
        "xyz://custom-protocol:4444/path",
        "https:///path",
    ],  # special schemes skip extra slashes: this is https://path/
)
def test_url_accepts(url):
    assert v.is_valid_url(url)


@pytest.mark.parametrize(
    "url", ["", "abc", "   abc", " http://foo", "http://", "https:///", "http://a b/", "1http://foo", "://foo", "foo:"]
)
def test_url_rejects(url):
    assert not v.is_valid_url(url)


def test_api_version_and_keys_split_on_a_single_slash():
    assert v.is_valid_api_version("backstage.io/v1alpha1")
    assert not v.is_valid_api_version("a/b/c")
    assert v.is_valid_label_key("backstage.io/source-location")
    assert not v.is_valid_annotation_key("backstage.io/a/b")
    assert not v.is_valid_label_key("Backstage.io/x")  # the prefix is a lower-case DNS subdomain


def test_label_value_may_be_empty_but_not_blank():
    assert v.is_valid_label_value("")
    assert not v.is_valid_label_value(" ")


# --- envelope ------------------------------------------------------------------------------------


@pytest.mark.parametrize("doc", [None, [], "kind: Component", 7, [{"kind": "Component"}]], ids=repr)
def test_non_mapping_document_is_one_problem(doc):
    problems = validate_entity(doc)
    assert len(problems) == 1
    assert problems[0].startswith("Entity must be a mapping but found ")


def test_empty_mapping_reports_every_required_root_field():
    assert validate_entity({}) == ['"apiVersion" is required', '"kind" is required', '"metadata" is required']


def test_foreign_root_fields_are_rejected_but_relations_and_status_allowed():
    doc = MINIMAL["Component"][0] | {"relations": [], "status": {"items": []}}
    assert validate_entity(doc) == []
    doc["owner"] = "team-a"
    doc["Spec"] = {}
    assert validate_entity(doc) == ["Unknown field owner", "Unknown field Spec"]


@pytest.mark.parametrize("metadata", [None, "thing", ["name", "thing"]], ids=repr)
def test_metadata_must_be_a_mapping(metadata):
    doc = entity("Component", MINIMAL["Component"][0]["spec"])
    doc["metadata"] = metadata
    assert validate_entity(doc) == ['"metadata" must be a mapping']


def test_metadata_name_is_required():
    doc = copy.deepcopy(MINIMAL["System"][0])
    del doc["metadata"]["name"]
    assert validate_entity(doc) == ['"metadata.name" is required']
    doc["metadata"]["name"] = None
    assert validate_entity(doc) == ['"metadata.name" must have a value']


def test_invalid_name_message_matches_upstream_wording():
    doc = copy.deepcopy(MINIMAL["Component"][0])
    doc["metadata"]["name"] = "invalid name"
    assert validate_entity(doc) == [
        f'"metadata.name" is not valid; expected {NAME_EXPECTATION} but found "invalid name"'
    ]


def test_invalid_tag_message_names_index_and_value():
    doc = copy.deepcopy(MINIMAL["Component"][0])
    doc["metadata"]["tags"] = ["go", "c++", "go 1.15.3"]
    assert validate_entity(doc) == [f'"metadata.tags.2" is not valid; expected {TAG_EXPECTATION} but found "go 1.15.3"']


def test_bad_api_version_and_kind_formats():
    doc = entity("Component", None)
    doc["apiVersion"] = "a/b/c"
    doc["kind"] = "9Lives"
    assert validate_entity(doc) == [
        '"apiVersion" is not valid; expected a valid prefix and/or suffix but found "a/b/c"',
        '"kind" is not valid; expected a string that is a sequence of [a-zA-Z][a-z0-9A-Z], '
        'at most 63 characters in total but found "9Lives"',
    ]


def test_non_string_kind_is_rendered_like_js():
    doc = entity("Component", None)
    doc["kind"] = 7
    assert validate_entity(doc) == [
        '"kind" is not valid; expected a string that is a sequence of [a-zA-Z][a-z0-9A-Z], '
        'at most 63 characters in total but found "7"'
    ]


def test_metadata_fields_formats():
    doc = copy.deepcopy(MINIMAL["Domain"][0])
    doc["metadata"].update(
        namespace="Team_A",
        title=5,
        description=["x"],
        uid="",
        etag=None,
        labels={"backstage.io/ok": "", "bad key!": "ok", "good": "bad value", "n": None},
        annotations={"backstage.io/techdocs-ref": "dir:.", "x/y/z": "v", "count": 3},
    )
    assert validate_entity(doc) == [
        '"metadata.namespace" is not valid; expected a string that is sequences of [a-z0-9] separated by '
        '[-], at most 63 characters in total but found "Team_A"',
        '"metadata.title" must be a string',
        '"metadata.description" must be a string',
        '"metadata.uid" must be a non-empty string',
        '"metadata.etag" must be a non-empty string',
        '"metadata.labels.bad key!" is not valid; expected a valid prefix and/or suffix but found "bad key!"',
        f'"metadata.labels.good" is not valid; expected {NAME_EXPECTATION} but found "bad value"',
        '"metadata.labels.n" must have a value',
        '"metadata.annotations.x/y/z" is not valid; expected a valid prefix and/or suffix but found "x/y/z"',
        '"metadata.annotations.count" is not valid; expected a string but found "3"',
    ]


def test_metadata_collections_must_have_the_right_shape():
    doc = copy.deepcopy(MINIMAL["Domain"][0])
    doc["metadata"].update(labels=["a"], annotations="a=b", tags="java", links={"url": "https://x"})
    assert validate_entity(doc) == [
        '"metadata.labels" must be a mapping',
        '"metadata.annotations" must be a mapping',
        '"metadata.tags" must be a list',
        '"metadata.links" must be a list',
    ]


def test_links():
    doc = copy.deepcopy(MINIMAL["Domain"][0])
    doc["metadata"]["links"] = [
        {"url": "https://example.com", "title": "Docs", "icon": "dashboard", "type": "admin-dashboard"},
        {"title": "no url"},
        {"url": "not a url", "title": "  ", "icon": "-bad", "type": 3},
        "https://example.com",
    ]
    assert validate_entity(doc) == [
        '"metadata.links.1.url" is required',
        '"metadata.links.2.url" is not valid; expected a string that is a valid url but found "not a url"',
        '"metadata.links.2.title" is not valid; expected a non empty string but found "  "',
        f'"metadata.links.2.icon" is not valid; expected {NAME_EXPECTATION} but found "-bad"',
        '"metadata.links.2.type" must be a string',
        '"metadata.links.3" must be a mapping',
    ]


def test_all_problems_are_reported_in_document_order():
    doc = {
        "kind": "Component",
        "metadata": {"tags": ["Bad"], "name": "bad name"},
        "spec": {"type": "", "owner": 7},
        "extra": True,
        "apiVersion": "backstage.io/v1alpha1",
    }
    problems = validate_entity(doc)
    assert problems == [
        f'"metadata.tags.0" is not valid; expected {TAG_EXPECTATION} but found "Bad"',
        f'"metadata.name" is not valid; expected {NAME_EXPECTATION} but found "bad name"',
        '"spec.type" must be a non-empty string',
        '"spec.owner" must be a non-empty string',
        '"spec.lifecycle" is required',
        "Unknown field extra",
    ]


def test_validation_does_not_modify_the_document():
    doc = copy.deepcopy(MINIMAL["Component"][0])
    doc["metadata"]["tags"] = ["Bad Tag"]
    before = copy.deepcopy(doc)
    validate_entity(doc)
    assert doc == before


# --- built-in kinds ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", MINIMAL)
def test_minimal_entity_of_each_kind_is_valid(kind):
    assert validate_entity(MINIMAL[kind][0]) == []


@pytest.mark.parametrize("kind", [k for k in MINIMAL if k != "Template"])
def test_core_kinds_accept_v1beta1(kind):
    doc = copy.deepcopy(MINIMAL[kind][0])
    doc["apiVersion"] = "backstage.io/v1beta1"
    assert validate_entity(doc) == []


@pytest.mark.parametrize(("kind", "field"), REQUIRED_CASES)
def test_each_required_spec_field(kind, field):
    doc = copy.deepcopy(MINIMAL[kind][0])
    del doc["spec"][field]
    assert validate_entity(doc) == [f'"spec.{field}" is required']


@pytest.mark.parametrize(("kind", "field"), [(k, f) for k, f in REQUIRED_CASES if f not in ("children", "steps")])
@pytest.mark.parametrize("bad", ["", None, 7, ["x"], {"a": "b"}], ids=repr)
def test_required_string_fields_must_be_non_empty_strings(kind, field, bad):
    doc = copy.deepcopy(MINIMAL[kind][0])
    doc["spec"][field] = bad
    assert validate_entity(doc) == [f'"spec.{field}" must be a non-empty string']


@pytest.mark.parametrize("kind", MINIMAL)
def test_spec_is_required_for_built_in_kinds(kind):
    doc = copy.deepcopy(MINIMAL[kind][0])
    del doc["spec"]
    assert validate_entity(doc) == ['"spec" is required']
    doc["spec"] = None
    assert validate_entity(doc) == ['"spec" must be a mapping']


def test_unknown_spec_fields_are_kept():
    doc = copy.deepcopy(MINIMAL["API"][0])
    doc["spec"]["apiConsumedBy"] = ["backstage-demo"]
    assert validate_entity(doc) == []


def test_component_optional_fields():
    doc = copy.deepcopy(MINIMAL["Component"][0])
    doc["spec"].update(
        system="audio",
        subcomponentOf="player",
        providesApis=["a"],
        consumesApis=[],
        dependsOn=["resource:db"],
        dependencyOf=["component:x"],
    )
    assert validate_entity(doc) == []
    doc["spec"].update(system="", providesApis="a", dependsOn=["ok", ""])
    assert validate_entity(doc) == [
        '"spec.system" must be a non-empty string',
        '"spec.providesApis" must be a list',
        '"spec.dependsOn.1" must be a non-empty string',
    ]


def test_api_definition_may_be_an_unresolved_text_placeholder():
    doc = copy.deepcopy(MINIMAL["API"][0])
    doc["spec"]["definition"] = {"$text": "./openapi.yaml"}
    assert validate_entity(doc) == []
    doc["spec"]["definition"] = {"openapi": "3.0.0"}  # an inline object is not a definition string
    assert validate_entity(doc) == ['"spec.definition" must be a non-empty string']


def test_mcp_server_api_needs_remotes_instead_of_definition():
    doc = entity(
        "API",
        {
            "type": "mcp-server",
            "lifecycle": "production",
            "owner": "team-a",
            "remotes": [{"type": "streamable-http", "url": "https://api.example.com/mcp/"}],
        },
    )
    assert validate_entity(doc) == []
    doc["spec"]["remotes"] = []
    assert validate_entity(doc) == ['"spec.remotes" must be a non-empty list']
    doc["spec"]["remotes"] = [{"type": "stdio"}, "x"]
    assert validate_entity(doc) == ['"spec.remotes.0.url" is required', '"spec.remotes.1" must be a mapping']
    del doc["spec"]["remotes"]
    assert validate_entity(doc) == ['"spec.remotes" is required']


def test_group_fields():
    doc = copy.deepcopy(MINIMAL["Group"][0])
    doc["spec"].update(
        parent="ops",
        members=["jdoe"],
        children=["team-b"],
        profile={"displayName": "Team A", "email": "a@example.com", "picture": "https://x/a.png"},
    )
    assert validate_entity(doc) == []
    doc["spec"].update(children=None, profile={"displayName": ""})
    assert validate_entity(doc) == [
        '"spec.children" must be a list',
        '"spec.profile.displayName" must be a non-empty string',
    ]


def test_user_member_of_is_optional_but_must_be_a_list():
    doc = copy.deepcopy(MINIMAL["User"][0])
    doc["spec"]["memberOf"] = ["team-a"]
    assert validate_entity(doc) == []
    doc["spec"]["memberOf"] = "team-a"
    doc["spec"]["profile"] = "Jenny"
    assert validate_entity(doc) == ['"spec.memberOf" must be a list', '"spec.profile" must be a mapping']


def test_location_fields():
    doc = copy.deepcopy(MINIMAL["Location"][0])
    doc["spec"].update(type="url", target="./a.yaml", targets=["./b.yaml"], presence="optional")
    assert validate_entity(doc) == []
    doc["spec"].update(targets=[""], presence="sometimes")
    assert validate_entity(doc) == [
        '"spec.targets.0" must be a non-empty string',
        '"spec.presence" must be one of "required", "optional" but found "sometimes"',
    ]


def test_template_fields():
    doc = copy.deepcopy(MINIMAL["Template"][0])
    doc["spec"].update(owner="team-a", parameters=[{"title": "Fill in"}], output={"links": []})
    assert validate_entity(doc) == []
    doc["spec"]["parameters"] = {"required": ["name"], "properties": {}}
    assert validate_entity(doc) == []
    doc["spec"].update(parameters="name", steps=[{"id": "fetch"}, "publish", {"action": 3}], output=[])
    assert validate_entity(doc) == [
        '"spec.steps.0.action" is required',
        '"spec.steps.1" must be a mapping',
        '"spec.steps.2.action" must be a string',
        '"spec.parameters" must be a mapping or a list of mappings',
        '"spec.output" must be a mapping',
    ]


@pytest.mark.parametrize(
    ("kind", "api_version"),
    [
        ("Component", "backstage.io/v2"),
        ("User", "example.com/v1"),
        ("Template", "backstage.io/v1alpha1"),
        ("Template", "scaffolder.backstage.io/v1beta2"),
    ],
)
def test_known_kind_with_unknown_api_version_is_an_error(kind, api_version):
    doc = copy.deepcopy(MINIMAL[kind][0])
    doc["apiVersion"] = api_version
    problems = validate_entity(doc)
    assert len(problems) == 1
    assert problems[0].startswith(f'"apiVersion" is not valid; kind "{kind}" expects one of ')
    assert problems[0].endswith(f'but found "{api_version}"')


def test_built_in_kinds_are_case_sensitive():
    doc = copy.deepcopy(MINIMAL["Component"][0])
    doc["kind"] = "component"
    assert validate_entity(doc) == ['"kind" is not valid; expected "Component" but found "component"']


@pytest.mark.parametrize(
    "doc",
    [
        entity("AiResource", {"type": "skill", "agents": ["claude-code"], "lifecycle": 3}),
        entity("AiResource", None),
        entity("Widget", {"anything": {"goes": [1, 2]}}, "example.com/v1"),
    ],
    ids=["AiResource", "AiResource-no-spec", "Widget"],
)
def test_unknown_kinds_pass_after_envelope_checks(doc):
    assert validate_entity(doc) == []


def test_unknown_kinds_still_get_metadata_and_envelope_checks():
    doc = entity("Widget", [], "example.com/v1")
    doc["metadata"]["name"] = "-x"
    doc["foo"] = 1
    assert validate_entity(doc) == [
        f'"metadata.name" is not valid; expected {NAME_EXPECTATION} but found "-x"',
        '"spec" must be a mapping',
        "Unknown field foo",
    ]
