"""A GitHub organisation as a source, against respx routes that answer as GitHub's REST API does: repository
listings paged by Link headers, raw file contents and recursive trees, each with an ETag honoured by a 304."""

from __future__ import annotations

import glob
import hashlib
import json
import re
import time
from dataclasses import replace

import httpx
import pytest
import respx
import sqlalchemy as sa
from respx.models import Call
from sqlalchemy.engine import Engine

from catalog.processing import ERROR, WARNING
from catalog.sources.definitions import GitHubFilters, GitHubSource
from catalog.sources.refresh import RefreshOutcome
from catalog.sources.status import FAILED, OK, source_states
from catalog.tables import ENTITIES, PROCESSING_ERRORS, utc_now
from tests.catalog.sources.conftest import Refresh, Waits
from tests.conftest import StatementCounter

API = "https://api.github.com"
SOURCE = GitHubSource(name="acme-github", organization="acme")
GLOB = replace(SOURCE, catalog_path="/**/catalog-info.yaml")
TEAM_A = "group:default/team-a"


def component(name: str, owner: str = "team-a") -> str:
    return (
        "apiVersion: backstage.io/v1alpha1\nkind: Component\n"
        f"metadata:\n  name: {name}\nspec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n"
    )


def location(*targets: str) -> str:
    listed = "".join(f"    - {target}\n" for target in targets)
    return f"apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: all\nspec:\n  targets:\n{listed}"


def etag(data: object, weak: bool = False) -> str:
    digest = hashlib.sha1(json.dumps(data, sort_keys=True).encode()).hexdigest()
    return f'W/"{digest}"' if weak else f'"{digest}"'


class FakeGitHub:
    """One organisation behind GitHub's REST API; `fail` makes requests under a path answer otherwise first."""

    def __init__(self, api: str = API, page_size: int = 2) -> None:
        self.api = api
        self.prefix = httpx.URL(api).path.rstrip("/")
        self.page_size = page_size
        self.repos: dict[str, dict[str, object]] = {}  # as `GET /orgs/{org}/repos` lists them
        self.files: dict[tuple[str, str, str], str] = {}  # (repository, branch, path) -> text
        self.failures: list[tuple[str, httpx.Response, int]] = []
        self.truncated: set[str] = set()  # repositories whose tree is too large for GitHub to list whole
        self.calls: list[Call] = []

    def add(self, name: str, files: dict[str, str], branch: str = "main", **fields: object) -> None:
        """A repository (listed with the fields that matter, and some that do not) and its files on `branch`."""
        private = fields.get("visibility", "public") != "public"
        self.repos[name] = {"id": 1000 + len(self.repos), "name": name, "full_name": f"acme/{name}", "fork": False}
        self.repos[name] |= {"owner": {"login": "acme", "type": "Organization"}, "private": private, "size": 90}
        self.repos[name] |= {"visibility": "public", "archived": False, "topics": [], "default_branch": "main"}
        self.repos[name] |= fields
        self.files |= {(name, branch, path): text for path, text in files.items()}

    def write(self, repo: str, text: str, path: str = "catalog-info.yaml") -> None:
        self.files[repo, "main", path] = text

    def fail(self, path: str, response: httpx.Response, times: int = 1_000) -> None:
        self.failures.append((self.prefix + path, response, times))

    def run(
        self, refresh: Refresh, source: GitHubSource = SOURCE, all_called: bool = True, **options: str
    ) -> RefreshOutcome:
        """Refresh `source` against this organisation; `calls` then holds what it asked, in order."""
        with respx.mock(assert_all_called=all_called) as router:
            self.mount(router, source)
            outcome = refresh(source, **options)
            self.calls = list(router.calls)
        return outcome

    def mount(self, router: respx.MockRouter, source: GitHubSource = SOURCE) -> None:
        """Answer `source`'s requests on `router` from this organisation."""
        api = re.escape(self.api)
        router.get(url__regex=rf"^{api}/orgs/acme/repos\b").mock(side_effect=self.listing)
        if len(self.repos) > self.page_size:
            router.get(url__regex=rf"^{api}/organizations/9919/repos\b").mock(side_effect=self.listing)
        router.get(url__regex=rf"^{api}/repos/acme/[^/]+/contents/").mock(side_effect=self.contents)
        if glob.has_magic(source.catalog_path):
            router.get(url__regex=rf"^{api}/repos/acme/[^/]+/git/trees/").mock(side_effect=self.tree)

    def requested(self) -> list[str]:
        return [str(call.request.url).removeprefix(self.api) for call in self.calls]

    def _failure(self, request: httpx.Request) -> httpx.Response | None:
        for index, (path, response, times) in enumerate(self.failures):
            if request.url.path.startswith(path) and times > 0:
                self.failures[index] = (path, response, times - 1)
                return response
        return None

    def _answer(self, request: httpx.Request, tag: str, content: bytes | None, **headers: str) -> httpx.Response:
        if failure := self._failure(request):
            return failure
        if content is None:
            return httpx.Response(404, json={"message": "Not Found", "status": "404"})
        if request.headers.get("if-none-match") == tag:
            return httpx.Response(304, headers={"ETag": tag})  # and no Link header, as GitHub
        return httpx.Response(200, content=content, headers={"ETag": tag, **headers})

    def listing(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["accept"] == "application/vnd.github+json"
        number = int(request.url.params.get("page", "1"))
        start = (number - 1) * self.page_size
        body = list(self.repos.values())[start : start + self.page_size]
        links = {}
        if start + self.page_size < len(self.repos):  # GitHub's links name the organisation by its id
            following = f"{self.api}/organizations/9919/repos?per_page=100&type=all&page={number + 1}"
            links["Link"] = f'<{following}>; rel="next", <{self.api}/organizations/9919/repos?page=99>; rel="last"'
        return self._answer(request, etag(body, weak=True), json.dumps(body).encode(), **links)

    def contents(self, request: httpx.Request) -> httpx.Response:
        match = re.fullmatch(rf"{self.prefix}/repos/acme/([^/]+)/contents/(.+)", request.url.path)
        assert match and request.headers["accept"] == "application/vnd.github.raw+json"
        text = self.files.get((match[1], request.url.params["ref"], match[2]))
        return self._answer(request, etag(text), None if text is None else text.encode())

    def tree(self, request: httpx.Request) -> httpx.Response:
        match = re.fullmatch(rf"{self.prefix}/repos/acme/([^/]+)/git/trees/(.+)", request.url.path)
        assert match and request.url.params["recursive"] == "1"
        paths = sorted(path for repo, branch, path in self.files if (repo, branch) == (match[1], match[2]))
        if not paths:
            return httpx.Response(409, json={"message": "Git Repository is empty.", "status": "409"})
        folders = sorted({path.rsplit("/", 1)[0] for path in paths if "/" in path})
        entries = [{"path": p, "mode": "040000", "type": "tree", "sha": etag(p)[1:41]} for p in folders]
        entries += [{"path": p, "mode": "100644", "type": "blob", "sha": etag(p)[1:41], "size": 90} for p in paths]
        body = {
            "sha": etag(entries)[1:41],
            "url": str(request.url),
            "tree": entries,
            "truncated": match[1] in self.truncated,
        }
        return self._answer(request, etag(body, weak=True), json.dumps(body).encode())


@pytest.fixture
def github() -> FakeGitHub:
    fake = FakeGitHub()
    fake.add("payments", {"catalog-info.yaml": component("payments")}, topics=["backstage"])
    fake.add("ledger", {"catalog-info.yaml": component("ledger")}, visibility="private")
    fake.add("website", {"index.html": "<html></html>"})  # no catalogue file: read, and nothing comes of it
    return fake


def refs(engine: Engine) -> dict[str, str]:
    """Each entity of the source, with the location of the file that provides it."""
    with engine.connect() as connection:
        query = sa.select(ENTITIES.c.ref, ENTITIES.c.location).where(ENTITIES.c.source == SOURCE.name)
        return dict(sorted(connection.execute(query).all()))


def owners(engine: Engine) -> dict[str, str | None]:
    with engine.connect() as connection:
        return dict(connection.execute(sa.select(ENTITIES.c.name, ENTITIES.c.owner_ref)).all())


def errors(engine: Engine, severity: str = ERROR) -> list[tuple[str, str]]:
    """The source's errors (or warnings), by location."""
    with engine.connect() as connection:
        query = sa.select(PROCESSING_ERRORS.c.location, PROCESSING_ERRORS.c.message)
        query = query.where(PROCESSING_ERRORS.c.source == SOURCE.name, PROCESSING_ERRORS.c.severity == severity)
        return sorted(connection.execute(query).all())


def blob(repo: str, path: str = "catalog-info.yaml", branch: str = "main", host: str = "github.com") -> str:
    return f"url:https://{host}/acme/{repo}/blob/{branch}/{path}"


def test_every_listing_page_is_followed(engine: Engine, refresh: Refresh, github: FakeGitHub) -> None:
    github.add("fx", {"catalog-info.yaml": component("fx")})
    github.add("risk", {"catalog-info.yaml": component("risk")})  # five repositories: three pages of two
    outcome = github.run(refresh)
    assert outcome.status == OK, outcome.error
    assert (outcome.summary.added, outcome.summary.errors) == (4, 0)  # the website has no catalogue file
    assert refs(engine) == {f"component:default/{name}": blob(name) for name in ("fx", "ledger", "payments", "risk")}
    listings = [url for url in github.requested() if "/contents/" not in url]
    assert listings == [
        "/orgs/acme/repos?per_page=100&type=all",
        "/organizations/9919/repos?per_page=100&type=all&page=2",
        "/organizations/9919/repos?per_page=100&type=all&page=3",
    ]
    assert "/repos/acme/website/contents/catalog-info.yaml?ref=main" in github.requested()[3:]


def test_filters_and_branch(engine: Engine, refresh: Refresh) -> None:
    github = FakeGitHub()
    for name, topics, visibility in [
        ("svc-a", ["backstage"], "private"),
        ("svc-b", ["backstage", "deprecated"], "private"),  # an excluded topic
        ("svc-c", [], "internal"),  # no included topic
        ("lib-d", ["backstage"], "internal"),  # the name does not match
        ("svc-e", ["backstage"], "public"),  # a visibility not chosen
        ("svc-f", ["platform"], "internal"),
    ]:
        github.add(name, {"catalog-info.yaml": component(name)}, "develop", topics=topics, visibility=visibility)
    github.add("svc-g", {"catalog-info.yaml": component("svc-g")}, "develop", topics=["backstage"], archived=True)
    filters = GitHubFilters(repository="svc-.*", visibility=("private", "internal"), branch="develop")
    filters = replace(filters, topics_include=("backstage", "platform"), topics_exclude=("deprecated",))
    outcome = github.run(refresh, replace(SOURCE, filters=filters))
    assert outcome.status == OK, outcome.error
    assert list(refs(engine).items()) == [
        ("component:default/svc-a", blob("svc-a", branch="develop")),
        ("component:default/svc-f", blob("svc-f", branch="develop")),
    ]
    archived = GitHubFilters(repository="svc-g", allow_archived=True, branch="develop")
    assert github.run(refresh, replace(SOURCE, filters=archived)).status == OK
    assert list(refs(engine)) == ["component:default/svc-g"]


def test_an_unchanged_organisation_answers_304_and_writes_nothing(
    engine: Engine, refresh: Refresh, github: FakeGitHub, statements: StatementCounter
) -> None:
    github.repos.pop("website")
    github.add("fx", {"catalog-info.yaml": component("fx")})
    assert github.run(refresh).summary.added == 3
    statements.reset()
    outcome = github.run(refresh)
    s = outcome.summary
    assert outcome.status == OK and (s.added, s.updated, s.unchanged, s.removed, s.errors) == (0, 0, 3, 0, 0)
    assert len(github.calls) == 5 and all(call.request.headers.get("if-none-match") for call in github.calls)
    assert {call.response.status_code for call in github.calls} == {304}
    assert (outcome.counts.requests, outcome.counts.not_modified) == (5, 5)
    assert statements.writes_except("source_status") == []  # not even the ETag cache is rewritten


def test_changed_dropped_and_archived_repositories(engine: Engine, refresh: Refresh, github: FakeGitHub) -> None:
    github.add("fx", {"catalog-info.yaml": component("fx")})
    github.run(refresh)
    github.write("payments", component("payments", owner="team-b"))
    outcome = github.run(refresh)
    assert (outcome.summary.updated, outcome.summary.unchanged) == (1, 2)
    assert owners(engine) == {"payments": "group:default/team-b", "ledger": TEAM_A, "fx": TEAM_A}
    github.repos.pop("ledger")
    github.repos["fx"]["archived"] = True
    outcome = github.run(refresh)
    assert (outcome.summary.removed, outcome.summary.unchanged) == (2, 1)
    assert list(refs(engine)) == ["component:default/payments"]


def test_a_rate_limit_waits_for_its_reset(engine: Engine, refresh: Refresh, github: FakeGitHub, waits: Waits) -> None:
    limited = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 5)}
    body = {"message": "API rate limit exceeded for installation ID 1.", "documentation_url": "https://docs.github.com"}
    github.fail("/orgs/acme/repos", httpx.Response(403, json=body, headers=limited), times=1)
    outcome = github.run(refresh)
    assert outcome.status == OK and len(refs(engine)) == 2 and outcome.counts.rate_limited == 1
    assert len(waits) == 1 and 1.0 < waits[0] <= 6.0  # until the reset (5 s on the wall clock), and a second to spare


def test_a_long_rate_limit_on_a_file_stops_the_whole_refresh(
    engine: Engine, refresh: Refresh, github: FakeGitHub, waits: Waits
) -> None:
    github.run(refresh)
    github.write("payments", component("payments", owner="team-b"))
    github.fail("/repos/acme/payments/contents/", httpx.Response(429, headers={"Retry-After": "3600"}))
    outcome = github.run(refresh, all_called=False)
    assert outcome.status == FAILED and "rate limited (429)" in (outcome.error or "") and waits == []
    assert owners(engine)["payments"] == TEAM_A  # nothing half-written


def test_a_refused_token(engine: Engine, refresh: Refresh, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_GITHUB_TOKEN", "ghp_expired")
    source = replace(SOURCE, token_env="ACME_GITHUB_TOKEN")
    assert github.run(refresh, source).status == OK
    github.fail("/orgs/acme/repos", httpx.Response(401, json={"message": "Bad credentials", "status": "401"}))
    outcome = github.run(refresh, source, all_called=False)
    assert outcome.status == FAILED and len(github.calls) == 1  # not retried
    assert "401" in (outcome.error or "") and "$ACME_GITHUB_TOKEN" in (outcome.error or "")
    assert github.calls[0].request.headers["authorization"] == "Bearer ghp_expired"
    assert list(refs(engine)) == ["component:default/ledger", "component:default/payments"]


def test_listing_500s_fail_the_refresh(engine: Engine, refresh: Refresh, github: FakeGitHub, waits: Waits) -> None:
    github.run(refresh)
    github.fail("/orgs/acme/repos", httpx.Response(500, json={"message": "Server Error"}))
    outcome = github.run(refresh, all_called=False)
    assert outcome.status == FAILED and "500 after 4 attempts" in (outcome.error or "")
    assert waits == [0.5, 1.0, 2.0]
    assert list(refs(engine)) == ["component:default/ledger", "component:default/payments"]
    with engine.connect() as connection:
        (state,) = source_states(connection, (SOURCE,), utc_now())
    assert state.status == FAILED and state.entity_count == 2 and "500" in (state.last_error or "")


def test_an_unreadable_file_keeps_its_entities(engine: Engine, refresh: Refresh, github: FakeGitHub) -> None:
    github.run(refresh)
    github.write("payments", component("payments", owner="team-b"))
    github.write("ledger", component("ledger", owner="team-b"))
    github.fail("/repos/acme/payments/contents/", httpx.Response(502, text="Bad Gateway"))
    outcome = github.run(refresh)
    assert outcome.status == OK and outcome.summary.errors == 1
    assert owners(engine) == {"payments": TEAM_A, "ledger": "group:default/team-b"}
    ((where, message),) = errors(engine)
    assert where == blob("payments") and "502 after 4 attempts" in message


def test_a_push_refreshes_only_its_repository(engine: Engine, refresh: Refresh, github: FakeGitHub) -> None:
    github.add("old", {"catalog-info.yaml": component("old")}, archived=True)
    github.run(refresh, replace(SOURCE, filters=GitHubFilters(allow_archived=True)))
    github.write("payments", component("payments", owner="team-b"))
    github.write("ledger", component("ledger", owner="team-b"))
    outcome = github.run(refresh, repository="acme/payments")
    assert outcome.status == OK and (outcome.summary.updated, outcome.summary.unchanged) == (1, 2)
    read = [url for url in github.requested() if "/contents/" in url]
    assert read == ["/repos/acme/payments/contents/catalog-info.yaml?ref=main"] and len(github.calls) == 3
    assert [call.response.status_code for call in github.calls[:2]] == [304, 304]  # still listed, conditionally
    assert owners(engine) == {"payments": "group:default/team-b", "ledger": TEAM_A, "old": TEAM_A}
    for repository in ("other-org/ledger", "acme/no-such-repo"):
        outcome = github.run(refresh, all_called=False, repository=repository)
        assert not any("/contents/" in url for url in github.requested())
        assert outcome.status == OK and outcome.summary.unchanged == 3 and len(refs(engine)) == 3
    outcome = github.run(refresh, all_called=False, repository="acme/old")  # not admitted now: its entities go
    assert (outcome.summary.removed, outcome.summary.unchanged) == (1, 2) and len(refs(engine)) == 2


def test_a_push_reads_again_its_files_that_other_repositories_lead_to(
    engine: Engine, refresh: Refresh, github: FakeGitHub
) -> None:
    github.add("catalog", {"catalog-info.yaml": location(blob("payments", "extra.yaml").removeprefix("url:"))})
    github.files["payments", "main", "extra.yaml"] = component("extra")
    github.run(refresh)
    assert "component:default/extra" in refs(engine)
    github.files["payments", "main", "extra.yaml"] = component("extra", owner="team-b")
    outcome = github.run(refresh, all_called=False, repository="acme/payments")
    assert outcome.status == OK and outcome.summary.removed == 0
    assert owners(engine)["extra"] == "group:default/team-b"  # read again, not dropped as unreached


def test_glob_paths_read_trees(engine: Engine, refresh: Refresh, statements: StatementCounter) -> None:
    github = FakeGitHub()
    files = {"catalog-info.yaml": "monorepo", "services/ledger/catalog-info.yaml": "ledger"}
    files |= {"services/fx/rates/catalog-info.yaml": "rates", "docs/catalog-info.yml": "not-matched"}
    github.add("monorepo", {path: component(name) for path, name in files.items()} | {"README.md": "# monorepo"})
    github.add("empty", {})  # GitHub answers 409 for the tree of a repository without a commit
    github.truncated.add("monorepo")  # its files are still read, and a warning says some may be missing
    outcome = github.run(refresh, GLOB)
    assert outcome.status == OK and outcome.summary.errors == 0, outcome.error
    too_large = [where for where, message in errors(engine, WARNING) if "too large for GitHub to list" in message]
    assert too_large == ["url:https://github.com/acme/monorepo/tree/main"]
    assert refs(engine) == {
        "component:default/ledger": blob("monorepo", "services/ledger/catalog-info.yaml"),
        "component:default/monorepo": blob("monorepo"),
        "component:default/rates": blob("monorepo", "services/fx/rates/catalog-info.yaml"),
    }
    statements.reset()
    again = github.run(refresh, GLOB)
    answers = {(call.request.url.path, call.response.status_code) for call in github.calls}
    conditional = {(call.request.url.path, 304) for call in github.calls if "if-none-match" in call.request.headers}
    assert (again.summary.unchanged, again.counts.requests) == (3, 6)
    assert answers - conditional == {("/repos/acme/empty/git/trees/main", 409)}
    assert statements.writes_except("source_status") == [] and again.summary.warnings == outcome.summary.warnings
    outcome = github.run(refresh, replace(SOURCE, catalog_path="/services/*/catalog-info.yaml"))
    assert list(refs(engine)) == ["component:default/ledger"] and outcome.summary.removed == 2


def test_an_unlistable_tree_keeps_its_entities(engine: Engine, refresh: Refresh, github: FakeGitHub) -> None:
    github.write("ledger", component("fx"), "services/fx/catalog-info.yaml")
    github.run(refresh, GLOB)
    github.fail("/repos/acme/ledger/git/trees/", httpx.Response(503, json={"message": "Unavailable"}), times=4)
    github.write("payments", component("payments", owner="team-b"))
    outcome = github.run(refresh, GLOB)
    assert outcome.status == OK and outcome.summary.unchanged == 2
    assert owners(engine)["payments"] == "group:default/team-b" and len(refs(engine)) == 3
    ((where, message),) = errors(engine)
    assert where == "url:https://github.com/acme/ledger/tree/main" and "503 after 4 attempts" in message
    assert github.run(refresh, GLOB).status == OK and errors(engine) == []  # listed again: the error goes


def test_github_enterprise_host(engine: Engine, refresh: Refresh) -> None:
    github = FakeGitHub("https://github.acme.example/api/v3")
    github.add("payments", {"catalog-info.yaml": component("payments")}, branch="release/2024")
    source = replace(SOURCE, host="github.acme.example", filters=GitHubFilters(branch="release/2024"))
    outcome = github.run(refresh, source)
    assert outcome.status == OK, outcome.error
    url = blob("payments", branch="release/2024", host="github.acme.example")
    assert refs(engine) == {"component:default/payments": url}
    assert github.requested()[1] == "/repos/acme/payments/contents/catalog-info.yaml?ref=release%2F2024"
    assert str(github.calls[0].request.url).startswith("https://github.acme.example/api/v3/orgs/acme/repos?")


def test_relative_targets_and_placeholders(engine: Engine, refresh: Refresh, github: FakeGitHub) -> None:
    api = "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: payments-api\nspec:\n  type: openapi\n"
    api += "  lifecycle: production\n  owner: team-a\n  definition:\n    $text: ./openapi.yaml\n"
    github.write("payments", location("./other.yaml", "apis/payments-api.yaml"))
    github.write("payments", component("payments"), "other.yaml")
    github.write("payments", api, "apis/payments-api.yaml")
    github.write("payments", "openapi: 3.0.0\n", "apis/openapi.yaml")
    outcome = github.run(refresh)
    assert outcome.status == OK and outcome.summary.errors == 0, errors(engine)
    assert refs(engine)["component:default/payments"] == blob("payments", "other.yaml")
    assert refs(engine)["api:default/payments-api"] == blob("payments", "apis/payments-api.yaml")
    assert "/repos/acme/payments/contents/apis/openapi.yaml?ref=main" in github.requested()
    with engine.connect() as connection:
        body = connection.execute(sa.select(ENTITIES.c.body).where(ENTITIES.c.name == "payments-api")).scalar_one()
    assert json.loads(body)["spec"]["definition"] == "openapi: 3.0.0\n"


def test_targets_outside_the_organisation_are_refused(engine: Engine, refresh: Refresh, github: FakeGitHub) -> None:
    refused = {
        "https://github.com/other-org/tools/blob/main/catalog-info.yaml": "outside the organisation acme",
        "../../../../other-org/tools/blob/main/catalog-info.yaml": "outside the organisation acme",
        "https://gitlab.com/acme/payments/blob/main/catalog-info.yaml": "not on https://github.com",
        "http://github.com/acme/ledger/blob/main/catalog-info.yaml": "not on https://github.com",
        "https://github.com/acme/ledger/tree/main/docs": "not a file's blob URL",
    }
    github.write("payments", location(*refused))
    outcome = github.run(refresh)
    assert outcome.status == OK and outcome.summary.errors == 5
    assert not any("other-org" in url or "/docs" in url for url in github.requested())
    messages = [message for where, message in errors(engine) if where == blob("payments")]
    for target, reason in refused.items():
        assert any(f'"{target}" is {reason}' in message for message in messages), messages
