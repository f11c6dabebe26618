"""Sources through the service: `sources` and `refreshSource` over GraphQL, the GitHub push webhook, the
schedule, and `stairway refresh` / `stairway sources`."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from catalog.database import create_engine
from catalog.sources.definitions import BackstageSource, FileSource, GitHubSource, GitSource, Schedule
from catalog.tables import ENTITIES
from service.app import create_app
from service.cli import main
from service.config import Config
from service.refresher import Refresher
from service.settings import Settings
from tests.catalog.sources.test_git import Repository, component
from tests.catalog.sources.test_github import FakeGitHub
from tests.service.conftest import TestClient, data, only_error, open_config, write

SECRET = "It's a Secret to Everybody"
BACKSTAGE = "http://backstage.test:7007"
MANUAL = Schedule(frequency=None)


@pytest.fixture
def repository(tmp_path: Path) -> Repository:
    (tmp_path / "upstream").mkdir()
    repo = Repository(tmp_path / "upstream")
    repo.commit({"catalog-info.yaml": component("payments"), "README.md": "# payments\n"})
    return repo


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write(tmp_path / "local" / "catalog-info.yaml", component("local-thing"))
    return tmp_path / "local"


def config_for(tmp_path: Path, *sources: Any, webhook: bool = True) -> Config:
    return open_config(
        sources=sources,
        cache_dir=str(tmp_path / "cache"),
        github_webhook_secret_env="TEST_WEBHOOK_SECRET" if webhook else None,
    )


@pytest.fixture
def serve(database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Start the app with a configuration (no schedule: the tests refresh on demand)."""
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", SECRET)
    clients: list[TestClient] = []

    def start(config: Config) -> TestClient:
        settings = Settings(database_url=database, config=config, schedule_sources=False)
        client = TestClient(create_app(settings))
        client.__enter__()
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


SOURCES = """{ sources { name type status entityCount lastError lastAttemptAt lastSuccessAt nextRunAt
    lastRefresh { added unchanged requests notModified } } }"""
REFRESH = """mutation($name: String!) { refreshSource(name: $name) {
    status error counts { added updated unchanged removed requests }
    source { name status entityCount lastSuccessAt lastError } } }"""


def refs(engine: Engine, source: str) -> list[str]:
    with engine.connect() as connection:
        return sorted(connection.execute(sa.select(ENTITIES.c.ref).where(ENTITIES.c.source == source)).scalars())


def test_sources_lists_every_configured_source_before_any_refresh(serve: Any, tmp_path: Path, folder: Path) -> None:
    every_hour = Schedule(frequency=3600)
    client = serve(
        config_for(
            tmp_path,
            FileSource("local-files", (str(folder),), every_hour),
            BackstageSource("portal", BACKSTAGE, schedule=MANUAL),
        )
    )
    sources = data(client, SOURCES)["sources"]
    assert [(s["name"], s["type"], s["status"], s["entityCount"]) for s in sources] == [
        ("local-files", "file", "NEVER", 0),
        ("portal", "backstage", "NEVER", 0),
    ]
    assert sources[0]["nextRunAt"] is not None and sources[1]["nextRunAt"] is None  # due now; on demand only


def test_refresh_source_reads_it_and_reports_the_counts(
    serve: Any, engine: Engine, tmp_path: Path, folder: Path
) -> None:
    client = serve(config_for(tmp_path, FileSource("local-files", (str(folder),), MANUAL)))
    result = data(client, REFRESH, name="local-files")["refreshSource"]
    assert result["status"] == "OK" and result["error"] is None
    assert result["counts"]["added"] == 1
    assert result["source"]["status"] == "OK" and result["source"]["entityCount"] == 1
    assert refs(engine, "local-files") == ["component:default/local-thing"]
    again = data(client, REFRESH, name="local-files")["refreshSource"]
    assert again["counts"]["unchanged"] == 1 and again["counts"]["added"] == 0
    (listed,) = data(client, SOURCES)["sources"]
    assert listed["lastRefresh"]["unchanged"] == 1 and listed["lastSuccessAt"] is not None


def test_refresh_of_an_unknown_source_is_not_found(serve: Any, tmp_path: Path, folder: Path) -> None:
    client = serve(config_for(tmp_path, FileSource("local-files", (str(folder),), MANUAL)))
    error = only_error(client, REFRESH, name="nope")
    assert error["extensions"]["code"] == "NOT_FOUND" and "local-files" in error["message"]


def test_a_failing_upstream_keeps_the_last_good_entities_and_shows_why(
    serve: Any, engine: Engine, tmp_path: Path
) -> None:
    source = BackstageSource("portal", BACKSTAGE, schedule=MANUAL)
    client = serve(config_for(tmp_path, source))
    entity = json.loads(
        json.dumps(
            {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Group",
                "metadata": {"name": "team-a"},
                "spec": {"type": "team", "children": []},
            }
        )
    )
    route = f"{BACKSTAGE}/api/catalog/entities/by-query"
    with respx.mock() as router:
        router.get(route).mock(
            return_value=httpx.Response(200, json={"items": [entity], "totalItems": 1, "pageInfo": {}})
        )
        assert data(client, REFRESH, name="portal")["refreshSource"]["status"] == "OK"
    with respx.mock() as router:
        router.get(route).mock(return_value=httpx.Response(404, json={"error": {"name": "NotFoundError"}}))
        result = data(client, REFRESH, name="portal")["refreshSource"]
    assert result["status"] == "FAILED" and "404" in result["error"]
    assert result["source"]["status"] == "FAILED" and result["source"]["entityCount"] == 1
    assert result["source"]["lastSuccessAt"] is not None and "404" in result["source"]["lastError"]
    assert refs(engine, "portal") == ["group:default/team-a"]


# --- POST /webhooks/github ------------------------------------------------------------------------


def push(repository: Repository, *changed: str, branch: str = "main") -> dict[str, Any]:
    """A push event as GitHub sends it (the fields Stairway reads, and a few it does not)."""
    return {
        "ref": f"refs/heads/{branch}",
        "before": "0" * 40,
        "after": "1" * 40,
        "repository": {
            "name": "upstream",
            "full_name": "acme/upstream",
            "owner": {"login": "acme", "name": "acme"},
            "html_url": "https://github.com/acme/upstream",
            "clone_url": repository.url,
            "default_branch": "main",
        },
        "commits": [{"id": "1" * 40, "added": [], "modified": list(changed), "removed": []}],
        "head_commit": {"id": "1" * 40, "added": [], "modified": list(changed), "removed": []},
    }


def deliver(client: TestClient, event: str, body: dict[str, Any], secret: str | None = SECRET) -> httpx.Response:
    payload = json.dumps(body).encode()
    headers = {"X-GitHub-Event": event, "Content-Type": "application/json", "X-GitHub-Delivery": "d-1"}
    if secret is not None:
        headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    return client.post("/webhooks/github", content=payload, headers=headers)


@pytest.fixture
def git_client(serve: Any, tmp_path: Path, repository: Repository) -> TestClient:
    client: TestClient = serve(config_for(tmp_path, GitSource("upstream", repository.url, schedule=MANUAL)))
    assert data(client, REFRESH, name="upstream")["refreshSource"]["status"] == "OK"
    return client


def test_a_signed_push_that_changes_a_descriptor_refreshes_its_source(
    git_client: TestClient, engine: Engine, repository: Repository
) -> None:
    repository.commit({"catalog-info.yaml": component("payments") + "---\n" + component("ledger")})
    response = deliver(git_client, "push", push(repository, "catalog-info.yaml"))
    assert response.status_code == 202 and response.json()["refreshing"] == ["upstream"]
    assert refs(engine, "upstream") == ["component:default/ledger", "component:default/payments"]


def test_a_push_that_changes_no_catalogue_file_refreshes_nothing(
    git_client: TestClient, engine: Engine, repository: Repository
) -> None:
    repository.commit({"README.md": "# changed\n", "catalog-info.yaml": component("renamed")})
    response = deliver(git_client, "push", push(repository, "README.md"))
    assert response.status_code == 202 and response.json()["refreshing"] == []
    assert "no configured source" in response.json()["reason"]
    assert refs(engine, "upstream") == ["component:default/payments"]  # not refreshed


def test_a_forced_push_refreshes_its_source_whatever_files_it_lists(
    git_client: TestClient, engine: Engine, repository: Repository
) -> None:
    repository.commit({"catalog-info.yaml": component("rewritten")})
    event = push(repository, "README.md") | {"forced": True}  # history rewritten: the list says little
    response = deliver(git_client, "push", event)
    assert response.json()["refreshing"] == ["upstream"]
    assert refs(engine, "upstream") == ["component:default/rewritten"]


def test_a_push_to_another_branch_refreshes_nothing(git_client: TestClient, repository: Repository) -> None:
    response = deliver(git_client, "push", push(repository, "catalog-info.yaml", branch="feature"))
    assert response.json()["refreshing"] == []


@pytest.mark.parametrize("secret", [None, "not the secret"])
def test_a_missing_or_wrong_signature_is_refused_and_changes_nothing(
    git_client: TestClient, engine: Engine, repository: Repository, secret: str | None
) -> None:
    repository.commit({"catalog-info.yaml": component("intruder")})
    response = deliver(git_client, "push", push(repository, "catalog-info.yaml"), secret=secret)
    assert response.status_code == 401 and "X-Hub-Signature-256" in response.json()["error"]
    assert refs(engine, "upstream") == ["component:default/payments"]


def test_ping_is_answered_and_other_events_are_ignored(git_client: TestClient, repository: Repository) -> None:
    assert deliver(git_client, "ping", {"zen": "Keep it logically awesome."}).status_code == 200
    ignored = deliver(git_client, "issues", {"action": "opened"})
    assert ignored.status_code == 200 and ignored.json()["refreshing"] == []


def test_without_a_configured_secret_the_webhook_does_not_exist(serve: Any, tmp_path: Path, folder: Path) -> None:
    client = serve(config_for(tmp_path, FileSource("local-files", (str(folder),), MANUAL), webhook=False))
    response = client.post("/webhooks/github", content=b"{}", headers={"X-GitHub-Event": "ping"})
    assert response.status_code == 404 and "webhooks.github.secretEnv" in response.json()["error"]


def test_a_push_to_an_organisation_refreshes_only_the_repository_pushed_to(
    serve: Any, engine: Engine, tmp_path: Path
) -> None:
    github = FakeGitHub()
    github.add("payments", {"catalog-info.yaml": component("payments")})
    github.add("ledger", {"catalog-info.yaml": component("ledger")})
    client = serve(config_for(tmp_path, GitHubSource(name="acme-github", organization="acme", schedule=MANUAL)))
    with respx.mock() as router:
        github.mount(router)
        assert data(client, REFRESH, name="acme-github")["refreshSource"]["counts"]["added"] == 2
        github.write("payments", component("payments") + "---\n" + component("payments-worker"))
        github.write("ledger", component("ledger-renamed"))  # changed too, but not pushed: not read
        router.calls.clear()
        event = {
            "ref": "refs/heads/main",
            "repository": {
                "name": "payments",
                "full_name": "acme/payments",
                "owner": {"login": "acme"},
                "html_url": "https://github.com/acme/payments",
                "default_branch": "main",
            },
            "commits": [{"added": [], "modified": ["catalog-info.yaml"], "removed": []}],
        }
        response = deliver(client, "push", event)
        asked = [call.request.url.path for call in router.calls]
    assert response.status_code == 202 and response.json()["refreshing"] == ["acme-github"]
    assert asked == ["/orgs/acme/repos", "/repos/acme/payments/contents/catalog-info.yaml"]
    assert refs(engine, "acme-github") == [
        "component:default/ledger",
        "component:default/payments",
        "component:default/payments-worker",
    ]


def test_malformed_json_with_a_good_signature_is_a_400(git_client: TestClient) -> None:
    payload = b"{not json"
    signature = "sha256=" + hmac.new(SECRET.encode(), payload, hashlib.sha256).hexdigest()
    response = git_client.post(
        "/webhooks/github", content=payload, headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": signature}
    )
    assert response.status_code == 400 and "malformed JSON" in response.json()["error"]


# --- the schedule ---------------------------------------------------------------------------------


def test_the_schedule_refreshes_what_is_due_and_waits_a_frequency_for_the_next_run(
    database: str, tmp_path: Path, folder: Path
) -> None:
    engine = create_engine(database)
    now = [datetime(2026, 11, 26, 12, 0, tzinfo=UTC)]
    hourly = FileSource("hourly", (str(folder),), Schedule(frequency=3600, jitter=0.1))
    manual = FileSource("manual", (str(folder / "catalog-info.yaml"),), MANUAL)
    config = open_config(sources=(hourly, manual), cache_dir=str(tmp_path / "cache"))

    async def scenario() -> list[list[str]]:
        async with httpx.AsyncClient() as client:
            refresher = Refresher(engine, config, client, clock=lambda: now[0])
            runs = [[o.source for o in await refresher.run_due()]]
            (state,) = [s for s in await asyncio.to_thread(refresher.states) if s.name == "hourly"]
            assert state.next_run_at is not None
            assert timedelta(minutes=54) <= state.next_run_at - now[0] <= timedelta(minutes=66)
            now[0] += timedelta(minutes=30)
            runs.append([o.source for o in await refresher.run_due()])
            now[0] += timedelta(minutes=37)
            runs.append([o.source for o in await refresher.run_due()])
            return runs

    try:
        assert asyncio.run(scenario()) == [["hourly"], [], ["hourly"]]
    finally:
        engine.dispose()


def test_requests_to_refresh_one_source_at_once_run_one_after_another(
    database: str, tmp_path: Path, folder: Path
) -> None:
    engine = create_engine(database)
    source = FileSource("local-files", (str(folder),), MANUAL)

    async def scenario() -> list[str]:
        async with httpx.AsyncClient() as client:
            refresher = Refresher(engine, Config(sources=(source,)), client)
            outcomes = await asyncio.gather(*(refresher.refresh("local-files") for _ in range(4)))
            await refresher.stop()
            return [outcome.status for outcome in outcomes]

    try:
        assert asyncio.run(scenario()) == ["ok"] * 4  # none skipped as if another replica held it
    finally:
        engine.dispose()


def test_a_caller_that_stops_waiting_does_not_stop_the_refresh(database: str, tmp_path: Path, folder: Path) -> None:
    engine = create_engine(database)
    source = FileSource("local-files", (str(folder),), Schedule(frequency=60))

    async def scenario() -> bool:
        async with httpx.AsyncClient() as client:
            refresher = Refresher(engine, Config(sources=(source,)), client)
            caller = asyncio.create_task(refresher.refresh("local-files"))
            await asyncio.sleep(0)  # let it start
            caller.cancel()
            await refresher.stop(grace=60)
            return refresher.running("local-files")

    try:
        assert asyncio.run(scenario()) is False
        assert refs(engine, "local-files") == ["component:default/local-thing"]
    finally:
        engine.dispose()


class SlowPortal(Refresher):
    """A Refresher whose `slow` source takes until the test lets it finish."""

    release: asyncio.Event

    async def _refresh(self, source: Any, repository: str | None) -> Any:
        if source.name == "slow":
            await self.release.wait()
        return await super()._refresh(source, repository)


def test_the_schedule_does_not_wait_for_a_slow_refresh(database: str, tmp_path: Path, folder: Path) -> None:
    engine = create_engine(database)
    slow = FileSource("slow", (str(folder),), Schedule(frequency=600))
    write(tmp_path / "fast" / "catalog-info.yaml", component("fast-thing"))
    fast = FileSource("fast", (str(tmp_path / "fast"),), Schedule(frequency=60))
    seen: list[bool] = []

    class Stop(Exception):
        pass

    async def scenario() -> None:
        async with httpx.AsyncClient() as client:
            refresher: SlowPortal

            async def nap(seconds: float) -> None:
                await asyncio.sleep(0)  # let the refreshes just started begin
                seen.append(refresher.running("slow"))  # the loop got here while `slow` still runs
                refresher.release.set()
                raise Stop

            refresher = SlowPortal(engine, Config(sources=(slow, fast)), client, sleep=nap)
            refresher.release = asyncio.Event()
            with pytest.raises(Stop):
                await refresher.run_schedule()
            await refresher.stop(grace=60)

    try:
        asyncio.run(scenario())
        assert seen == [True]
        with engine.connect() as connection:
            sources = set(connection.execute(sa.select(ENTITIES.c.source)).scalars())
        assert sources == {"slow", "fast"}
    finally:
        engine.dispose()


def test_a_failing_evaluation_after_a_refresh_is_logged_and_the_refresh_stands(
    database: str, tmp_path: Path, folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(database)
    source = FileSource("local-files", (str(folder),), MANUAL)

    def broken_evaluation() -> str:
        raise RuntimeError("the scorecards are unreadable")

    async def scenario() -> str:
        async with httpx.AsyncClient() as client:
            refresher = Refresher(engine, Config(sources=(source,)), client, on_change=broken_evaluation)
            return (await refresher.refresh("local-files")).status

    try:
        assert asyncio.run(scenario()) == "ok"
        assert refs(engine, "local-files") == ["component:default/local-thing"]
    finally:
        engine.dispose()
    assert "evaluating the scorecards failed" in caplog.text and "the scorecards are unreadable" in caplog.text


# --- stairway refresh / stairway sources ----------------------------------------------------------


def test_refresh_and_sources_commands(
    cli: Path, engine: Engine, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = cli / "stairway.yaml"
    config.write_text(
        "sources:\n"
        f"  - {{name: local-files, type: file, paths: [{folder}], schedule: {{frequency: 15m}}}}\n"
        f"  - {{name: portal, type: backstage, baseUrl: {BACKSTAGE}, schedule: {{frequency: manual}}}}\n"
    )
    assert main(["--config", str(config), "refresh", "local-files"]) == 0
    out = capsys.readouterr().out
    assert "local-files: 1 added, 0 updated, 0 unchanged, 0 removed, 0 errors" in out
    assert "entities scored" in out  # the catalogue changed, so it was evaluated again
    with respx.mock() as router:
        router.get(f"{BACKSTAGE}/api/catalog/entities/by-query").mock(return_value=httpx.Response(404))
        assert main(["--config", str(config), "refresh"]) == 1
    out = capsys.readouterr().out
    assert "local-files: 0 added, 0 updated, 1 unchanged" in out and "portal: failed" in out and "404" in out
    assert main(["--config", str(config), "sources"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["SOURCE", "TYPE", "STATUS"]
    assert table[1].split()[:3] == ["local-files", "file", "ok"] and "on demand" not in table[1]
    assert table[2].split()[:3] == ["portal", "backstage", "failed"] and "on demand" in table[2]
    assert main(["--config", str(config), "refresh", "nope"]) == 2
    assert "no source named 'nope'" in capsys.readouterr().err


def test_a_source_no_longer_configured_is_shown_and_can_be_forgotten(
    cli: Path, engine: Engine, folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = cli / "stairway.yaml"
    config.write_text(f"sources:\n  - {{name: local-files, type: file, paths: [{folder}]}}\n")
    write(tmp_path / "old" / "catalog-info.yaml", component("old-thing"))
    assert main(["ingest", "--source", "retired", str(tmp_path / "old")]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "sources"]) == 0
    assert "not configured: retired holds 1 entities" in capsys.readouterr().out
    assert main(["--config", str(config), "sources", "--forget", "local-files"]) == 2
    assert "is configured; take it out of stairway.yaml first" in capsys.readouterr().err
    assert main(["--config", str(config), "sources", "--forget", "retired"]) == 0
    assert "forgot retired: 1 entities removed" in capsys.readouterr().out
    assert refs(engine, "retired") == []
    with engine.connect() as connection:
        left = connection.execute(sa.text("SELECT count(*) FROM source_files WHERE source = 'retired'")).scalar_one()
    assert left == 0
