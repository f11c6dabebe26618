"""The committed SDL (service/schema.graphql) is current, and the schema keeps its public contract."""

from __future__ import annotations

import warnings
from typing import Any

import graphql
import pytest

from service.graphql.schema import build_schema
from tests.conftest import REPO

SDL_PATH = REPO / "service" / "schema.graphql"


def committed_sdl() -> str:
    with open(SDL_PATH, encoding="utf-8", newline="") as handle:  # newline="": see the file's own line endings
        return handle.read()


def test_committed_sdl_matches_the_schema() -> None:
    # `make schema` runs `stairway schema > service/schema.graphql`, which prints as_str() and a newline.
    expected = build_schema().as_str() + "\n"
    assert committed_sdl() == expected, (
        "service/schema.graphql does not match the schema the code builds; run `make schema` and commit the result"
    )


def test_committed_sdl_is_what_the_schema_command_prints(capsys: pytest.CaptureFixture[str]) -> None:
    from service.cli import main

    assert main(["schema"]) == 0
    assert capsys.readouterr().out == committed_sdl(), "service/schema.graphql is stale; run `make schema`"


def test_building_the_schema_warns_nothing() -> None:
    # e.g. strawberry deprecates extension instances (shared between requests) in favour of factories
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_schema()
    assert [f"{w.category.__name__}: {w.message}" for w in caught] == []


# --- the contract, read through introspection of both the committed SDL and the live schema ----------------


def _sdl_type(ref: dict[str, Any]) -> str:
    """An introspected type reference in SDL notation, e.g. `[String!]!`."""
    if ref["kind"] == "NON_NULL":
        return _sdl_type(ref["ofType"]) + "!"
    if ref["kind"] == "LIST":
        return "[" + _sdl_type(ref["ofType"]) + "]"
    return str(ref["name"])


def _types(schema: graphql.GraphQLSchema) -> dict[str, dict[str, Any]]:
    introspection: dict[str, Any] = dict(graphql.introspection_from_schema(schema))
    return {t["name"]: t for t in introspection["__schema"]["types"]}


Arguments = dict[str, tuple[str, Any]]


def _fields(schema_types: dict[str, dict[str, Any]], type_name: str) -> dict[str, tuple[str, Arguments]]:
    """Field name -> (type, {argument: (type, default)}) of an object type, or input fields of an input type."""
    entry = schema_types[type_name]
    if entry["kind"] == "INPUT_OBJECT":
        return {f["name"]: (_sdl_type(f["type"]), {}) for f in entry["inputFields"]}
    return {
        f["name"]: (_sdl_type(f["type"]), {a["name"]: (_sdl_type(a["type"]), a["defaultValue"]) for a in f["args"]})
        for f in entry["fields"]
    }


@pytest.fixture(params=["committed SDL", "live schema"])
def schema_types(request: pytest.FixtureRequest) -> dict[str, dict[str, Any]]:
    if request.param == "committed SDL":
        return _types(graphql.build_schema(committed_sdl()))
    return _types(build_schema()._schema)


def test_query_fields_keep_their_contract(schema_types: dict[str, dict[str, Any]]) -> None:
    query = _fields(schema_types, "Query")
    assert query["entity"] == ("Entity", {"ref": ("String!", None)})

    entities_type, entities_args = query["entities"]
    assert entities_type == "EntityConnection!"
    assert {name: arg_type for name, (arg_type, _) in entities_args.items()} == {
        "filter": "EntityFilter",
        "first": "Int",
        "after": "String",
    }
    assert entities_args["first"][1] == "50"
    assert entities_args["after"][1] in (None, "null")

    errors_type, errors_args = query["processingErrors"]
    assert errors_type == "ProcessingErrorConnection!"
    assert errors_args["first"] == ("Int", "50")
    assert errors_args["after"][0] == "String"


ENTITY_CONTRACT = {
    "id": "ID!",
    "ref": "String!",
    "kind": "String!",
    "namespace": "String!",
    "name": "String!",
    "title": "String",
    "description": "String",
    "tags": "[String!]!",
    "labels": "[KeyValue!]!",
    "annotations": "[KeyValue!]!",
    "links": "[Link!]!",
    "type": "String",
    "lifecycle": "String",
    "owner": "Entity",
    "system": "Entity",
    "relations": "[Relation!]!",
    "spec": "JSON",
    "sourceLocation": "String",
    "firstSeenAt": "DateTime!",
    "updatedAt": "DateTime!",
}


def test_entity_fields_keep_their_contract(schema_types: dict[str, dict[str, Any]]) -> None:
    entity = _fields(schema_types, "Entity")
    missing = sorted(set(ENTITY_CONTRACT) - set(entity))
    assert not missing, f"Entity lost fields: {missing}"
    assert {name: entity[name][0] for name in ENTITY_CONTRACT} == ENTITY_CONTRACT
    relations_args = entity["relations"][1]
    assert {name: arg_type for name, (arg_type, _) in relations_args.items()} == {"type": "String"}


def test_connection_and_filter_types_keep_their_contract(schema_types: dict[str, dict[str, Any]]) -> None:
    connection = _fields(schema_types, "EntityConnection")
    assert {name: t for name, (t, _) in connection.items()} == {
        "edges": "[EntityEdge!]!",
        "pageInfo": "PageInfo!",
        "totalCount": "Int!",
    }
    assert {name: t for name, (t, _) in _fields(schema_types, "EntityEdge").items()} == {
        "cursor": "String!",
        "node": "Entity!",
    }
    assert {name: t for name, (t, _) in _fields(schema_types, "PageInfo").items()} == {
        "hasNextPage": "Boolean!",
        "endCursor": "String",
    }
    assert {name: t for name, (t, _) in _fields(schema_types, "EntityFilter").items()} == {
        "kind": "[String!]",
        "namespace": "String",
        "type": "[String!]",
        "lifecycle": "[String!]",
        "owner": "String",
        "system": "String",
        "domain": "String",
        "tag": "String",
        "search": "String",
    }
    relation = _fields(schema_types, "Relation")
    assert {name: relation[name][0] for name in ("type", "targetRef", "target")} == {
        "type": "String!",
        "targetRef": "String!",
        "target": "Entity",
    }
    error = _fields(schema_types, "ProcessingError")
    assert {name: error[name][0] for name in ("location", "line", "severity", "message")} == {
        "location": "String!",
        "line": "Int",
        "severity": "String!",
        "message": "String!",
    }


def test_adoption_fields_keep_the_names_portals_use(schema_types: dict[str, dict[str, Any]]) -> None:
    query = _fields(schema_types, "Query")
    assert query["goldenPaths"][0] == "[GoldenPath!]!"
    adoption_type, adoption_args = query["adoption"]
    assert adoption_type == "AdoptionReport!"
    assert {name: arg_type for name, (arg_type, _) in adoption_args.items()} == {
        "filter": "EntityFilter",
        "since": "DateTime",
        "until": "DateTime",
        "groupBy": "AdoptionGroup",
    }
    maturity_type, maturity_args = query["organizationMaturity"]
    assert (maturity_type, list(maturity_args)) == ("OrganizationMaturity!", ["filter"])
    assert maturity_args["filter"][0] == "EntityFilter"
    path = _fields(schema_types, "GoldenPath")
    assert {name: path[name][0] for name in ("template", "adopters", "crossTeamAdopters")} == {
        "template": "Entity!",
        "adopters": "Int!",
        "crossTeamAdopters": "Int!",
    }
    assert {name: path[name][0] for name in ("current", "behind", "unknownVersion")} == dict.fromkeys(
        ("current", "behind", "unknownVersion"), "Int!"
    )
    report = _fields(schema_types, "AdoptionReport")
    assert {name: report[name][0] for name in ("total", "onGoldenPath", "percentage", "groups", "trend")} == {
        "total": "Int!",
        "onGoldenPath": "Int!",
        "percentage": "Float",
        "groups": "[AdoptionBucket!]!",
        "trend": "[AdoptionPoint!]!",
    }
    assert report["trend"][1] == {"days": ("Int!", "90")}
    bucket = _fields(schema_types, "AdoptionBucket")
    assert {name: t for name, (t, _) in bucket.items()} == {
        "key": "String!",
        "entity": "Entity",
        "total": "Int!",
        "onGoldenPath": "Int!",
        "percentage": "Float",
        "trend": "[AdoptionPoint!]!",
    }
    groups = {value["name"] for value in schema_types["AdoptionGroup"]["enumValues"]}
    assert groups == {"OWNER", "SYSTEM", "DOMAIN", "TEMPLATE", "TEMPLATE_VERSION"}
    maturity = _fields(schema_types, "OrganizationMaturity")
    assert {name: t for name, (t, _) in maturity.items()} == {
        "level": "Level!",
        "criteria": "[MaturityCriterion!]!",
        "unlock": "[MaturityCriterion!]!",
        "lopsidedShare": "Float",
        "paperMaturity": "PaperMaturityShare",
    }
    paper = _fields(schema_types, "PaperMaturityShare")
    assert {name: t for name, (t, _) in paper.items()} == {
        "claimed": "Int!",
        "onPaper": "Int!",
        "share": "Float",
        "windowDays": "Int!",
    }
    assert _fields(schema_types, "ScorecardResult")["paperMaturity"][0] == "PaperMaturity"
    flag = _fields(schema_types, "PaperMaturity")
    assert {name: t for name, (t, _) in flag.items()} == {
        "band": "DoraBand!",
        "windowDays": "Int!",
        "reason": "String!",
    }
