"""A running Backstage catalogue as a source, through respx with the shapes the real backend returns
(`items`, `totalItems`, `pageInfo.nextCursor`, entities with `metadata.uid`, `etag` and `relations`)."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest
import respx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from catalog.sources.definitions import BackstageSource, Schedule
from catalog.sources.status import FAILED, OK, source_states
from catalog.tables import ENTITIES, PROCESSING_ERRORS, RELATIONS, utc_now
from tests.catalog.sources.conftest import Refresh, Waits
from tests.conftest import REPO, StatementCounter

BASE = "http://backstage.test:7007"
BY_QUERY = f"{BASE}/api/catalog/entities/by-query"
SAMPLES = REPO.parent / "shared" / "peers" / "backstage" / "samples"
SOURCE = BackstageSource(name="portal", base_url=BASE, schedule=Schedule(frequency=None))


def component(name: str, owner: str = "group:default/team-a", **spec: object) -> dict[str, object]:
    """A Component as Backstage serves it: uid, etag, location annotations and relations set by upstream."""
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": f"00000000-0000-4000-8000-{hashlib.blake2b(name.encode(), digest_size=6).hexdigest()}",
            "etag": f"etag-{name}",
            "annotations": {
                "backstage.io/managed-by-location": f"url:https://github.com/acme/{name}/blob/main/catalog-info.yaml",
                "backstage.io/managed-by-origin-location": "url:https://github.com/acme/catalog/blob/main/all.yaml",
            },
        },
        "spec": {"type": "service", "lifecycle": "production", "owner": owner, **spec},
        "relations": [{"type": "ownedBy", "targetRef": owner}],
    }


def page(items: list[object], total: int, cursor: str | None = None) -> httpx.Response:
    return httpx.Response(
        200, json={"items": items, "totalItems": total, "pageInfo": {"nextCursor": cursor} if cursor else {}}
    )


def serve(router: respx.MockRouter, *pages: list[object]) -> respx.Route:
    """Answer by-query page by page: the first without a cursor, the next by cursor `c1`, `c2`, ..."""
    total = sum(len(items) for items in pages)

    def answer(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params.get("cursor", "c0")[1:])
        cursor = f"c{number + 1}" if number + 1 < len(pages) else None
        return page(pages[number], total, cursor)

    return router.get(BY_QUERY).mock(side_effect=answer)


def refs(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return sorted(connection.execute(sa.select(ENTITIES.c.ref).where(ENTITIES.c.source == "portal")).scalars())


def test_every_page_is_read_and_upstream_locations_are_kept(engine: Engine, refresh: Refresh) -> None:
    with respx.mock(assert_all_called=True) as router:
        serve(router, [component("a"), component("b")], [component("c", dependsOn=["component:default/a"])])
        outcome = refresh(SOURCE)
    assert outcome.status == OK, outcome.error
    assert (outcome.summary.added, outcome.counts.requests) == (3, 2)
    assert refs(engine) == ["component:default/a", "component:default/b", "component:default/c"]
    with engine.connect() as connection:
        body = json.loads(
            connection.execute(sa.select(ENTITIES.c.body).where(ENTITIES.c.ref == "component:default/a")).scalar_one()
        )
        location = connection.execute(
            sa.select(ENTITIES.c.location).where(ENTITIES.c.ref == "component:default/c")
        ).scalar_one()
        relations = set(connection.execute(sa.select(RELATIONS.c.source_ref, RELATIONS.c.type, RELATIONS.c.target_ref)))
    annotations = body["metadata"]["annotations"]
    assert (
        annotations["backstage.io/managed-by-location"] == "url:https://github.com/acme/a/blob/main/catalog-info.yaml"
    )
    assert "relations" not in body and body["metadata"]["etag"] == "etag-a"
    with engine.connect() as connection:
        uid = connection.execute(sa.select(ENTITIES.c.uid).where(ENTITIES.c.ref == "component:default/a")).scalar_one()
    assert uid == body["metadata"]["uid"]  # the portal's id for the entity is Stairway's too
    assert location == f"url:{BASE}/api/catalog/entities/by-name/component/default/c"
    assert ("component:default/c", "dependsOn", "component:default/a") in relations
    assert ("component:default/a", "ownedBy", "group:default/team-a") in relations


def test_an_unchanged_upstream_costs_one_pass_of_pages_and_no_catalogue_writes(
    engine: Engine, refresh: Refresh, statements: StatementCounter
) -> None:
    pages = [[component(f"svc-{i}") for i in range(3)], [component(f"svc-{i}") for i in range(3, 5)]]
    with respx.mock(assert_all_called=True) as router:
        serve(router, *pages)
        assert refresh(SOURCE).summary.added == 5
        statements.reset()
        outcome = refresh(SOURCE)
    assert outcome.status == OK
    assert (outcome.summary.unchanged, outcome.summary.added, outcome.summary.updated) == (5, 0, 0)
    assert outcome.counts.requests == 2
    assert statements.writes_except("source_status") == []


def test_changes_upstream_update_add_and_remove_only_what_changed(engine: Engine, refresh: Refresh) -> None:
    with respx.mock() as router:
        serve(router, [component("a"), component("b"), component("c")])
        refresh(SOURCE)
    with respx.mock() as router:
        serve(router, [component("a"), component("b", owner="group:default/team-b"), component("d")])
        outcome = refresh(SOURCE)
    s = outcome.summary
    assert (s.added, s.updated, s.unchanged, s.removed) == (1, 1, 1, 1)
    assert refs(engine) == ["component:default/a", "component:default/b", "component:default/d"]
    with engine.connect() as connection:
        owner = connection.execute(
            sa.select(ENTITIES.c.owner_ref).where(ENTITIES.c.ref == "component:default/b")
        ).scalar_one()
    assert owner == "group:default/team-b"


def test_an_upstream_that_suddenly_serves_nothing_does_not_empty_the_source(engine: Engine, refresh: Refresh) -> None:
    with respx.mock() as router:
        serve(router, [component("a"), component("b")])
        refresh(SOURCE)
    with respx.mock() as router:
        serve(router, [])  # e.g. a permission policy that now hides every entity from the token
        outcome = refresh(SOURCE)
    assert outcome.status == FAILED and "gave no entities at all" in (outcome.error or "")
    assert "the 2 the source holds are kept" in (outcome.error or "")
    assert refs(engine) == ["component:default/a", "component:default/b"]


def test_filters_are_sent_as_backstage_filter_parameters(refresh: Refresh) -> None:
    source = BackstageSource(name="portal", base_url=BASE + "/", filters=("kind=component", "kind=api"))
    with respx.mock(assert_all_called=True) as router:
        route = router.get(BY_QUERY).mock(return_value=page([component("a")], 1))
        assert refresh(source).status == OK
    sent = route.calls.last.request.url.params
    assert sent.get_list("filter") == ["kind=component", "kind=api"] and sent["limit"] == "500"


def test_an_invalid_entity_is_an_error_and_the_rest_are_kept(engine: Engine, refresh: Refresh) -> None:
    bad = component("Not Valid!")
    with respx.mock() as router:
        serve(router, [component("a"), bad, "not an entity"])
        outcome = refresh(SOURCE)
    assert outcome.status == OK and outcome.summary.added == 1 and outcome.summary.errors == 2
    with engine.connect() as connection:
        messages = list(
            connection.execute(
                sa.select(PROCESSING_ERRORS.c.message).where(PROCESSING_ERRORS.c.source == "portal")
            ).scalars()
        )
    assert any("Not Valid!" in message for message in messages)
    assert any("not an entity" in message for message in messages)


def test_a_failing_page_keeps_the_last_good_catalogue_and_says_why(
    engine: Engine, refresh: Refresh, waits: Waits
) -> None:
    with respx.mock() as router:
        serve(router, [component("a")], [component("b")])
        refresh(SOURCE)
    with respx.mock() as router:
        router.get(BY_QUERY, params={"cursor": "c1"}).mock(return_value=httpx.Response(503))
        router.get(BY_QUERY).mock(return_value=page([component("x")], 2, "c1"))
        outcome = refresh(SOURCE)
    assert outcome.status == FAILED
    assert "503 after 4 attempts" in (outcome.error or "")
    assert waits == [0.5, 1.0, 2.0]  # capped exponential backoff between the four attempts
    assert refs(engine) == ["component:default/a", "component:default/b"]  # nothing half-written
    with engine.connect() as connection:
        (state,) = source_states(connection, (SOURCE,), utc_now())
    assert state.status == FAILED and state.last_success_at is not None and state.entity_count == 2
    assert "503" in (state.last_error or "")


def test_a_rate_limit_is_waited_out_and_one_too_long_fails_without_blind_retries(
    engine: Engine, refresh: Refresh, waits: Waits
) -> None:
    with respx.mock() as router:
        limited = httpx.Response(429, headers={"Retry-After": "5"})
        router.get(BY_QUERY).mock(side_effect=[limited, page([component("a")], 1)])
        assert refresh(SOURCE).status == OK
    assert waits == [5.0]
    with respx.mock() as router:
        route = router.get(BY_QUERY).mock(return_value=httpx.Response(429, headers={"Retry-After": "3600"}))
        outcome = refresh(SOURCE)
    assert outcome.status == FAILED and route.call_count == 1
    assert "rate limited (429)" in (outcome.error or "") and "3600s" in (outcome.error or "")
    assert refs(engine) == ["component:default/a"]  # the catalogue is unharmed


def test_a_refused_token_is_not_retried_and_names_its_variable(
    engine: Engine, refresh: Refresh, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded(refresh)
    monkeypatch.setenv("PORTAL_TOKEN", "wrong")
    source = BackstageSource(name="portal", base_url=BASE, token_env="PORTAL_TOKEN")
    with respx.mock() as router:
        route = router.get(BY_QUERY).mock(
            return_value=httpx.Response(401, json={"error": {"name": "AuthenticationError"}})
        )
        outcome = refresh(source)
    assert outcome.status == FAILED and route.call_count == 1
    assert "401" in (outcome.error or "") and "$PORTAL_TOKEN" in (outcome.error or "")
    assert route.calls.last.request.headers["authorization"] == "Bearer wrong"
    assert refs(engine) == ["component:default/a"]  # the catalogue is unharmed


def test_a_token_variable_that_is_not_set_fails_before_any_request(
    engine: Engine, refresh: Refresh, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded(refresh)
    monkeypatch.delenv("PORTAL_TOKEN", raising=False)
    with respx.mock(assert_all_called=False) as router:
        route = router.get(BY_QUERY)
        outcome = refresh(BackstageSource(name="portal", base_url=BASE, token_env="PORTAL_TOKEN"))
    assert outcome.status == FAILED and "PORTAL_TOKEN" in (outcome.error or "") and route.call_count == 0
    assert refs(engine) == ["component:default/a"]


def loaded(refresh: Refresh) -> None:
    """The source holds component:default/a, read the last time the upstream answered."""
    with respx.mock() as router:
        serve(router, [component("a")])
        assert refresh(SOURCE).summary.added == 1


def test_an_answer_that_is_not_a_catalogue_fails_the_refresh(engine: Engine, refresh: Refresh) -> None:
    loaded(refresh)
    with respx.mock() as router:
        router.get(BY_QUERY).mock(return_value=httpx.Response(200, text="<html>login</html>"))
        outcome = refresh(SOURCE)
    assert outcome.status == FAILED and "not JSON" in (outcome.error or "")
    assert refs(engine) == ["component:default/a"]


def test_an_upstream_that_does_not_answer_in_time_fails_and_keeps_the_catalogue(
    engine: Engine, refresh: Refresh, waits: Waits
) -> None:
    loaded(refresh)
    with respx.mock() as router:
        router.get(BY_QUERY).mock(side_effect=httpx.ReadTimeout("no answer"))
        outcome = refresh(SOURCE)
    assert outcome.status == FAILED and "timed out after 4 attempts" in (outcome.error or "")
    assert waits == [0.5, 1.0, 2.0] and refs(engine) == ["component:default/a"]


@pytest.mark.skipif(
    not SAMPLES.is_dir(),
    reason="the recorded Backstage responses (../shared/peers/backstage/samples) are not beside this checkout",
)
def test_responses_recorded_from_a_real_backstage_backend(engine: Engine, refresh: Refresh) -> None:
    first = json.loads((SAMPLES / "by-query-page1.json").read_text())
    second = json.loads((SAMPLES / "by-query-page2.json").read_text())
    second["pageInfo"].pop("nextCursor", None)  # the recording stops after two pages
    with respx.mock(assert_all_called=True) as router:
        router.get(BY_QUERY, params={"cursor": first["pageInfo"]["nextCursor"]}).mock(
            return_value=httpx.Response(200, json=second)
        )
        router.get(BY_QUERY).mock(return_value=httpx.Response(200, json=first))
        outcome = refresh(SOURCE)
    expected = len(first["items"]) + len(second["items"])
    assert outcome.status == OK and outcome.summary.added == expected and outcome.summary.errors == 0
