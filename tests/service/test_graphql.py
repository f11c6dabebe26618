"""The GraphQL API over HTTP, as a portal sees it: entities, filters, pages, errors, health and guards."""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine

from catalog.database import create_engine
from catalog.ingest import ingest
from catalog.relations import INVERSE  # its pairs are checked one by one in tests/catalog/test_relations.py
from service.app import create_app
from service.settings import Settings
from tests.conftest import EXAMPLES, StatementCounter
from tests.service.conftest import TestClient, app_state, data, gql, only_error, open_config, write

ENTITY = """
query Entity($ref: String!) {
  entity(ref: $ref) {
    id ref kind apiVersion namespace name title description tags
    labels { key value }
    annotations { key value }
    links { url title icon type }
    type lifecycle ownerRef
    owner { ref kind name }
    system { ref kind }
    ownedBy: relations(type: "ownedBy") { type targetRef target { ref } }
    relations { type targetRef target { ref kind } }
    spec sourceLocation sourceLine firstSeenAt updatedAt
  }
}
"""

ENTITY_PAGE = """
query Page($filter: EntityFilter, $first: Int, $after: String) {
  entities(filter: $filter, first: $first, after: $after) {
    totalCount
    edges { cursor node { ref } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

ERROR_PAGE = """
query Errors($first: Int, $after: String, $severity: String) {
  processingErrors(first: $first, after: $after, severity: $severity) {
    totalCount
    edges { cursor node { location line entityRef severity code message source createdAt } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def entity(client: TestClient, ref: str) -> dict[str, Any] | None:
    result: dict[str, Any] | None = data(client, ENTITY, ref=ref)["entity"]
    return result


def refs_of(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["ref"] for edge in connection["edges"]]


def location_of(relative: str) -> str:
    """The location string ingest records for a file of the examples (ingested as str(EXAMPLES))."""
    return "file:" + os.path.abspath(os.path.join(str(EXAMPLES), relative))


def aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() is not None, f"{text} has no time zone"
    return moment


# --- entity(ref:) ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref",
    [
        "component:default/clickstream-etl",
        "Component:clickstream-etl",
        "component:clickstream-etl",
        "COMPONENT:Default/Clickstream-ETL",
    ],
)
def test_entity_by_ref_in_any_case_with_or_without_namespace(client: TestClient, ref: str) -> None:
    found = entity(client, ref)
    assert found is not None
    assert (found["ref"], found["kind"], found["name"]) == (
        "component:default/clickstream-etl",
        "Component",
        "clickstream-etl",
    )


@pytest.mark.parametrize(
    "ref",
    [
        "component:no-such-thing",
        "group:clickstream-etl",  # right name, wrong kind
        "component:elsewhere/clickstream-etl",  # right name, wrong namespace
    ],
)
def test_missing_entity_is_null_without_errors(client: TestClient, ref: str) -> None:
    assert gql(client, ENTITY, ref=ref) == {"data": {"entity": None}}


@pytest.mark.parametrize(
    "ref",
    [
        "clickstream-etl",  # no kind
        "default/clickstream-etl",  # namespace, still no kind
        "component:",
        ":clickstream-etl",
        "component:default/",
        "/clickstream-etl",
        "",
    ],
)
def test_entity_ref_without_kind_or_malformed_is_bad_user_input(client: TestClient, ref: str) -> None:
    body = gql(client, ENTITY, ref=ref)
    assert body["data"] == {"entity": None}
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == "ref"
    assert error["path"] == ["entity"]
    assert ref in error["message"]


# --- entity fields -----------------------------------------------------------------------------------------


def test_component_fields_as_a_portal_shows_them(client: TestClient) -> None:
    found = entity(client, "Component:recommendation-api")
    assert found is not None
    written = yaml.safe_load((EXAMPLES / "components/recommendation-api/catalog-info.yaml").read_text("utf-8"))
    location = location_of("components/recommendation-api/catalog-info.yaml")

    assert found["id"]
    assert found["ref"] == "component:default/recommendation-api"
    assert (found["kind"], found["apiVersion"]) == ("Component", "backstage.io/v1alpha1")
    assert (found["namespace"], found["name"]) == ("default", "recommendation-api")
    assert found["title"] == "Recommendation API"
    assert found["description"] == written["metadata"]["description"]
    assert found["tags"] == ["python", "fastapi", "ai"]
    assert found["labels"] == []
    annotations = {pair["key"]: pair["value"] for pair in found["annotations"]}
    assert annotations == {
        **written["metadata"]["annotations"],
        "backstage.io/managed-by-location": location,
        "backstage.io/managed-by-origin-location": "file:" + os.path.abspath(str(EXAMPLES)),
    }
    assert annotations["backstage.io/managed-by-location"].startswith("file:")
    assert found["links"] == [
        {
            "url": "https://grafana.northwind.example.com/d/recommendation-api",
            "title": "Service dashboard",
            "icon": "dashboard",
            "type": None,
        },
        {
            "url": "https://runbooks.northwind.example.com/recommendation-api",
            "title": "Runbook",
            "icon": "docs",
            "type": None,
        },
    ]
    assert (found["type"], found["lifecycle"]) == ("service", "production")
    assert found["ownerRef"] == "group:default/recommendations"
    assert found["owner"] == {"ref": "group:default/recommendations", "kind": "Group", "name": "recommendations"}
    assert found["system"] == {"ref": "system:default/recommendation-engine", "kind": "System"}
    assert found["ownedBy"] == [
        {
            "type": "ownedBy",
            "targetRef": "group:default/recommendations",
            "target": {"ref": "group:default/recommendations"},
        },
    ]
    assert found["spec"] == written["spec"]
    assert found["sourceLocation"] == location
    assert found["sourceLine"] == 1
    assert aware(found["firstSeenAt"]) == aware(found["updatedAt"])


def test_component_relations_go_both_ways(client: TestClient) -> None:
    found = entity(client, "component:ranking-model")
    assert found is not None
    relations = {(r["type"], r["targetRef"]): r["target"] for r in found["relations"]}
    assert relations == {
        ("ownedBy", "group:default/recommendations"): {"ref": "group:default/recommendations", "kind": "Group"},
        ("partOf", "system:default/recommendation-engine"): {
            "ref": "system:default/recommendation-engine",
            "kind": "System",
        },
        ("dependsOn", "resource:default/feature-store"): {"ref": "resource:default/feature-store", "kind": "Resource"},
        ("dependsOn", "resource:default/model-registry"): {
            "ref": "resource:default/model-registry",
            "kind": "Resource",
        },
        ("dependsOn", "component:default/ml-feature-sdk"): {
            "ref": "component:default/ml-feature-sdk",
            "kind": "Component",
        },
        # declared by recommendation-api, seen from here
        ("dependencyOf", "component:default/recommendation-api"): {
            "ref": "component:default/recommendation-api",
            "kind": "Component",
        },
    }
    assert len(found["relations"]) == len(relations), "a relation is listed twice"


def test_component_provides_api_and_the_api_knows_its_provider(client: TestClient) -> None:
    component = entity(client, "component:fraud-scoring-service")
    api = entity(client, "api:fraud-scoring-api")
    assert component is not None and api is not None
    assert {(r["type"], r["targetRef"]) for r in component["relations"]} >= {
        ("providesApi", "api:default/fraud-scoring-api"),
        ("consumesApi", "api:default/transaction-events"),
        ("consumesApi", "api:default/model-inference-api"),
        ("dependsOn", "component:default/fraud-detection-model"),
    }
    assert ("apiProvidedBy", "component:default/fraud-scoring-service") in {
        (r["type"], r["targetRef"]) for r in api["relations"]
    }


def test_group_relations_list_what_it_owns_and_who_belongs(client: TestClient) -> None:
    group = entity(client, "group:platform-team")
    assert group is not None
    assert group["kind"] == "Group"
    assert group["owner"] is None and group["system"] is None
    assert sorted((r["type"], r["targetRef"]) for r in group["relations"]) == [
        ("childOf", "group:default/engineering"),
        ("hasMember", "user:default/ada.okafor"),
        ("hasMember", "user:default/ben.hartley"),
        ("ownerOf", "api:default/model-inference-api"),
        ("ownerOf", "component:default/ml-feature-sdk"),
        ("ownerOf", "component:default/model-monitoring-service"),
        ("ownerOf", "component:default/model-serving-gateway"),
        ("ownerOf", "domain:default/platform"),
        ("ownerOf", "resource:default/model-artifacts-bucket"),
        ("ownerOf", "resource:default/model-registry"),
        ("ownerOf", "system:default/ml-platform"),
        ("ownerOf", "template:default/ml-model-service"),
        ("ownerOf", "template:default/python-fastapi-service"),
    ]
    assert all(r["target"] == {"ref": r["targetRef"], "kind": r["target"]["kind"]} for r in group["relations"])
    assert group["ownedBy"] == []


def test_every_resolved_relation_has_its_inverse(client: TestClient) -> None:
    page = data(client, "{ entities(first: 500) { edges { node { ref relations { type targetRef } } } } }")
    relations = {
        (edge["node"]["ref"], r["type"], r["targetRef"])
        for edge in page["entities"]["edges"]
        for r in edge["node"]["relations"]
    }
    present = {edge["node"]["ref"] for edge in page["entities"]["edges"]}
    missing = [(s, t, o) for s, t, o in relations if o in present and (o, INVERSE[t], s) not in relations]
    assert not missing
    assert len(relations) > 100  # the examples are richly connected; an empty list would prove nothing


def test_unresolved_relation_has_a_null_target(client: TestClient) -> None:
    found = entity(client, "component:clickstream-etl")
    assert found is not None
    targets = {(r["type"], r["targetRef"]): r["target"] for r in found["relations"]}
    assert targets[("dependsOn", "resource:default/legacy-clickstream-db")] is None
    assert targets[("ownedBy", "group:default/data-engineering")] == {
        "ref": "group:default/data-engineering",
        "kind": "Group",
    }
    assert [ref for (_, ref), target in targets.items() if target is None] == ["resource:default/legacy-clickstream-db"]


def test_spec_is_the_spec_as_ingested_with_substitutions(client: TestClient) -> None:
    found = entity(client, "api:petstore-api")
    assert found is not None
    definition = (EXAMPLES / "apis/petstore-openapi.json").read_text("utf-8")
    assert found["spec"]["definition"] == definition
    assert {key: found["spec"][key] for key in ("type", "lifecycle", "owner", "system")} == {
        "type": "openapi",
        "lifecycle": "production",
        "owner": "group:web-experience",
        "system": "storefront",
    }


MINI = {
    "org.yaml": """\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: payments-team
  namespace: payments
spec:
  type: team
  children: []
""",
    "checkout.yaml": """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout
  namespace: payments
  description: Takes the money.
  labels:
    tier: critical
    cost-centre: cc-42
spec:
  type: service
  lifecycle: production
  owner: payments-team
  dependsOn:
    - component:ledger
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ledger
  namespace: payments
spec:
  type: service
  lifecycle: production
  owner: payments-team
""",
}


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    folder = tmp_path / "mini"
    for name, text in MINI.items():
        write(folder / name, text)
    return folder


def test_labels_namespace_and_relative_refs_in_another_namespace(
    engine: Engine, mini: Path, app_client: TestClient
) -> None:
    ingest(engine, [str(mini)], workers=0)
    found = entity(app_client, "component:payments/checkout")
    assert found is not None
    assert found["namespace"] == "payments"
    assert found["labels"] == [{"key": "cost-centre", "value": "cc-42"}, {"key": "tier", "value": "critical"}]
    assert found["title"] is None
    assert found["sourceLine"] == 1
    assert found["owner"] == {"ref": "group:payments/payments-team", "kind": "Group", "name": "payments-team"}
    # refs in the spec without a namespace mean the entity's own namespace
    assert ("dependsOn", "component:payments/ledger", "component:payments/ledger") in {
        (r["type"], r["targetRef"], (r["target"] or {}).get("ref")) for r in found["relations"]
    }
    ledger = entity(app_client, "Component:Payments/Ledger")
    assert ledger is not None
    assert ledger["sourceLine"] == MINI["checkout.yaml"].splitlines().index("---") + 2  # the line after ---
    assert entity(app_client, "component:checkout") is None  # the namespace defaults to "default"


def test_timestamps_and_id_across_reingests(engine: Engine, mini: Path, app_client: TestClient) -> None:
    query = "query($ref: String!) { entity(ref: $ref) { id description firstSeenAt updatedAt } }"
    ingest(engine, [str(mini)], workers=0)
    checkout = data(app_client, query, ref="component:payments/checkout")["entity"]
    group = data(app_client, query, ref="group:payments/payments-team")["entity"]
    assert aware(checkout["firstSeenAt"]) == aware(checkout["updatedAt"])

    checkout_file = mini / "checkout.yaml"
    checkout_file.write_text(checkout_file.read_text("utf-8").replace("Takes the money.", "Takes more money."), "utf-8")
    summary = ingest(engine, [str(mini)], workers=0)
    assert (summary.added, summary.updated) == (0, 1), summary.line()  # ledger, in the same file, is unchanged

    changed = data(app_client, query, ref="component:payments/checkout")["entity"]
    assert changed["description"] == "Takes more money."
    assert changed["id"] == checkout["id"]
    assert changed["firstSeenAt"] == checkout["firstSeenAt"]
    assert aware(changed["updatedAt"]) != aware(checkout["updatedAt"])
    assert aware(changed["updatedAt"]) - aware(changed["firstSeenAt"]) > timedelta(0)
    assert data(app_client, query, ref="group:payments/payments-team")["entity"] == group  # its file did not change


# --- entities(filter:, first:, after:) ---------------------------------------------------------------------

PLATFORM_TEAM_OWNS = [
    "api:default/model-inference-api",
    "component:default/ml-feature-sdk",
    "component:default/model-monitoring-service",
    "component:default/model-serving-gateway",
    "domain:default/platform",
    "resource:default/model-artifacts-bucket",
    "resource:default/model-registry",
    "system:default/ml-platform",
    "template:default/ml-model-service",
    "template:default/python-fastapi-service",
]
DATA_PLATFORM = [
    "api:default/transaction-events",
    "component:default/clickstream-etl",
    "component:default/feature-pipeline",
    "resource:default/feature-store",
    "resource:default/feature-store-db",
    "resource:default/transaction-events-topic",
]

FILTERS = [
    (
        {"kind": ["API"]},
        [
            "api:default/fraud-scoring-api",
            "api:default/model-inference-api",
            "api:default/petstore-api",
            "api:default/recommendations-api",
            "api:default/transaction-events",
        ],
    ),
    (
        {"kind": ["domain", "LOCATION"]},
        [
            "domain:default/personalization",
            "domain:default/platform",
            "domain:default/risk",
            "location:default/northwind-catalog",
        ],
    ),
    ({"namespace": "payments"}, []),
    (
        {"type": ["SERVICE"]},
        [
            "component:default/fraud-scoring-service",
            "component:default/model-monitoring-service",
            "component:default/model-serving-gateway",
            "component:default/product-catalog-service",
            "component:default/recommendation-api",
            "template:default/python-fastapi-service",
        ],
    ),
    (
        {"type": ["website", "Model"], "kind": ["component"]},
        [
            "component:default/churn-prediction-model",
            "component:default/experiment-tracker-ui",
            "component:default/fraud-detection-model",
            "component:default/ranking-model",
            "component:default/storefront-web",
        ],
    ),
    (
        {"lifecycle": ["Experimental"]},
        [
            "component:default/churn-prediction-model",
            "component:default/experiment-tracker-ui",
            "component:default/model-monitoring-service",
        ],
    ),
    ({"owner": "platform-team"}, PLATFORM_TEAM_OWNS),
    ({"owner": "group:platform-team"}, PLATFORM_TEAM_OWNS),
    ({"owner": "Group:Default/Platform-Team"}, PLATFORM_TEAM_OWNS),
    ({"owner": "user:platform-team"}, []),
    ({"system": "data-platform"}, DATA_PLATFORM),
    ({"system": "System:Data-Platform"}, DATA_PLATFORM),
    (
        {"tag": "SPARK"},
        [
            "component:default/clickstream-etl",
            "component:default/feature-pipeline",
            "template:default/batch-data-pipeline",
        ],
    ),
    ({"search": "OKAFOR"}, ["user:default/ada.okafor"]),  # name only
    ({"search": "tracker UI"}, ["component:default/experiment-tracker-ui"]),  # title only
    ({"search": "TWO-TOWER"}, ["component:default/ranking-model"]),  # description only
    ({"search": "kserve"}, ["component:default/model-serving-gateway", "template:default/ml-model-service"]),
    ({"search": "ml_"}, []),  # _ and % are not wildcards
    ({"search": "%"}, []),
    (
        {"kind": ["Component"], "owner": "platform-team", "lifecycle": ["production"]},
        ["component:default/ml-feature-sdk", "component:default/model-serving-gateway"],
    ),
]


@pytest.mark.parametrize(("entity_filter", "expected"), FILTERS, ids=[repr(f) for f, _ in FILTERS])
def test_entities_filter(client: TestClient, entity_filter: dict[str, Any], expected: list[str]) -> None:
    page = data(client, ENTITY_PAGE, filter=entity_filter, first=100)["entities"]
    assert refs_of(page) == expected
    assert page["totalCount"] == len(expected)
    assert page["pageInfo"]["hasNextPage"] is False


def test_namespace_filter_is_case_insensitive(engine: Engine, mini: Path, client: TestClient) -> None:
    ingest(engine, [str(mini)], source="mini", workers=0)
    page = data(client, ENTITY_PAGE, filter={"namespace": "PAYMENTS"})["entities"]
    assert refs_of(page) == ["component:payments/checkout", "component:payments/ledger", "group:payments/payments-team"]
    everything = data(client, ENTITY_PAGE)["entities"]["totalCount"]
    assert data(client, ENTITY_PAGE, filter={"namespace": "default"})["entities"]["totalCount"] == everything - 3


def test_owner_filter_with_a_malformed_ref_is_bad_user_input(client: TestClient) -> None:
    error = only_error(client, ENTITY_PAGE, filter={"owner": "group:"})
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "filter.owner"}


def walk(client: TestClient, first: int, entity_filter: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """Every page of `entities`, following endCursor."""
    after = None
    for _ in range(1000):
        page = data(client, ENTITY_PAGE, filter=entity_filter, first=first, after=after)["entities"]
        yield page
        if not page["pageInfo"]["hasNextPage"]:
            return
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("pagination did not end")


def test_walking_all_pages_returns_every_entity_once_in_ref_order(engine: Engine, client: TestClient) -> None:
    with engine.connect() as connection:
        stored = set(connection.execute(sa.text("SELECT ref FROM entities")).scalars())
    everything = data(client, ENTITY_PAGE, first=500)["entities"]
    assert everything["pageInfo"] == {"hasNextPage": False, "endCursor": everything["edges"][-1]["cursor"]}
    total = everything["totalCount"]
    assert total == len(everything["edges"]) > 50  # more than the default page

    pages = list(walk(client, first=7))
    walked = [ref for page in pages for ref in refs_of(page)]
    assert walked == refs_of(everything)
    assert walked == sorted(stored)  # each once, in ref order
    assert [len(page["edges"]) for page in pages] == [7] * (total // 7) + ([total % 7] if total % 7 else [])
    assert all(page["totalCount"] == total for page in pages)
    assert all(page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"] for page in pages)


def test_default_page_size_is_50(client: TestClient) -> None:
    page = data(client, "{ entities { edges { node { ref } } pageInfo { hasNextPage } } }")["entities"]
    assert len(page["edges"]) == 50
    assert page["pageInfo"]["hasNextPage"] is True


def test_walking_a_filtered_list(client: TestClient) -> None:
    walked = [ref for page in walk(client, first=4, entity_filter={"kind": ["component"]}) for ref in refs_of(page)]
    assert len(walked) == 13
    assert walked == sorted(set(walked))
    assert all(ref.startswith("component:") for ref in walked)


def test_a_page_after_the_last_is_empty(client: TestClient) -> None:
    last = data(client, ENTITY_PAGE, first=500)["entities"]["pageInfo"]["endCursor"]
    page = data(client, ENTITY_PAGE, after=last)["entities"]
    assert page["edges"] == []
    assert page["pageInfo"] == {"hasNextPage": False, "endCursor": None}


def test_entities_added_while_walking_do_not_repeat_or_shift_pages(
    engine: Engine, client: TestClient, tmp_path: Path
) -> None:
    before = refs_of(data(client, ENTITY_PAGE, first=500)["entities"])
    first_page = data(client, ENTITY_PAGE, first=10)["entities"]
    write(
        tmp_path / "early" / "a.yaml",
        """\
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: aaa-first-of-all
spec:
  type: openapi
  lifecycle: production
  owner: platform-team
  definition: "openapi: 3.0.0"
""",
    )
    ingest(engine, [str(tmp_path / "early")], source="early", workers=0)  # sorts before the cursor
    after = first_page["pageInfo"]["endCursor"]
    rest = []
    for _ in range(100):
        page = data(client, ENTITY_PAGE, first=10, after=after)["entities"]
        rest.extend(refs_of(page))
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert refs_of(first_page) + rest == before


def test_first_above_the_cap_is_bad_user_input(client: TestClient) -> None:
    body = gql(client, ENTITY_PAGE, first=501)
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "first"}
    assert "500" in error["message"]


@pytest.mark.parametrize("first", [-1, 100_000])
def test_first_out_of_range_is_bad_user_input(client: TestClient, first: int) -> None:
    assert only_error(client, ENTITY_PAGE, first=first)["extensions"]["code"] == "BAD_USER_INPUT"


def test_first_at_the_cap_is_fine(client: TestClient) -> None:
    page = data(client, ENTITY_PAGE, first=500)["entities"]
    assert len(page["edges"]) == page["totalCount"]


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("after", ["garbage", "", "!!!", _b64("error:1"), _b64("entit")])
def test_a_garbage_cursor_is_bad_user_input(client: TestClient, after: str) -> None:
    error = only_error(client, ENTITY_PAGE, after=after)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "after"}


# --- statements per page -----------------------------------------------------------------------------------


def big_catalogue(folder: Path, components: int = 60) -> Path:
    """Components whose owners, systems and dependencies are many, so a bigger page has more to look up."""
    groups, systems = components // 3, components // 6
    write(
        folder / "org.yaml",
        "".join(
            f"""---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-{g:02d}
spec:
  type: team
  children: []
"""
            for g in range(groups)
        ),
    )
    write(
        folder / "systems.yaml",
        "".join(
            f"""---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: sys-{s:02d}
spec:
  owner: team-{s:02d}
"""
            for s in range(systems)
        ),
    )
    write(
        folder / "resources.yaml",
        "".join(
            f"""---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: db-{r:02d}
spec:
  type: database
  owner: team-{r % groups:02d}
  system: sys-{r % systems:02d}
"""
            for r in range(components)
        ),
    )
    for part in range(3):
        write(
            folder / f"components-{part}.yaml",
            "".join(
                f"""---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: svc-{i:02d}
  title: Service {i}
spec:
  type: service
  lifecycle: production
  owner: team-{i % groups:02d}
  system: sys-{i % systems:02d}
  dependsOn:
    - resource:db-{i:02d}
    - component:svc-{(i + 1) % components:02d}
"""
                for i in range(part, components, 3)
            ),
        )
    return folder


PAGE_WITH_NEIGHBOURS = """
query($first: Int) {
  entities(first: $first) {
    edges { node {
      ref
      owner { ref name }
      system { ref }
      relations { type targetRef target { ref kind } }
    } }
  }
}
"""


def test_a_page_costs_the_same_statements_whatever_its_size(
    engine: Engine, app_client: TestClient, tmp_path: Path
) -> None:
    summary = ingest(engine, [str(big_catalogue(tmp_path / "big"))], workers=0)
    assert (summary.added, summary.errors) == (150, 0), summary.line()
    counter = StatementCounter(app_state(app_client).engine)
    try:
        counts = {}
        for first in (5, 40):
            counter.reset()
            edges = data(app_client, PAGE_WITH_NEIGHBOURS, first=first)["entities"]["edges"]
            counts[first] = len(counter.statements)
            assert len(edges) == first
            assert all(edge["node"]["ref"].startswith("component:") for edge in edges)
            assert all(edge["node"]["owner"] is not None and edge["node"]["system"] is not None for edge in edges)
            targets = [r["target"] for edge in edges for r in edge["node"]["relations"]]
            assert len(targets) >= 4 * first and all(target is not None for target in targets)
    finally:
        counter.close()
    assert counts[5] > 0
    assert counts[5] == counts[40], f"statements per page grow with its size: {counts}"


# --- processingErrors --------------------------------------------------------------------------------------

BROKEN_YAML = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: broken
  tags: [a, b
spec:
  type: service
"""
INVALID_ENTITY = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: fine-one
spec:
  type: service
  lifecycle: production
  owner: nobody-team
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: no-lifecycle
spec:
  type: service
  owner: nobody-team
"""


@pytest.fixture
def bad_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "bad"
    write(folder / "broken.yaml", BROKEN_YAML)
    write(folder / "invalid.yaml", INVALID_ENTITY)
    return folder


def test_processing_errors_name_file_line_and_field(engine: Engine, bad_folder: Path, app_client: TestClient) -> None:
    summary = ingest(engine, [str(bad_folder)], workers=0)
    assert (summary.added, summary.errors, summary.warnings) == (1, 2, 1), summary.line()
    page = data(app_client, ERROR_PAGE)["processingErrors"]
    assert page["totalCount"] == 3
    nodes = [edge["node"] for edge in page["edges"]]
    by_location = {(n["location"], n["severity"]): n for n in nodes}
    broken = by_location[("file:" + str(bad_folder / "broken.yaml"), "error")]
    assert broken["line"] == 6  # where the parser gave up
    assert "YAML" in broken["message"] and broken["code"] == "yaml-error"
    invalid = by_location[("file:" + str(bad_folder / "invalid.yaml"), "error")]
    assert (invalid["line"], invalid["entityRef"]) == (10, "component:default/no-lifecycle")
    assert "spec.lifecycle" in invalid["message"] and invalid["code"] == "invalid-entity"
    warning = by_location[("file:" + str(bad_folder / "invalid.yaml"), "warning")]
    assert (warning["line"], warning["entityRef"]) == (1, "component:default/fine-one")
    assert "group:default/nobody-team" in warning["message"] and warning["code"] == "unresolved-relation"
    assert {n["source"] for n in nodes} == {"local"}
    assert all(aware(n["createdAt"]) for n in nodes)


def test_processing_errors_paginate_and_filter_by_severity(
    engine: Engine, bad_folder: Path, app_client: TestClient
) -> None:
    ingest(engine, [str(bad_folder)], workers=0)
    everything = [edge["node"] for edge in data(app_client, ERROR_PAGE)["processingErrors"]["edges"]]
    walked: list[dict[str, Any]] = []
    after = None
    for _ in range(10):
        page = data(app_client, ERROR_PAGE, first=1, after=after)["processingErrors"]
        walked.extend(edge["node"] for edge in page["edges"])
        assert page["totalCount"] == 3
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert walked == everything and len(walked) == 3

    errors = data(app_client, ERROR_PAGE, severity="error")["processingErrors"]
    assert errors["totalCount"] == 2 and {e["node"]["severity"] for e in errors["edges"]} == {"error"}
    warnings = data(app_client, ERROR_PAGE, severity="WARNING")["processingErrors"]
    assert warnings["totalCount"] == 1 and warnings["edges"][0]["node"]["severity"] == "warning"


@pytest.mark.parametrize("after", ["nonsense", _b64("entity:component:default/x"), _b64("error:x1")])
def test_processing_errors_reject_foreign_cursors(client: TestClient, after: str) -> None:
    error = only_error(client, ERROR_PAGE, after=after)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "after"}


def test_processing_errors_first_is_capped(client: TestClient) -> None:
    error = only_error(client, ERROR_PAGE, first=501)
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "500" in error["message"]


@pytest.mark.parametrize(
    "key",
    [
        "\u00b2",  # a digit to str.isdigit(), not to int()
        "9" * 30,  # beyond any 64-bit id
        "1.5",
    ],
)
def test_processing_errors_crafted_cursor_is_bad_user_input_not_an_internal_error(client: TestClient, key: str) -> None:
    body = gql(client, ERROR_PAGE, after=_b64(f"error:{key}"))
    errors = body.get("errors") or []
    assert all(error.get("extensions", {}).get("code") == "BAD_USER_INPUT" for error in errors), errors
    if not errors:  # a well-formed cursor past the end would be fine too
        assert body["data"]["processingErrors"]["edges"] == []


def test_examples_have_one_warning_for_the_unresolved_relation(client: TestClient) -> None:
    page = data(client, ERROR_PAGE)["processingErrors"]
    assert page["totalCount"] == 1
    [node] = [edge["node"] for edge in page["edges"]]
    assert node["severity"] == "warning"
    assert node["location"] == location_of("components/clickstream-etl/catalog-info.yaml")
    assert node["line"] == 1
    assert node["entityRef"] == "component:default/clickstream-etl"
    assert "dependsOn" in node["message"] and "resource:default/legacy-clickstream-db" in node["message"]


# --- health ------------------------------------------------------------------------------------------------


def test_healthz(app_client: TestClient) -> None:
    response = app_client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_when_the_database_answers(app_client: TestClient) -> None:
    response = app_client.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_when_the_database_is_unreachable(
    app_client: TestClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app_state(app_client).engine.dispose()
    unreachable = create_engine(f"sqlite:///{tmp_path / 'no-such-folder' / 'x.db'}")
    app_state(app_client).engine = unreachable
    try:
        with caplog.at_level(logging.WARNING, logger="stairway"):
            response = app_client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["status"] != "ok"
        assert "readiness check failed" in caplog.text
        assert app_client.get("/healthz").status_code == 200  # alive, just not ready
    finally:
        unreachable.dispose()


def test_a_database_failure_does_not_show_sql_to_the_client(
    app_client: TestClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert only_error(app_client, "{ entities { totalCout } }")["extensions"]["code"] == "BAD_USER_INPUT"
    assert "totalCout" not in caplog.text  # the caller's mistake is its answer, not an error in our log
    state = app_state(app_client)
    state.engine.dispose()
    unmigrated = create_engine(f"sqlite:///{tmp_path / 'never-migrated.db'}")  # no tables: every query fails
    state.engine = unmigrated
    try:
        body = gql(app_client, ENTITY_PAGE, filter={"tag": "secret-tag"})
    finally:
        unmigrated.dispose()
    [error] = body["errors"]
    assert "SELECT" not in error["message"] and "secret-tag" not in error["message"], error["message"]
    assert (error["message"], error["extensions"]["code"]) == ("Internal server error", "INTERNAL")
    assert "no such table: entities" in caplog.text  # ours: logged in full, for the operator


# --- GraphiQL ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("graphiql", [True, False])
def test_graphiql_only_when_enabled(database: str, graphiql: bool) -> None:
    with TestClient(create_app(Settings(database_url=database, graphiql=graphiql, config=open_config()))) as client:
        page = client.get("/graphql", headers={"Accept": "text/html"})
        if graphiql:
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            assert "graphiql" in page.text.lower()
        else:
            assert page.status_code == 404
            assert "graphiql" not in page.text.lower()
        # the API itself answers either way
        assert data(client, "{ entities { totalCount } }") == {"entities": {"totalCount": 0}}


# --- guards against hostile queries ------------------------------------------------------------------------


def nested(depth: int) -> str:
    """A query whose deepest field is `depth` levels below the top-level `entity` (which is level 0)."""
    return '{ entity(ref: "group:platform-team") { ' + "owner { " * (depth - 1) + "ref" + " }" * depth + " }"


def test_a_query_at_the_depth_limit_runs(client: TestClient) -> None:
    assert data(client, nested(12)) == {"entity": {"owner": None}}
    realistic = """{ entities(first: 2) { edges { node { relations { target { owner { system {
        relations { target { ref } } } } } } } } } }"""
    assert len(data(client, realistic)["entities"]["edges"]) == 2


@pytest.mark.parametrize("depth", [13, 300])
def test_a_query_deeper_than_the_limit_is_refused(client: TestClient, depth: int) -> None:
    response = client.post("/graphql", json={"query": nested(depth)})
    assert response.status_code in (200, 400)
    body = response.json()
    assert body.get("data") is None
    assert body["errors"]
    if depth == 13:
        assert "depth" in body["errors"][0]["message"]
    assert client.get("/healthz").status_code == 200


def test_too_many_aliases_are_refused(client: TestClient) -> None:
    query = "{ " + " ".join(f'a{i}: entity(ref: "group:platform-team") {{ ref }}' for i in range(40)) + " }"
    body = gql(client, query)
    assert body.get("data") is None
    assert "aliases" in body["errors"][0]["message"]


FAN_OUT = "{ entities(first: $n) { edges { node { ref relations { target { relations { target { ref } } } } } } } }"


def test_a_query_that_fans_out_to_too_many_objects_is_refused_before_it_runs(client: TestClient) -> None:
    body = gql(client, "query Fan($n: Int) " + FAN_OUT, n=200)

    assert body.get("data") is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["cost"] > error["extensions"]["maxCost"] == 50_000
    assert "too expensive" in error["message"]


def test_the_same_shape_on_a_small_page_runs(client: TestClient) -> None:
    assert "errors" not in gql(client, "query Fan($n: Int) " + FAN_OUT, n=10)
    page = "{ entities(first: 500) { edges { node { ref owner { ref } relations { target { ref } } } } } }"
    assert "errors" not in gql(client, page)


def test_a_malformed_query_is_an_error_not_a_crash(client: TestClient) -> None:
    response = client.post("/graphql", json={"query": "{ entities(first: ) {"})
    assert response.status_code in (200, 400)
    assert response.json()["errors"]
    assert client.get("/healthz").status_code == 200
