"""A url source against a real HTTP server on 127.0.0.1 that serves files from a temporary folder
with strong ETags, answers If-None-Match with 304, and can be told to fail, vanish or hang a path."""

from __future__ import annotations

import dataclasses
import email.utils
import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from catalog.processing import (
    ERROR,
    LOCATION,
    MANAGED_BY_LOCATION,
    MANAGED_BY_ORIGIN_LOCATION,
    PLACEHOLDER,
    YAML_ERROR,
    Reading,
)
from catalog.sources.definitions import Schedule, UrlSource
from catalog.sources.status import FAILED, OK, source_states
from catalog.tables import ENTITIES, PROCESSING_ERRORS, utc_now
from tests.catalog.sources.conftest import Refresh, Waits
from tests.conftest import StatementCounter

NAME = "remote"


@dataclass(frozen=True)
class Hit:
    """One request the server answered."""

    path: str
    if_none_match: str | None
    status: int
    authorization: str | None
    host: str | None = None


class Site:
    """What the server serves: files under `root`, and the answers a test forces on some paths."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = 0
        self.hits: list[Hit] = []
        self.forced: dict[str, int] = {}  # path -> status answered instead of the file
        self.hanging: set[str] = set()  # paths whose answer waits for `release`
        self.etags = True  # else Last-Modified dates only, as a plain file server sends
        self.release = threading.Event()
        self._lock = threading.Lock()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        """The address of a path on this server."""
        return f"http://{host}:{self.port}/{path.lstrip('/')}"

    def write(self, path: str, text: str) -> None:
        """Serve `text` at `path` from now on."""
        file = self.root / path.lstrip("/")
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text)

    def remove(self, path: str) -> None:
        """Stop serving `path` (it answers 404)."""
        (self.root / path.lstrip("/")).unlink()

    def requests(self, path: str | None = None) -> list[Hit]:
        """The requests answered so far, for one path or all."""
        with self._lock:
            return [hit for hit in self.hits if path is None or hit.path == "/" + path.lstrip("/")]

    def forget(self) -> None:
        """Start counting requests afresh."""
        with self._lock:
            self.hits.clear()

    def record(self, hit: Hit) -> None:
        """Note a request answered (from a server thread)."""
        with self._lock:
            self.hits.append(hit)


def etag_of(content: bytes) -> str:
    """A strong ETag: a hash of the bytes served."""
    return '"' + hashlib.sha256(content).hexdigest()[:20] + '"'


class Handler(BaseHTTPRequestHandler):
    """Serves the site's files; `server.site` says what to force."""

    server: SiteServer

    def do_GET(self) -> None:
        site = self.server.site
        path = urlsplit(self.path).path
        asked = self.headers.get("If-None-Match")
        authorization = self.headers.get("Authorization")
        host = self.headers.get("Host")
        if path in site.hanging:
            site.release.wait()  # until the test ends: the client gives up first
        status = site.forced.get(path)
        file = site.root / path.lstrip("/")
        if status is None and not file.is_file():
            status = 404
        if status is not None:
            site.record(Hit(path, asked, status, authorization, host))
            self._answer(status, b"" if status == 304 else f"forced {status}".encode())
            return
        content = file.read_bytes()
        if not site.etags:
            self._by_date(site, path, file, content, authorization, host)
            return
        etag = etag_of(content)
        if asked == etag:
            site.record(Hit(path, asked, 304, authorization, host))
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        site.record(Hit(path, asked, 200, authorization, host))
        self._answer(200, content, etag)

    def _by_date(
        self, site: Site, path: str, file: Path, content: bytes, authorization: str | None, host: str | None
    ) -> None:
        modified = email.utils.formatdate(int(file.stat().st_mtime), usegmt=True)
        asked = self.headers.get("If-Modified-Since")
        if asked == modified:
            site.record(Hit(path, asked, 304, authorization, host))
            self.send_response(304)
            self.end_headers()
            return
        site.record(Hit(path, asked, 200, authorization, host))
        self.send_response(200)
        self.send_header("Content-Length", str(len(content)))
        self.send_header("Last-Modified", modified)
        self.end_headers()
        self.wfile.write(content)

    def _answer(self, status: int, body: bytes, etag: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/yaml" if status == 200 else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        if etag:
            self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test asserts on `Site.hits` instead."""


class SiteServer(ThreadingHTTPServer):
    """A thread per request, so a hanging path holds up no other."""

    daemon_threads = True

    def __init__(self, site: Site) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.site = site


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """A real HTTP server on 127.0.0.1, serving the files a test writes."""
    (tmp_path / "site").mkdir()
    served = Site(tmp_path / "site")
    server = SiteServer(served)
    served.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), name="test-site", daemon=True)
    thread.start()
    try:
        yield served
    finally:
        served.release.set()  # a hanging handler finishes, so the server can close
        server.shutdown()
        server.server_close()
        thread.join()


def component(name: str, owner: str = "team-a", **metadata: str) -> str:
    """A Component descriptor; `metadata` adds fields as written (flow YAML allowed)."""
    extra = "".join(f"  {key}: {value}\n" for key, value in metadata.items())
    return (
        "apiVersion: backstage.io/v1alpha1\nkind: Component\n"
        f"metadata:\n  name: {name}\n{extra}spec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n"
    )


def location(name: str, *targets: str, optional: bool = False) -> str:
    """A url Location descriptor with these targets."""
    lines = "".join(f"    - {target}\n" for target in targets)
    presence = "  presence: optional\n" if optional else ""
    return (
        "apiVersion: backstage.io/v1alpha1\nkind: Location\n"
        f"metadata:\n  name: {name}\nspec:\n  type: url\n{presence}  targets:\n{lines}"
    )


def source_for(site: Site, path: str = "all.yaml", **options: object) -> UrlSource:
    """The url source that reads `path` on the site, refreshed only when a test says."""
    return UrlSource(name=NAME, url=site.url(path), schedule=Schedule(frequency=None), **options)  # type: ignore[arg-type]


def refs(engine: Engine) -> list[str]:
    """The refs the source holds in the catalogue."""
    with engine.connect() as connection:
        return sorted(connection.execute(sa.select(ENTITIES.c.ref).where(ENTITIES.c.source == NAME)).scalars())


def stored(engine: Engine, ref: str) -> tuple[str, dict[str, object]]:
    """An entity's location column and body."""
    with engine.connect() as connection:
        row = connection.execute(sa.select(ENTITIES.c.location, ENTITIES.c.body).where(ENTITIES.c.ref == ref)).one()
    return row.location, json.loads(row.body)


def errors(engine: Engine) -> list[tuple[str, str, int | None, str]]:
    """The source's processing errors (not warnings, such as unresolved owners): location, code, line, message."""
    table = PROCESSING_ERRORS
    query = sa.select(table.c.location, table.c.code, table.c.line, table.c.message).where(
        table.c.source == NAME, table.c.severity == ERROR
    )
    with engine.connect() as connection:
        return sorted((row.location, row.code, row.line, row.message) for row in connection.execute(query))


@pytest.fixture
def tree(site: Site) -> Site:
    """A root Location with a relative, a parent-relative and an absolute target; team-a nests one more."""
    site.write(
        "org/all.yaml",
        location("root", "./team-a/catalog-info.yaml", "../shared/platform.yaml", site.url("elsewhere/billing.yaml")),
    )
    site.write("org/team-a/catalog-info.yaml", component("payments") + "---\n" + location("team-a", "api/ledger.yaml"))
    site.write("org/team-a/api/ledger.yaml", component("ledger"))
    site.write("shared/platform.yaml", component("platform", owner="team-b"))
    site.write("elsewhere/billing.yaml", component("billing", owner="team-c"))
    return site


TREE_FILES = {
    "component:default/payments": "org/team-a/catalog-info.yaml",
    "location:default/team-a": "org/team-a/catalog-info.yaml",
    "component:default/ledger": "org/team-a/api/ledger.yaml",
    "component:default/platform": "shared/platform.yaml",
    "component:default/billing": "elsewhere/billing.yaml",
    "location:default/root": "org/all.yaml",
}


def test_a_location_tree_is_read_through_relative_and_absolute_targets(
    engine: Engine, refresh: Refresh, tree: Site
) -> None:
    source = source_for(tree, "org/all.yaml")
    outcome = refresh(source)
    assert outcome.status == OK, outcome.error
    assert refs(engine) == sorted(TREE_FILES)
    assert (outcome.summary.added, outcome.summary.errors, outcome.summary.files) == (6, 0, 5)
    for ref, path in TREE_FILES.items():
        where, body = stored(engine, ref)
        annotations = body["metadata"]["annotations"]  # type: ignore[index]
        assert where == annotations[MANAGED_BY_LOCATION] == f"url:{tree.url(path)}", ref
        assert annotations[MANAGED_BY_ORIGIN_LOCATION] == f"url:{source.url}", ref
    assert sorted(hit.path for hit in tree.requests()) == sorted({"/" + path for path in TREE_FILES.values()})
    assert all(hit.if_none_match is None for hit in tree.requests())  # nothing was known before


def test_a_location_that_leads_back_reads_each_file_once(engine: Engine, refresh: Refresh, site: Site) -> None:
    site.write("all.yaml", location("root", "./a.yaml", "all.yaml"))
    site.write("a.yaml", component("a") + "---\n" + location("back", "./all.yaml", site.url("a.yaml")))
    outcome = refresh(source_for(site))
    assert outcome.status == OK, outcome.error
    assert refs(engine) == ["component:default/a", "location:default/back", "location:default/root"]
    assert [hit.path for hit in site.requests()] == ["/all.yaml", "/a.yaml"]


def test_placeholders_are_read_beside_the_remote_descriptor(engine: Engine, refresh: Refresh, site: Site) -> None:
    site.write(
        "svc/catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: ledger-api\n"
        "  description:\n    $text: ./DESCRIPTION.txt\n  labels:\n    $yaml: ../common/labels.yaml\n"
        "  links:\n    $json: ./links.json\n"
        "spec:\n  type: openapi\n  lifecycle: production\n  owner: team-a\n"
        "  definition:\n    $text: ./openapi.yaml\n",
    )
    site.write("svc/DESCRIPTION.txt", "Moves money.")
    site.write("svc/openapi.yaml", "openapi: 3.0.0\ninfo:\n  title: Ledger\n")
    site.write("common/labels.yaml", "tier: gold\n")
    site.write("svc/links.json", '[{"url": "https://runbook.example/ledger", "title": "Runbook"}]')
    outcome = refresh(source_for(site, "svc/catalog-info.yaml"))
    assert outcome.status == OK, outcome.error
    assert errors(engine) == []
    _where, body = stored(engine, "api:default/ledger-api")
    assert body["metadata"]["description"] == "Moves money."  # type: ignore[index]
    assert body["metadata"]["labels"] == {"tier": "gold"}  # type: ignore[index]
    assert body["metadata"]["links"] == [{"url": "https://runbook.example/ledger", "title": "Runbook"}]  # type: ignore[index]
    assert body["spec"]["definition"] == "openapi: 3.0.0\ninfo:\n  title: Ledger\n"  # type: ignore[index]
    assert sorted(hit.path for hit in site.requests()) == [
        "/common/labels.yaml",
        "/svc/DESCRIPTION.txt",
        "/svc/catalog-info.yaml",
        "/svc/links.json",
        "/svc/openapi.yaml",
    ]


def test_a_change_to_a_placeholder_file_alone_is_seen(engine: Engine, refresh: Refresh, site: Site) -> None:
    site.write(
        "catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ledger\n"
        "  description:\n    $text: ./DESCRIPTION.txt\n"
        "spec:\n  type: service\n  lifecycle: production\n  owner: team-a\n",
    )
    site.write("DESCRIPTION.txt", "Moves money.")
    refresh(source_for(site, "catalog-info.yaml"))
    site.write("DESCRIPTION.txt", "Moves money, fast.")  # the descriptor itself is unchanged
    outcome = refresh(source_for(site, "catalog-info.yaml"))
    assert outcome.status == OK and outcome.summary.updated == 1, outcome.error
    _where, body = stored(engine, "component:default/ledger")
    assert body["metadata"]["description"] == "Moves money, fast."  # type: ignore[index]


def test_a_change_to_how_files_are_read_reads_them_anew_despite_their_etags(
    engine: Engine, refresh: Refresh, site: Site
) -> None:
    site.write(
        "catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ledger\n"
        "  annotations:\n    acme.io/template: template:default/python-service\n"
        "spec:\n  type: service\n  lifecycle: production\n  owner: team-a\n",
    )
    source = source_for(site, "catalog-info.yaml")
    refresh(source)
    site.forget()
    outcome = refresh(source, reading=Reading(provenance_keys=("acme.io/template",)))  # goldenPaths.annotations
    assert outcome.status == OK and outcome.summary.updated == 1
    assert [(hit.if_none_match, hit.status) for hit in site.requests()] == [(None, 200)]
    with engine.connect() as connection:
        query = sa.select(ENTITIES.c.template_ref).where(ENTITIES.c.ref == "component:default/ledger")
        assert connection.execute(query).scalar_one() == "template:default/python-service"


def test_a_placeholder_off_the_allowed_hosts_or_missing_is_an_error(
    engine: Engine, refresh: Refresh, site: Site
) -> None:
    site.write(
        "catalog-info.yaml",
        component("a", description="{$text: 'https://evil.example/secret'}")
        + "---\n"
        + component("b", description="{$text: ./missing.txt}")
        + "---\n"
        + component("c"),
    )
    outcome = refresh(source_for(site, "catalog-info.yaml"))
    assert outcome.status == OK, outcome.error
    assert refs(engine) == ["component:default/c"]
    (evil, missing) = errors(engine)
    assert evil[1] == missing[1] == PLACEHOLDER
    assert "'https://evil.example/secret' is on evil.example, which this source may not read" in evil[3]
    assert "'./missing.txt'" in missing[3] and "404" in missing[3]


def test_a_placeholder_file_over_the_size_limit_or_not_utf8_is_an_error(
    engine: Engine, refresh: Refresh, site: Site
) -> None:
    site.write(
        "catalog-info.yaml",
        component("big", description="{$text: ./big.txt}")
        + "---\n"
        + component("binary", description="{$text: ./binary.txt}")
        + "---\n"
        + component("small", description="{$text: ./small.txt}"),
    )
    site.write("big.txt", "x" * 2000)
    (site.root / "binary.txt").write_bytes(b"caf\xe9")
    site.write("small.txt", "Small.")
    outcome = refresh(source_for(site, "catalog-info.yaml"), reading=Reading(max_bytes=1000))
    assert outcome.status == OK, outcome.error
    assert refs(engine) == ["component:default/small"]
    (big, binary) = errors(engine)
    assert big[1] == binary[1] == PLACEHOLDER
    assert big[3].endswith(
        "Placeholder $text could not read './big.txt': File is 2,000 bytes, over the limit of 1,000 bytes"
    )
    assert binary[3].endswith("could not read './binary.txt': File is not valid UTF-8: byte 0xe9 at offset 3")


def test_a_placeholder_that_cannot_be_read_now_keeps_what_its_entity_was(
    engine: Engine, refresh: Refresh, site: Site, waits: Waits
) -> None:
    source = source_for(site, "catalog-info.yaml")
    site.write("catalog-info.yaml", component("a", description="{$text: ./about.txt}") + "---\n" + component("b"))
    site.write("about.txt", "First.")
    refresh(source)
    # The descriptor changes (so it is read again) while its placeholder file fails.
    site.write(
        "catalog-info.yaml",
        component("a", description="{$text: ./about.txt}") + "---\n" + component("b", owner="team-z"),
    )
    site.forced["/about.txt"] = 503
    outcome = refresh(source)
    assert outcome.status == OK, outcome.error
    assert waits == [0.5, 1.0, 2.0]
    assert refs(engine) == ["component:default/a", "component:default/b"]
    assert stored(engine, "component:default/a")[1]["metadata"]["description"] == "First."  # type: ignore[index]
    assert stored(engine, "component:default/b")[1]["spec"]["owner"] == "team-z"  # type: ignore[index]
    ((where, code, line, message),) = errors(engine)
    assert (where, code, line) == (f"url:{source.url}", "unreadable-file", 1)
    assert message.endswith(
        f"Placeholder $text could not read './about.txt': {site.url('about.txt')}: "
        "the upstream answered 503 after 4 attempts"
    )
    # It answers again: the descriptor, unchanged but with an error, is read in full and the entity updated.
    del site.forced["/about.txt"]
    site.write("about.txt", "Second.")
    outcome = refresh(source)
    assert errors(engine) == [] and (outcome.summary.updated, outcome.summary.unchanged) == (1, 1)
    assert stored(engine, "component:default/a")[1]["metadata"]["description"] == "Second."  # type: ignore[index]


def test_nothing_changed_costs_one_304_per_file_and_no_catalogue_writes(
    engine: Engine, refresh: Refresh, tree: Site, statements: StatementCounter
) -> None:
    source = source_for(tree, "org/all.yaml")
    assert refresh(source).summary.added == 6
    tree.forget()
    statements.reset()
    outcome = refresh(source)
    assert outcome.status == OK, outcome.error
    hits = tree.requests()
    assert len(hits) == 5 and all(hit.if_none_match and hit.status == 304 for hit in hits)
    assert (outcome.counts.requests, outcome.counts.not_modified) == (5, 5)
    s = outcome.summary
    assert (s.added, s.updated, s.removed, s.unchanged, s.errors) == (0, 0, 0, 6, 0)
    # Only the source's own status row is written: "refreshing" at the start (for every replica to see),
    # then "ok" with this run's counts. No entity, file, error or ETag row changes.
    assert statements.writes_except("source_status") == []
    assert statements.writes() == ["UPDATE", "UPDATE"]


def test_a_server_without_etags_is_asked_by_date(engine: Engine, refresh: Refresh, site: Site) -> None:
    site.etags = False
    site.write("all.yaml", location("root", "./ok.yaml"))
    site.write("ok.yaml", component("ok"))
    source = source_for(site)
    assert refresh(source).summary.added == 2
    site.forget()
    outcome = refresh(source)
    assert outcome.status == OK and outcome.counts.not_modified == 2 and outcome.summary.unchanged == 2
    assert all(hit.if_none_match and hit.status == 304 for hit in site.requests())  # If-Modified-Since sent


def test_a_changed_file_alone_is_read_again(engine: Engine, refresh: Refresh, tree: Site) -> None:
    source = source_for(tree, "org/all.yaml")
    refresh(source)
    _where, before = stored(engine, "component:default/ledger")
    tree.write("shared/platform.yaml", component("platform", owner="team-z"))
    tree.forget()
    outcome = refresh(source)
    assert outcome.status == OK, outcome.error
    s = outcome.summary
    assert (s.added, s.updated, s.removed, s.unchanged) == (0, 1, 0, 5)
    assert outcome.counts.not_modified == 4
    (changed,) = [hit for hit in tree.requests() if hit.status == 200]
    assert changed.path == "/shared/platform.yaml" and changed.if_none_match is not None
    _where, platform = stored(engine, "component:default/platform")
    assert platform["spec"]["owner"] == "team-z"  # type: ignore[index]
    assert stored(engine, "component:default/ledger")[1] == before
    # The new ETag is what the next refresh asks with: all 304 again.
    tree.forget()
    assert refresh(source).counts.not_modified == 5
    assert all(hit.status == 304 for hit in tree.requests())


def refused_tree(site: Site) -> None:
    """A root whose targets reach another host (localhost), another site and a local file."""
    site.write(
        "all.yaml",
        location(
            "root",
            "./ok.yaml",
            site.url("other.yaml", host="localhost"),
            "https://evil.example/x.yaml",
            "file:///etc/passwd",
        ),
    )
    site.write("ok.yaml", component("ok"))
    site.write("other.yaml", component("other"))


def test_targets_off_the_allowed_hosts_are_refused_and_the_rest_is_read(
    engine: Engine, refresh: Refresh, site: Site
) -> None:
    refused_tree(site)
    outcome = refresh(source_for(site))
    assert outcome.status == OK, outcome.error
    assert refs(engine) == ["component:default/ok", "location:default/root"]
    assert outcome.summary.errors == 3
    problems = errors(engine)
    assert {(where, code) for where, code, _line, _message in problems} == {(f"url:{site.url('all.yaml')}", LOCATION)}
    messages = "\n".join(message for *_rest, message in problems)
    own = f"127.0.0.1:{site.port}"
    assert f"is on localhost:{site.port}, which this source may not read (allowed: {own})" in messages
    assert "is on evil.example, which this source may not read" in messages
    assert '"file:///etc/passwd" is not an http(s) URL' in messages
    assert site.requests("other.yaml") == []


def test_a_target_url_too_long_to_keep_is_refused_and_the_rest_is_read(
    engine: Engine, refresh: Refresh, site: Site
) -> None:
    site.write("all.yaml", location("root", "./ok.yaml", "./" + "x" * 3000 + ".yaml"))
    site.write("ok.yaml", component("ok"))
    outcome = refresh(source_for(site))
    assert outcome.status == OK, outcome.error
    assert refs(engine) == ["component:default/ok", "location:default/root"]
    assert any("is longer than 2048 characters" in message for *_rest, message in errors(engine))


def test_allowed_hosts_admit_another_host(engine: Engine, refresh: Refresh, site: Site) -> None:
    refused_tree(site)
    outcome = refresh(source_for(site, allowed_hosts=(f"LocalHost:{site.port}",)))  # host names ignore case
    assert outcome.status == OK, outcome.error
    assert refs(engine) == ["component:default/ok", "component:default/other", "location:default/root"]
    where, _body = stored(engine, "component:default/other")
    assert where == f"url:{site.url('other.yaml', host='localhost')}"
    messages = [message for *_rest, message in errors(engine)]
    assert len(messages) == 2 and not any("other.yaml" in message for message in messages)


def test_a_source_url_that_is_not_http_is_refused_before_any_request(engine: Engine, refresh: Refresh) -> None:
    outcome = refresh(UrlSource(name=NAME, url="file:///etc/passwd", schedule=Schedule(frequency=None)))
    assert outcome.status == FAILED and outcome.counts.requests == 0
    assert outcome.error == "file:///etc/passwd is not an http(s) URL with a host; check the source's url"
    assert refs(engine) == []


def test_a_root_that_keeps_failing_fails_the_refresh_and_keeps_the_catalogue(
    engine: Engine, refresh: Refresh, tree: Site, waits: Waits
) -> None:
    source = source_for(tree, "org/all.yaml")
    refresh(source)
    tree.forced["/org/all.yaml"] = 500
    tree.forget()
    outcome = refresh(source)
    assert outcome.status == FAILED
    assert f"{source.url}: the upstream answered 500 after 4 attempts" in (outcome.error or "")
    assert waits == [0.5, 1.0, 2.0]
    assert len(tree.requests("org/all.yaml")) == 4 and len(tree.requests()) == 4  # no target was read
    assert refs(engine) == sorted(TREE_FILES)
    with engine.connect() as connection:
        (state,) = source_states(connection, (source,), utc_now())
    assert state.status == FAILED and state.last_success_at is not None and state.entity_count == 6
    assert "500" in (state.last_error or "") and state.summary["added"] == 6  # the last success's counts


def test_a_server_that_cannot_be_reached_fails_after_retries_and_keeps_the_catalogue(
    engine: Engine, refresh: Refresh, tree: Site, waits: Waits
) -> None:
    source = source_for(tree, "org/all.yaml")
    refresh(source)
    with socket.socket() as closed:  # a port nothing listens on once this socket is closed
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    gone = dataclasses.replace(source, url=f"http://127.0.0.1:{port}/org/all.yaml")
    outcome = refresh(gone)
    assert outcome.status == FAILED
    assert "cannot connect" in (outcome.error or "") and "after 4 attempts" in (outcome.error or "")
    assert waits == [0.5, 1.0, 2.0] and outcome.counts.requests == 4
    assert refs(engine) == sorted(TREE_FILES)
    with engine.connect() as connection:
        (state,) = source_states(connection, (gone,), utc_now())
    assert state.status == FAILED and state.last_success_at is not None and state.entity_count == 6


def test_a_missing_root_fails_and_says_404(engine: Engine, refresh: Refresh, tree: Site, waits: Waits) -> None:
    source = source_for(tree, "org/all.yaml")
    refresh(source)
    tree.remove("org/all.yaml")
    outcome = refresh(source)
    assert outcome.status == FAILED
    assert outcome.error == f"{source.url}: 404 Not Found: check the source's url"
    assert waits == [] and len(tree.requests("org/all.yaml")) == 2  # a 404 is not retried
    assert refs(engine) == sorted(TREE_FILES)
    with engine.connect() as connection:
        (state,) = source_states(connection, (source,), utc_now())
    assert state.status == FAILED and state.last_error == outcome.error


def test_a_target_that_is_gone_takes_its_entities_and_is_named(engine: Engine, refresh: Refresh, tree: Site) -> None:
    source = source_for(tree, "org/all.yaml")
    refresh(source)
    tree.remove("org/team-a/catalog-info.yaml")  # with it goes the Location that led to ledger.yaml
    outcome = refresh(source)
    assert outcome.status == OK, outcome.error
    assert outcome.summary.removed == 3
    assert refs(engine) == ["component:default/billing", "component:default/platform", "location:default/root"]
    gone = tree.url("org/team-a/catalog-info.yaml")
    assert errors(engine) == [(f"url:{gone}", LOCATION, None, f"{gone}: no such file (404)")]
    # Back again, it is read again and its error clears.
    tree.write("org/team-a/catalog-info.yaml", component("payments"))
    outcome = refresh(source)
    assert outcome.summary.added == 1 and errors(engine) == []
    assert "component:default/payments" in refs(engine)


def test_a_missing_optional_target_is_no_error(engine: Engine, refresh: Refresh, site: Site) -> None:
    site.write("all.yaml", location("root", "./maybe.yaml", "./there.yaml", optional=True))
    site.write("there.yaml", component("there"))
    outcome = refresh(source_for(site))
    assert outcome.status == OK, outcome.error
    assert refs(engine) == ["component:default/there", "location:default/root"]
    assert errors(engine) == [] and outcome.summary.errors == 0
    assert [hit.status for hit in site.requests("maybe.yaml")] == [404]
    # Once it appears it is read; once it goes again its entity goes, still without an error.
    site.write("maybe.yaml", component("maybe"))
    assert refresh(source_for(site)).summary.added == 1
    site.remove("maybe.yaml")
    outcome = refresh(source_for(site))
    assert outcome.summary.removed == 1 and errors(engine) == []
    assert refs(engine) == ["component:default/there", "location:default/root"]


def test_a_failing_target_keeps_its_entities_until_it_answers_again(
    engine: Engine, refresh: Refresh, tree: Site, waits: Waits
) -> None:
    source = source_for(tree, "org/all.yaml")
    refresh(source)
    tree.forced["/org/team-a/catalog-info.yaml"] = 500
    outcome = refresh(source)
    assert outcome.status == OK, outcome.error
    assert waits == [0.5, 1.0, 2.0]
    s = outcome.summary
    assert (s.added, s.updated, s.removed, s.unchanged, s.errors) == (0, 0, 0, 6, 1)
    assert refs(engine) == sorted(TREE_FILES)  # its own entities and those of its targets stay
    failing = tree.url("org/team-a/catalog-info.yaml")
    ((where, code, _line, message),) = errors(engine)
    assert where == f"url:{failing}" and code == "unreadable-file"
    assert message == f"Could not read {failing}: the upstream answered 500 after 4 attempts"
    # It answers again, and changed meanwhile: read in full (no ETag is sent for a file with errors).
    del tree.forced["/org/team-a/catalog-info.yaml"]
    tree.write("org/team-a/catalog-info.yaml", component("payments", owner="team-z"))
    tree.forget()
    outcome = refresh(source)
    assert outcome.status == OK, outcome.error
    ((hit),) = tree.requests("org/team-a/catalog-info.yaml")
    assert hit.status == 200 and hit.if_none_match is None
    assert errors(engine) == [] and outcome.summary.updated == 1 and outcome.summary.removed == 2
    assert refs(engine) == [
        "component:default/billing",
        "component:default/payments",
        "component:default/platform",
        "location:default/root",
    ]
    assert stored(engine, "component:default/payments")[1]["spec"]["owner"] == "team-z"  # type: ignore[index]


def test_malformed_yaml_is_an_error_with_its_line_and_the_rest_is_kept(
    engine: Engine, refresh: Refresh, tree: Site
) -> None:
    source = source_for(tree, "org/all.yaml")
    refresh(source)
    tree.write("shared/platform.yaml", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: [unclosed\n")
    outcome = refresh(source)
    assert outcome.status == OK, outcome.error
    assert refs(engine) == sorted(TREE_FILES)  # the unreadable file keeps what it provided
    ((where, code, line, message),) = errors(engine)
    assert (where, code) == (f"url:{tree.url('shared/platform.yaml')}", YAML_ERROR)
    # The stream ends on line 4 without the `]` the flow sequence of line 3 needs.
    assert line == 4 and message == "YAML syntax error: while parsing a flow sequence, did not find expected ',' or ']'"
    # Fixed, it is read again.
    tree.write("shared/platform.yaml", component("platform", owner="team-z"))
    outcome = refresh(source)
    assert errors(engine) == [] and outcome.summary.updated == 1


def test_a_304_to_a_request_without_an_etag_is_an_error_for_that_file(
    engine: Engine, refresh: Refresh, site: Site
) -> None:
    site.write("all.yaml", location("root", "./a.yaml", "./b.yaml"))
    site.write("b.yaml", component("b"))
    site.forced["/a.yaml"] = 304  # a misbehaving server or proxy: nothing was asked conditionally
    outcome = refresh(source_for(site))
    assert outcome.status == OK, outcome.error
    assert refs(engine) == ["component:default/b", "location:default/root"]
    a = site.url("a.yaml")
    assert errors(engine) == [
        (
            f"url:{a}",
            "unreadable-file",
            None,
            f"Could not read {a}: the upstream answered 304 Not Modified to a request without an ETag",
        )
    ]


def test_a_malformed_location_file_keeps_what_its_targets_provide(engine: Engine, refresh: Refresh, tree: Site) -> None:
    source = source_for(tree, "org/all.yaml")
    refresh(source)
    # The syntax error comes before the Location document that leads to api/ledger.yaml.
    broken = "kind: Component\nmetadata: [unclosed\n---\n" + location("team-a", "api/ledger.yaml")
    tree.write("org/team-a/catalog-info.yaml", broken)
    tree.write("org/team-a/api/ledger.yaml", component("ledger", owner="team-z"))
    for _attempt in range(2):  # still broken the next time: nothing is lost either
        outcome = refresh(source)
        assert outcome.status == OK, outcome.error
        assert refs(engine) == sorted(TREE_FILES)
        assert stored(engine, "component:default/ledger")[1]["spec"]["owner"] == "team-z"  # type: ignore[index]
        ((where, code, _line, _message),) = errors(engine)
        assert (where, code) == (f"url:{tree.url('org/team-a/catalog-info.yaml')}", YAML_ERROR)


def test_a_first_read_of_malformed_yaml_does_not_stop_the_others(engine: Engine, refresh: Refresh, site: Site) -> None:
    site.write("all.yaml", location("root", "./bad.yaml", "./good.yaml"))
    site.write("bad.yaml", component("fine") + "---\nkind: Component\nmetadata:\n  name: x\n   bad: indent\n")
    site.write("good.yaml", component("good"))
    outcome = refresh(source_for(site))
    assert outcome.status == OK, outcome.error
    assert refs(engine) == ["component:default/fine", "component:default/good", "location:default/root"]
    ((where, code, line, message),) = errors(engine)
    assert (where, code, line) == (f"url:{site.url('bad.yaml')}", YAML_ERROR, 13)
    assert message == "YAML syntax error: mapping values are not allowed in this context"


def test_the_token_is_sent_with_every_request(refresh: Refresh, tree: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATALOG_TOKEN", "s3cret")
    outcome = refresh(source_for(tree, "org/all.yaml", token_env="CATALOG_TOKEN"))
    assert outcome.status == OK, outcome.error
    assert {hit.authorization for hit in tree.requests()} == {"Bearer s3cret"}


def test_the_token_goes_only_to_the_sources_own_host(
    refresh: Refresh, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CATALOG_TOKEN", "s3cret")
    refused_tree(site)
    outcome = refresh(source_for(site, allowed_hosts=(f"localhost:{site.port}",), token_env="CATALOG_TOKEN"))
    assert outcome.status == OK, outcome.error
    sent = {(hit.host, hit.authorization) for hit in site.requests()}
    assert sent == {(f"127.0.0.1:{site.port}", "Bearer s3cret"), (f"localhost:{site.port}", None)}


def test_a_target_that_never_answers_fails_the_refresh_at_its_timeout(
    engine: Engine, refresh: Refresh, tree: Site
) -> None:
    source = source_for(tree, "org/all.yaml")
    refresh(source)
    tree.hanging.add("/shared/platform.yaml")  # answers only when the test ends
    # The whole refresh may take 0.3 s: the hanging request times out, and no retry fits in the rest.
    outcome = refresh(dataclasses.replace(source, schedule=Schedule(frequency=None, timeout=0.3)))
    assert outcome.status == FAILED
    assert "out of time (the source's timeout)" in (outcome.error or "")
    assert refs(engine) == sorted(TREE_FILES)
