"""Behaviour of catalog.relations: relations derived from spec fields, in both directions."""

from __future__ import annotations

import pytest

from catalog.refs import RefError, canonical_ref, entity_ref, parse_ref
from catalog.relations import INVERSE, spec_references

# Each built-in kind's spec fields, a value written without kind or namespace, and the
# (relation, target) pair Backstage's BuiltinKindsEntityProcessor derives from it.
FIELD_CASES = [
    ("Component", "owner", "team-a", ("ownedBy", "group:default/team-a")),
    ("Component", "system", "payments", ("partOf", "system:default/payments")),
    ("Component", "subcomponentOf", "checkout", ("partOf", "component:default/checkout")),
    ("Component", "providesApis", ["orders-api"], ("providesApi", "api:default/orders-api")),
    ("Component", "consumesApis", ["users-api"], ("consumesApi", "api:default/users-api")),
    ("Component", "dependsOn", ["resource:orders-db"], ("dependsOn", "resource:default/orders-db")),
    ("Component", "dependencyOf", ["component:web"], ("dependencyOf", "component:default/web")),
    ("API", "owner", "team-a", ("ownedBy", "group:default/team-a")),
    ("API", "system", "payments", ("partOf", "system:default/payments")),
    ("Resource", "owner", "team-a", ("ownedBy", "group:default/team-a")),
    ("Resource", "system", "payments", ("partOf", "system:default/payments")),
    ("Resource", "dependsOn", ["resource:disk"], ("dependsOn", "resource:default/disk")),
    ("Resource", "dependencyOf", ["component:web"], ("dependencyOf", "component:default/web")),
    ("System", "owner", "team-a", ("ownedBy", "group:default/team-a")),
    ("System", "domain", "commerce", ("partOf", "domain:default/commerce")),
    ("Domain", "owner", "team-a", ("ownedBy", "group:default/team-a")),
    ("Domain", "subdomainOf", "commerce", ("partOf", "domain:default/commerce")),
    ("Group", "parent", "engineering", ("childOf", "group:default/engineering")),
    ("Group", "children", ["team-b"], ("parentOf", "group:default/team-b")),
    ("Group", "members", ["alice"], ("hasMember", "user:default/alice")),
    ("User", "memberOf", ["team-a"], ("memberOf", "group:default/team-a")),
    ("Template", "owner", "team-a", ("ownedBy", "group:default/team-a")),
]


@pytest.mark.parametrize(("kind", "field", "value", "expected"), FIELD_CASES, ids=lambda c: str(c))
def test_spec_field_emits_its_relation_with_the_default_kind(kind, field, value, expected):
    pairs, problems = spec_references(kind, "default", {field: value})

    assert problems == []
    assert pairs == [expected]


@pytest.mark.parametrize(("kind", "field", "value", "expected"), FIELD_CASES, ids=lambda c: str(c))
def test_kind_name_is_matched_case_insensitively(kind, field, value, expected):
    pairs, _ = spec_references(kind.lower(), "default", {field: value})

    assert pairs == [expected]


def test_component_with_every_field_emits_all_relations_in_field_order():
    spec = {
        "type": "service",
        "lifecycle": "production",
        "owner": "team-a",
        "system": "payments",
        "subcomponentOf": "checkout",
        "providesApis": ["orders-api", "refunds-api"],
        "consumesApis": ["users-api"],
        "dependsOn": ["resource:orders-db", "component:auth"],
        "dependencyOf": ["component:web"],
    }

    pairs, problems = spec_references("Component", "default", spec)

    assert problems == []
    assert pairs == [
        ("ownedBy", "group:default/team-a"),
        ("partOf", "system:default/payments"),
        ("partOf", "component:default/checkout"),
        ("providesApi", "api:default/orders-api"),
        ("providesApi", "api:default/refunds-api"),
        ("consumesApi", "api:default/users-api"),
        ("dependsOn", "resource:default/orders-db"),
        ("dependsOn", "component:default/auth"),
        ("dependencyOf", "component:default/web"),
    ]


def test_fields_that_do_not_name_entities_emit_nothing():
    pairs, problems = spec_references("Component", "default", {"type": "service", "lifecycle": "production"})

    assert (pairs, problems) == ([], [])


def test_unknown_and_location_kinds_emit_nothing():
    assert spec_references("Location", "default", {"target": "./a.yaml", "owner": "x"}) == ([], [])
    assert spec_references("Widget", "default", {"owner": "team-a", "system": "s"}) == ([], [])


def test_fields_of_another_kind_are_ignored():
    # `members` is a Group field; on a User it names nothing.
    assert spec_references("User", "default", {"members": ["alice"]}) == ([], [])
    assert spec_references("API", "default", {"dependsOn": ["component:x"]}) == ([], [])


def test_null_field_is_skipped():
    assert spec_references("Component", "default", {"owner": None, "system": "s"}) == (
        [("partOf", "system:default/s")],
        [],
    )


# --- namespaces and canonical form ----------------------------------------------------------------


def test_reference_without_namespace_inherits_the_entitys_namespace():
    pairs, _ = spec_references("Component", "ml", {"owner": "team-a", "providesApis": ["infer"]})

    assert pairs == [("ownedBy", "group:ml/team-a"), ("providesApi", "api:ml/infer")]


def test_reference_with_a_namespace_keeps_it():
    pairs, _ = spec_references("Component", "ml", {"owner": "default/team-a", "system": "platform/core"})

    assert pairs == [("ownedBy", "group:default/team-a"), ("partOf", "system:platform/core")]


def test_reference_with_its_own_kind_keeps_it():
    pairs, _ = spec_references("Component", "default", {"owner": "user:alice"})

    assert pairs == [("ownedBy", "user:default/alice")]


def test_references_are_lower_cased_canonical():
    pairs, _ = spec_references("Component", "ML", {"owner": "Group:Platform/Team-A", "system": "Payments"})

    assert pairs == [("ownedBy", "group:platform/team-a"), ("partOf", "system:ml/payments")]


# --- problems -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["Component", "Resource"])
@pytest.mark.parametrize("field", ["dependsOn", "dependencyOf"])
def test_dependency_without_a_kind_is_a_problem(kind, field):
    pairs, problems = spec_references(kind, "default", {field: ["resource:db", "orders-db"]})

    assert pairs == [(field, "resource:default/db")]
    assert len(problems) == 1
    assert problems[0].startswith(f'"spec.{field}.1" is not a valid entity reference')
    assert "orders-db" in problems[0]
    assert "kind" in problems[0]


@pytest.mark.parametrize("value", ["", "group:", "default/", ":x", 42], ids=repr)
def test_malformed_single_reference_is_a_problem_naming_the_field(value):
    pairs, problems = spec_references("Component", "default", {"owner": value})

    assert pairs == []
    assert len(problems) == 1
    assert problems[0].startswith('"spec.owner" is not a valid entity reference')


def test_malformed_list_item_is_a_problem_naming_its_index_and_others_still_count():
    pairs, problems = spec_references("User", "default", {"memberOf": ["team-a", None, "team-b"]})

    assert pairs == [("memberOf", "group:default/team-a"), ("memberOf", "group:default/team-b")]
    assert len(problems) == 1
    assert problems[0].startswith('"spec.memberOf.1" is not a valid entity reference')


# --- both directions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("forward", "inverse"),
    [
        ("ownedBy", "ownerOf"),
        ("partOf", "hasPart"),
        ("providesApi", "apiProvidedBy"),
        ("consumesApi", "apiConsumedBy"),
        ("dependsOn", "dependencyOf"),
        ("childOf", "parentOf"),
        ("memberOf", "hasMember"),
    ],
)
def test_inverse_pairs_both_ways(forward, inverse):
    assert INVERSE[forward] == inverse
    assert INVERSE[inverse] == forward


def test_inverse_covers_every_relation_a_spec_field_can_emit():
    for kind, field, value, _ in FIELD_CASES:
        pairs, _ = spec_references(kind, "default", {field: value})
        for relation, _target in pairs:
            assert relation in INVERSE


@pytest.mark.parametrize(
    ("kind", "spec", "forward", "backward"),
    [
        ("Component", {"owner": "team-a"}, "ownedBy", "ownerOf"),
        ("Component", {"system": "pay"}, "partOf", "hasPart"),
        ("Component", {"providesApis": ["a"]}, "providesApi", "apiProvidedBy"),
        ("Component", {"consumesApis": ["a"]}, "consumesApi", "apiConsumedBy"),
        ("Component", {"dependsOn": ["resource:a"]}, "dependsOn", "dependencyOf"),
        ("Component", {"dependencyOf": ["component:a"]}, "dependencyOf", "dependsOn"),
        ("Group", {"parent": "a"}, "childOf", "parentOf"),
        ("Group", {"children": ["a"]}, "parentOf", "childOf"),
        ("Group", {"members": ["a"]}, "hasMember", "memberOf"),
        ("User", {"memberOf": ["a"]}, "memberOf", "hasMember"),
    ],
)
def test_each_declared_relation_has_its_inverse(kind, spec, forward, backward):
    pairs, _ = spec_references(kind, "default", spec)

    assert [relation for relation, _target in pairs] == [forward]
    assert (INVERSE[forward], INVERSE[backward]) == (backward, forward)


def test_component_owner_and_system_read_like_backstage():
    pairs, _ = spec_references("Component", "default", {"owner": "team-a", "system": "payments"})

    assert pairs == [("ownedBy", "group:default/team-a"), ("partOf", "system:default/payments")]
    assert [INVERSE[relation] for relation, _target in pairs] == ["ownerOf", "hasPart"]


# --- refs used by the relations -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("team-a", "group:default/team-a"),
        ("ml/team-a", "group:ml/team-a"),
        ("user:alice", "user:default/alice"),
        ("User:Ops/Alice", "user:ops/alice"),
        ("default/a:b", "group:default/a:b"),
    ],
)
def test_canonical_ref(text, expected):
    assert canonical_ref(text, default_kind="group") == expected


def test_parse_ref_keeps_parts_as_written():
    name = parse_ref("Group:Ops/Team-A")

    assert (name.kind, name.namespace, name.name) == ("Group", "Ops", "Team-A")
    assert name.ref == "group:ops/team-a"


def test_parse_ref_without_kind_or_default_kind_is_an_error():
    with pytest.raises(RefError, match="missing or empty kind"):
        parse_ref("team-a")


def test_entity_ref_defaults_the_namespace():
    assert entity_ref("Component", None, "Svc") == "component:default/svc"
    assert entity_ref("Component", "ML", "Svc") == "component:ml/svc"
