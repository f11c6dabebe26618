"""Every repository of a GitHub organisation as a source, through the REST API.

The organisation's repositories are listed page by page, filtered, and each admitted repository's
catalogue file (or, for a glob, every file its tree matches) is read through the contents API under
the blob URL Backstage records for it. Every request carries the ETag of its last answer, so an
unchanged organisation costs one 304 per listing page and per file.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx
import orjson

from catalog.locations import glob_regex
from catalog.processing import LOCATION, UNREADABLE_FILE, WARNING, FileResult, Problem
from catalog.sources.definitions import GitHubSource
from catalog.sources.refresh import RefreshContext
from catalog.sources.remote import RemoteFiles, read_remote
from catalog.sources.upstream import UpstreamError, validator

RAW = {"Accept": "application/vnd.github.raw+json"}  # a file's bytes, not its JSON description
MAX_PAGES = 10_000  # a Link chain that never ends is an upstream bug; stop rather than spin
EMPTY_REPOSITORY = 409  # what the trees API answers for a repository without a commit


@dataclass(frozen=True, slots=True)
class Repository:
    """What the listing says of one repository: all that filtering and reading it needs."""

    name: str
    default_branch: str
    topics: tuple[str, ...]
    visibility: str
    archived: bool


def read_github(source: GitHubSource, context: RefreshContext) -> None:
    """Read the catalogue files of every repository of the organisation that the filters admit."""
    github = GitHub(source)
    listed = list_repositories(github, context)
    admits = source.filters.admits
    admitted = [repo for repo in listed if admits(repo.name, list(repo.topics), repo.visibility, repo.archived)]
    wanted = _scope(source, context.repository)
    if context.repository is not None:
        admitted = [repo for repo in admitted if repo.name.lower() == wanted]
    branches = {repo.name.lower(): github.branch(repo) for repo in listed}
    roots, notes = _catalogue_files(github, context, admitted)
    if wanted is not None and admitted:
        # Files of the repository reached from elsewhere (another repository's Location) are read again
        # too: the push may have changed them, and what is not read in a push-scoped refresh is kept.
        roots += [path for path in context.writer.stored_files() if github.repository_of(path) == wanted]
        roots = list(dict.fromkeys(roots))
    files = RemoteFiles(
        guard=github.guard,
        origin=f"url:https://{source.host}/{source.organization}",
        request_url=lambda url: github.contents_url(url, branches),
        headers=RAW,
        roots_required=False,
    )
    read_remote(context, roots, files)
    for note in notes:
        context.writer.apply(note)
    unread = {github.repository_of(note.path) for note in notes if not note.content_hash}
    if unread:
        # A tree that could not be listed says nothing of its files: they keep what they provided.
        context.keep_files(lambda path: github.repository_of(path) in unread)
    if context.repository is not None:
        context.keep_all_but(lambda path: wanted is not None and github.repository_of(path) == wanted)


def _scope(source: GitHubSource, repository: str | None) -> str | None:
    """The one repository (lower-case) a refresh for "owner/name" reads; None when it is not this organisation's."""
    if repository is None:
        return None
    owner, _slash, name = repository.lower().partition("/")
    return name if owner == source.organization.lower() and name else None


class GitHub:
    """The URLs of one source's organisation: its API, its blob URLs, and which of them it may read."""

    def __init__(self, source: GitHubSource) -> None:
        self.source = source
        self.api = source.api_url()
        self.host = source.host.lower()
        self.org = source.organization

    def branch(self, repo: Repository) -> str:
        """The branch read in a repository: the filters' one, else the repository's default."""
        return self.source.filters.branch or repo.default_branch

    def blob_url(self, repo: str, branch: str, path: str) -> str:
        """The URL Backstage records for a file: https://host/org/repo/blob/branch/path."""
        return f"https://{self.source.host}/{self.org}/{repo}/blob/{quote(branch, safe='/')}/{quote(path, safe='/')}"

    def tree_page(self, repo: Repository) -> str:
        """The repository's web page at its branch: where problems of the repository as a whole are kept."""
        return f"https://{self.source.host}/{self.org}/{repo.name}/tree/{quote(self.branch(repo), safe='/')}"

    def tree_url(self, repo: str, branch: str) -> str:
        """The trees API URL listing every file of the branch."""
        return f"{self.api}/repos/{self.org}/{repo}/git/trees/{quote(branch, safe='')}?recursive=1"

    def guard(self, url: str) -> str | None:
        """Only blob URLs of this organisation on this host may be read."""
        parts = urlsplit(url)
        segments = parts.path.split("/")[1:]
        where = f"https://{self.source.host}/{self.org}/<repository>/blob/<branch>/<path>"
        if parts.scheme != "https" or parts.netloc.lower() != self.host:
            return f"is not on https://{self.source.host}; a GitHub source reads only {where}"
        if not segments or segments[0].lower() != self.org.lower():
            return f"is outside the organisation {self.org}; a GitHub source reads only {where}"
        if len(segments) < 5 or segments[2] != "blob" or not all(segments[1:]):
            return f"is not a file's blob URL; a GitHub source reads only {where}"
        if any(unquote(segment) in (".", "..") or "/" in unquote(segment) for segment in segments):
            return f"has a '.', '..' or encoded '/' segment; a GitHub source reads only {where}"
        return None

    def repository_of(self, url: str) -> str | None:
        """The repository (lower-case) a URL of this organisation on this host names, else None."""
        parts = urlsplit(url)
        segments = parts.path.split("/")
        if parts.netloc.lower() != self.host or len(segments) < 3 or segments[1].lower() != self.org.lower():
            return None
        return segments[2].lower() or None

    def contents_url(self, url: str, branches: dict[str, str]) -> str:
        """The contents API URL that reads a blob URL the guard admitted."""
        _empty, _org, repo, _blob, rest = urlsplit(url).path.split("/", 4)
        branch = quote(branches.get(repo.lower(), ""), safe="/")
        if branch and rest.startswith(branch + "/"):
            path = rest[len(branch) + 1 :]
        else:  # another repository, or another branch: its first segment is the ref
            branch, _slash, path = rest.partition("/")
        return f"{self.api}/repos/{self.org}/{repo}/contents/{path}?ref={quote(unquote(branch), safe='')}"

    def same_api(self, url: str) -> bool:
        """Whether a URL upstream handed us (a Link) is on the API this source's token is meant for."""
        return url.startswith(self.api + "/")


def list_repositories(github: GitHub, context: RefreshContext) -> list[Repository]:
    """Every repository of the organisation, page by page along the Link headers, each page conditional."""
    url: str | None = f"{github.api}/orgs/{github.org}/repos?per_page=100&type=all"
    repositories: list[Repository] = []
    seen: set[str] = set()
    while url is not None:
        if url in seen or len(seen) >= MAX_PAGES:
            raise UpstreamError(f"{url}: the repository listing does not end; stopping")
        seen.add(url)
        cached = context.cache.body(url)
        response = context.upstream.fetch(url, etag=context.cache.etag(url) if cached is not None else None)
        if response.status_code == 304 and cached is not None:
            context.cache.keep(url)
            page = orjson.loads(cached)
        else:
            page = {"repos": _repositories(response), "next": response.links.get("next", {}).get("url")}
            context.cache.remember(url, validator(response), orjson.dumps(page).decode())
        repositories += [
            Repository(item["name"], item["branch"], tuple(item["topics"]), item["visibility"], item["archived"])
            for item in page["repos"]
        ]
        url = page["next"]
        if url is not None and not github.same_api(url):
            raise UpstreamError(f"the repository listing's next page {url} is not on {github.api}; stopping")
    return repositories


def _repositories(response: httpx.Response) -> list[dict[str, object]]:
    """The compact form of one listing page: what the cache keeps of it."""
    try:
        items = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        items = None
    if not isinstance(items, list) or not all(isinstance(item, dict) and "name" in item for item in items):
        raise UpstreamError(f"{response.request.url}: the answer is not a list of repositories; is this GitHub's API?")
    return [
        {
            "name": item["name"],
            "branch": item.get("default_branch") or "main",
            "topics": list(item.get("topics") or []),
            "visibility": item.get("visibility") or ("private" if item.get("private") else "public"),
            "archived": bool(item.get("archived")),
        }
        for item in items
    ]


def _catalogue_files(
    github: GitHub, context: RefreshContext, repositories: Sequence[Repository]
) -> tuple[list[str], list[FileResult]]:
    """The blob URLs to read, and the problems of repositories whose files could not all be listed
    (each under the repository's page; an empty hash where none could be listed)."""
    path = github.source.catalog_path.lstrip("/")
    if not glob.has_magic(path):
        return [github.blob_url(repo.name, github.branch(repo), path) for repo in repositories], []
    matches = glob_regex(path).fullmatch
    urls = [github.tree_url(repo.name, github.branch(repo)) for repo in repositories]
    cache = context.cache
    # A cached list of paths answers a 304 only if it was matched against the same pattern.
    etags = [cache.etag(url) if _tree(cache.body(url), path) is not None else None for url in urls]
    answers = context.upstream.fetch_all(list(zip(urls, etags, strict=True)), accept_404=True)
    roots: list[str] = []
    notes: list[FileResult] = []
    for repo, url, answer in zip(repositories, urls, answers, strict=True):
        where = f"{github.org}/{repo.name}"
        if isinstance(answer, UpstreamError):
            if answer.status == EMPTY_REPOSITORY:
                cache.remember(url, None)
            else:
                problem = Problem(f"Could not list the files of {where}: {answer.message}", UNREADABLE_FILE)
                notes.append(FileResult(github.tree_page(repo), "", problems=[problem]))
            continue
        if answer.status_code == 404:  # no such branch: no catalogue file either
            cache.remember(url, None)
            continue
        if answer.status_code == 304:
            cache.keep(url)
            tree = _tree(cache.body(url), path)
            assert tree is not None  # an ETag is only sent with a tree cached for this pattern
        else:
            tree = _matching(answer, path, matches)
            cache.remember(url, validator(answer), orjson.dumps(tree).decode())
        roots += [github.blob_url(repo.name, github.branch(repo), file) for file in tree["paths"]]
        if tree["truncated"]:
            message = f"The tree of {where} is too large for GitHub to list whole; some of its files were not read"
            # A hash, unlike a failure's empty one: the same warning next time writes nothing.
            result = FileResult(
                github.tree_page(repo), "truncated", problems=[Problem(message, LOCATION, severity=WARNING)]
            )
            notes.append(result)
    return roots, notes


def _tree(body: str | None, pattern: str) -> dict[str, Any] | None:
    """A cached tree listing, when it was matched against `pattern`."""
    tree = orjson.loads(body) if body else None
    return tree if isinstance(tree, dict) and tree.get("pattern") == pattern else None


def _matching(response: httpx.Response, pattern: str, matches: Callable[[str], object]) -> dict[str, Any]:
    """The compact form of a tree listing: the files that match, and whether GitHub cut the list short."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("tree"), list):
        raise UpstreamError(f"{response.request.url}: the answer has no 'tree' list; is this the GitHub API?")
    paths = sorted(
        entry["path"]
        for entry in body["tree"]
        if isinstance(entry, dict) and entry.get("type") == "blob" and matches(str(entry.get("path")))
    )
    return {"pattern": pattern, "paths": paths, "truncated": bool(body.get("truncated"))}
