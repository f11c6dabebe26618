"""Benchmark: refreshing remote sources whose upstream did not change, against a local fake upstream.

    python bench/refresh.py [--entities 50000] [--repositories 1000] [--database-url URL]

Starts one HTTP server on 127.0.0.1 that plays two upstreams:
- a Backstage catalogue (`/api/catalog/entities/by-query`, cursor pages of 500, the shapes the real
  backend returns) serving `--entities` generated entities;
- a GitHub organisation (`/api/v3/orgs/bench/repos`, pages of 100 with Link headers, and
  `/api/v3/repos/bench/<repo>/contents/catalog-info.yaml`) of `--repositories` repositories, one
  descriptor each, answering If-None-Match with 304 as GitHub does.
Each source is refreshed twice into a fresh database (SQLite in a temporary folder by default):
the first load, then the refresh with nothing changed upstream. For each it prints the seconds,
the requests the upstream served (and how many were 304s), and the rows written to the catalogue
(INSERT/UPDATE/DELETE row counts, the source's status row excepted). The GitHub source is reached
through its `host` and `apiBaseUrl` settings, as a GitHub Enterprise server would be, over plain HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from catalog.database import create_engine, migrate  # noqa: E402
from catalog.processing import Reading  # noqa: E402
from catalog.sources.definitions import BackstageSource, GitHubSource, Schedule, Source  # noqa: E402
from catalog.sources.refresh import RefreshOutcome, refresh_in_thread  # noqa: E402

PAGE = 500
REPOS_PER_PAGE = 100


def backstage_entity(index: int) -> dict[str, Any]:
    """An entity as the Backstage peer serves its generated catalogue (uid, etag, relations)."""
    kind, spec = (
        "Component",
        {"type": "service", "lifecycle": "production", "owner": f"group:default/team-{index % 300:03d}"},
    )
    if index % 10 == 0:
        kind, spec = (
            "API",
            {
                "type": "openapi",
                "lifecycle": "production",
                "owner": f"group:default/team-{index % 300:03d}",
                "definition": "openapi: 3.0.0",
            },
        )
    name = f"entity-{index:06d}"
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": f"00000000-0000-4000-8000-{index:012d}",
            "etag": hashlib.sha1(name.encode()).hexdigest(),
            "annotations": {
                "backstage.io/managed-by-location": f"url:https://github.com/bench/{name}/blob/main/catalog-info.yaml"
            },
            "tags": ["python", "bench"],
        },
        "spec": spec,
        "relations": [{"type": "ownedBy", "targetRef": spec["owner"]}],
    }


class FakeUpstream:
    """The pages and files both fake upstreams serve, prepared once, and the requests they answered."""

    def __init__(self, entities: int, repositories: int) -> None:
        items = [backstage_entity(index) for index in range(entities)]
        self.pages = [orjson.dumps({"items": [], "totalItems": 0, "pageInfo": {}})] if not entities else []
        for start in range(0, entities, PAGE):
            cursor = str(start + PAGE) if start + PAGE < entities else None
            page = {
                "items": items[start : start + PAGE],
                "totalItems": entities,
                "pageInfo": {"nextCursor": cursor} if cursor else {},
            }
            self.pages.append(orjson.dumps(page))
        self.repositories = [f"repo-{index:04d}" for index in range(repositories)]
        self.files = {
            name: (
                "apiVersion: backstage.io/v1alpha1\nkind: Component\n"
                f"metadata:\n  name: {name}\n  annotations:\n    github.com/project-slug: bench/{name}\n"
                f"spec:\n  type: service\n  lifecycle: production\n  owner: team-{index % 50:02d}\n"
            ).encode()
            for index, name in enumerate(self.repositories)
        }
        self.requests: Counter[str] = Counter()
        self.lock = threading.Lock()

    def count(self, what: str) -> None:
        with self.lock:
            self.requests[what] += 1


def handler(upstream: FakeUpstream, port_holder: list[int]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: object) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if parts.path == "/api/catalog/entities/by-query":
                start = int(query.get("cursor", ["0"])[0])
                self._send(200, upstream.pages[start // PAGE], "backstage page")
            elif parts.path == "/api/v3/orgs/bench/repos":
                self._listing(int(query.get("page", ["1"])[0]))
            elif parts.path.startswith("/api/v3/repos/bench/") and parts.path.endswith("/contents/catalog-info.yaml"):
                name = parts.path.split("/")[5]
                self._send(200, upstream.files[name], "github file", etagged=True)
            else:
                self._send(404, b'{"message": "Not Found"}', "not found")

        def _listing(self, page: int) -> None:
            names = upstream.repositories[(page - 1) * REPOS_PER_PAGE : page * REPOS_PER_PAGE]
            repos = [
                {
                    "name": name,
                    "full_name": f"bench/{name}",
                    "default_branch": "main",
                    "topics": [],
                    "visibility": "public",
                    "archived": False,
                    "private": False,
                }
                for name in names
            ]
            headers = {}
            if page * REPOS_PER_PAGE < len(upstream.repositories):
                base = f"http://127.0.0.1:{port_holder[0]}/api/v3/orgs/bench/repos?per_page=100&type=all"
                headers["Link"] = f'<{base}&page={page + 1}>; rel="next"'
            self._send(200, orjson.dumps(repos), "github listing", etagged=True, headers=headers)

        def _send(
            self, status: int, body: bytes, what: str, etagged: bool = False, headers: dict[str, str] | None = None
        ) -> None:
            etag = f'"{hashlib.blake2b(body, digest_size=8).hexdigest()}"'
            if etagged and self.headers.get("If-None-Match") == etag:
                upstream.count(what + " 304")
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            upstream.count(what)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if etagged:
                self.send_header("ETag", etag)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler


class RowWrites:
    """Rows the refresh inserted, updated or deleted, by table (the source status row left out)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.rows: Counter[str] = Counter()
        sa.event.listen(engine, "after_cursor_execute", self._record)

    def _record(self, _conn: object, cursor: Any, statement: str, *_args: object) -> None:
        words = statement.split()
        verb = words[0].upper()
        if verb not in ("INSERT", "UPDATE", "DELETE") or cursor.rowcount <= 0:
            return
        table = words[2] if verb in ("INSERT", "DELETE") else words[1]
        if table != "source_status":
            self.rows[table] += cursor.rowcount


async def refresh(engine: sa.Engine, source: Source, cache: str) -> tuple[RefreshOutcome, float]:
    async with httpx.AsyncClient(timeout=30) as client:
        started = time.perf_counter()
        outcome = await refresh_in_thread(engine, source, client, reading=Reading(), cache_dir=cache)
        return outcome, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=50_000)
    parser.add_argument("--repositories", type=int, default=1000)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    args = parser.parse_args()
    upstream = FakeUpstream(args.entities, args.repositories)
    port: list[int] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(upstream, port))
    port.append(server.server_address[1])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"127.0.0.1:{port[0]}"
    sources: list[Source] = [
        BackstageSource(name="backstage", base_url=f"http://{host}", schedule=Schedule(frequency=None, timeout=3600)),
        GitHubSource(
            name="github",
            organization="bench",
            host=host,
            api_base_url=f"http://{host}/api/v3",
            schedule=Schedule(frequency=None, timeout=3600),
        ),
    ]
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(args.database_url or f"sqlite:///{folder}/bench.db")
        migrate(engine)
        writes = RowWrites(engine)
        try:
            for source in sources:
                for attempt in ("first load", "unchanged upstream"):
                    upstream.requests.clear()
                    writes.rows.clear()
                    outcome, seconds = asyncio.run(refresh(engine, source, folder))
                    served = dict(sorted(upstream.requests.items()))
                    s, c = outcome.summary, outcome.counts
                    print(
                        f"{source.name:9} {attempt:18} {outcome.status:6} {seconds:6.2f}s  "
                        f"requests {c.requests} ({c.not_modified} answered 304) served {served}  "
                        f"entities +{s.added} ~{s.updated} ={s.unchanged} -{s.removed}  "
                        f"row writes {sum(writes.rows.values())} {dict(writes.rows)}"
                    )
                    if outcome.error:
                        print(f"  error: {outcome.error}")
        finally:
            engine.dispose()
            server.shutdown()
            server.server_close()


if __name__ == "__main__":
    main()
