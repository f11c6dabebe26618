"""`POST /webhooks/github`: a push to a repository refreshes only the sources that read a catalogue file
it changed. Authenticated by its HMAC signature alone (`X-Hub-Signature-256`, the configured secret)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
import sqlalchemy as sa
from fastapi import BackgroundTasks, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from catalog.locations import glob_regex
from catalog.sources.definitions import GitHubSource, GitSource, Source
from catalog.sources.git import clone_folder
from catalog.sources.github import GitHub
from catalog.tables import SOURCE_FILES, utc_now
from service.config import Config
from service.github_deployments import record_deployment_status
from service.request_body import BodyTooLarge, read_body
from service.rest_errors import problem
from service.rest_models import WebhookAnswer, problems

MAX_WEBHOOK_BYTES = 25 * 1024 * 1024  # GitHub caps a delivery's payload at 25 MB
LISTED_COMMITS = 20  # the most commits a push event lists


@dataclass(frozen=True)
class Push:
    """What a push event says: which repository, which branch, which files changed."""

    host: str
    owner: str
    name: str
    branch: str | None  # None for a tag
    default_branch: str | None
    paths: frozenset[str]
    clone_urls: frozenset[str]
    whole: bool = False  # the paths may not be all that changed: a forced push, a new branch, a long push

    @property
    def full_name(self) -> str:
        """owner/name."""
        return f"{self.owner}/{self.name}"


def signature_is_valid(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `X-Hub-Signature-256` is the HMAC SHA-256 of the body under the secret (compared in constant time)."""
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


def parse_push(event: Any) -> Push | None:
    """The push, or None when the payload is not one Stairway can act on."""
    if not isinstance(event, dict) or not isinstance(event.get("repository"), dict):
        return None
    repository = event["repository"]
    owner = repository.get("owner") or {}
    owner_name = owner.get("login") or owner.get("name") if isinstance(owner, dict) else None
    if not isinstance(owner_name, str) or not isinstance(repository.get("name"), str):
        return None
    ref = event.get("ref")
    branch = ref.removeprefix("refs/heads/") if isinstance(ref, str) and ref.startswith("refs/heads/") else None
    paths: set[str] = set()
    commits = event.get("commits") or []
    # GitHub lists at most 20 commits, and a forced push or a new branch says little of what changed.
    whole = bool(event.get("forced") or event.get("created") or len(commits) >= LISTED_COMMITS)
    for commit in [*commits, event.get("head_commit") or {}]:
        if isinstance(commit, dict):
            for key in ("added", "modified", "removed"):
                paths.update(path for path in commit.get(key) or [] if isinstance(path, str))
    urls = {repository.get(key) for key in ("clone_url", "ssh_url", "git_url", "html_url", "url")}
    html = repository.get("html_url")
    return Push(
        host=urlsplit(html).netloc.lower() if isinstance(html, str) else "github.com",
        owner=owner_name,
        name=repository["name"],
        branch=branch,
        default_branch=repository.get("default_branch"),
        paths=frozenset(paths),
        clone_urls=frozenset(_repository_key(url) for url in urls if isinstance(url, str)),
        whole=whole,
    )


def sources_to_refresh(engine: Engine, config: Config, push: Push) -> list[tuple[Source, str | None]]:
    """(source, the repository to refresh alone, or None for all of it) for each source that reads a
    file the push changed: one its paths select, or one it read before (a Location's target)."""
    chosen: list[tuple[Source, str | None]] = []
    for source in config.sources:
        if isinstance(source, GitHubSource) and _github_changed(engine, source, push):
            chosen.append((source, push.full_name))
        elif isinstance(source, GitSource) and _git_changed(engine, config, source, push):
            chosen.append((source, None))
    return chosen


def _github_changed(engine: Engine, source: GitHubSource, push: Push) -> bool:
    if source.host != push.host or source.organization.lower() != push.owner.lower():
        return False
    branch = source.filters.branch or push.default_branch
    if push.branch is None or push.branch != branch:
        return False
    pattern = source.catalog_path.lstrip("/")
    if push.whole or any(glob_regex(pattern).fullmatch(path) for path in push.paths):
        return True
    github = GitHub(source)  # the blob URLs the source keeps its files under
    return _read_before(engine, source.name, {github.blob_url(push.name, push.branch, path) for path in push.paths})


def _git_changed(engine: Engine, config: Config, source: GitSource, push: Push) -> bool:
    if _repository_key(source.url) not in push.clone_urls or push.branch is None:
        return False
    if push.branch != (source.branch or push.default_branch):
        return False
    if push.whole or any(
        glob_regex(pattern.lstrip("/")).fullmatch(path) for path in push.paths for pattern in source.paths
    ):
        return True
    folder = clone_folder(config.cache_dir, source)
    return _read_before(engine, source.name, {os.path.join(folder, path) for path in push.paths})


def _read_before(engine: Engine, source: str, paths: set[str]) -> bool:
    """Whether the source read any of these files (paths or URLs) last time."""
    wanted = sorted(paths)
    with engine.connect() as connection:
        for start in range(0, len(wanted), 500):
            query = sa.select(SOURCE_FILES.c.path).where(
                SOURCE_FILES.c.source == source, SOURCE_FILES.c.path.in_(wanted[start : start + 500])
            )
            if connection.execute(query.limit(1)).first() is not None:
                return True
    return False


def _repository_key(url: str) -> str:
    """host/owner/name of a repository URL in any of GitHub's forms (https, ssh, git, API), lower-cased."""
    text = url.strip().lower().removesuffix("/").removesuffix(".git")
    if text.startswith("git@"):
        host, _colon, path = text[4:].partition(":")
        return f"{host}/{path}"
    parts = urlsplit(text)
    path = parts.path.removeprefix("/repos/") if parts.netloc.startswith("api.") else parts.path.lstrip("/")
    host = "github.com" if parts.netloc == "api.github.com" else parts.netloc.split("@")[-1]
    return f"{host}/{path}"


def add_webhook_routes(app: FastAPI, config: Config) -> None:
    """Register `POST /webhooks/github`."""

    @app.post(
        "/webhooks/github",
        status_code=202,
        tags=["webhooks"],
        response_model=WebhookAnswer,
        responses={
            200: {"model": WebhookAnswer, "description": "A ping, or an event that refreshes nothing."},
            **problems(
                {
                    400: "A push whose body is not JSON or names no repository.",
                    401: "The X-Hub-Signature-256 header is missing or does not match the body.",
                    404: "No GitHub webhook is configured.",
                    413: "The body is over the size limit.",
                    503: "The webhook's secret is not set in the environment.",
                }
            ),
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "A GitHub webhook delivery (push and ping are read), signed with the shared secret.",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "parameters": [
                {"name": name, "in": "header", "required": required, "schema": {"type": "string"}, "description": text}
                for name, required, text in (
                    ("X-Hub-Signature-256", True, "sha256=HEX: HMAC-SHA256 of the body under the shared secret."),
                    ("X-GitHub-Event", True, "The event: push, ping, ..."),
                )
            ],
        },
    )
    async def github_webhook(request: Request, background: BackgroundTasks) -> JSONResponse:
        """A GitHub webhook delivery: `push` refreshes what it changed, `deployment_status` records a finished
        deployment of the components whose project-slug names the repository, `ping` answers, others are ignored."""
        env = config.github_webhook_secret_env
        if env is None:
            return problem(404, "no GitHub webhook is configured (webhooks.github.secretEnv in stairway.yaml)")
        secret = os.environ.get(env)
        if not secret:
            return problem(503, f"the GitHub webhook's secret is not set (environment variable {env})")
        try:
            body = await read_body(request, MAX_WEBHOOK_BYTES)
        except BodyTooLarge as error:
            return problem(413, error.message)
        if not signature_is_valid(secret, body, request.headers.get("x-hub-signature-256")):
            return JSONResponse(
                {"error": "missing or wrong X-Hub-Signature-256: the delivery is not from the configured webhook"},
                status_code=401,
            )
        event = request.headers.get("x-github-event", "")
        if event == "ping":
            return JSONResponse({"event": "ping", "refreshing": []}, status_code=200)
        if event not in ("push", "deployment_status"):
            ignored = "only push events refresh, and deployment_status events record deployments"
            return JSONResponse({"event": event, "refreshing": [], "reason": ignored}, 200)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            return problem(400, f"malformed JSON: {error}")
        engine: Engine = request.app.state.engine
        if event == "deployment_status":
            scorecards, profile = request.app.state.scorecards, config.dora_profile
            answer = await asyncio.to_thread(record_deployment_status, engine, payload, utc_now(), scorecards, profile)
            return JSONResponse(answer, 202 if answer.get("deployments") else 200)
        push = parse_push(payload)
        if push is None:
            return problem(400, "a push event needs repository.name and repository.owner")
        chosen = await asyncio.to_thread(sources_to_refresh, engine, config, push)
        refresher = request.app.state.refresher
        for source, repository in chosen:
            background.add_task(refresher.refresh, source.name, repository)
        names = [source.name for source, _repository in chosen]
        reason = {} if names else {"reason": "no configured source reads a catalogue file this push changed"}
        return JSONResponse({"event": "push", "repository": push.full_name, "refreshing": names, **reason}, 202)
