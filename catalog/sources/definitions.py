"""The catalogue sources `stairway.yaml` configures: where each reads, and on what schedule."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import urlsplit

DEFAULT_FREQUENCY = 30 * 60.0
DEFAULT_TIMEOUT = 10 * 60.0
DEFAULT_JITTER = 0.1  # each run starts up to this share of the frequency early or late


@dataclass(frozen=True)
class Schedule:
    """When a source refreshes on its own (never when `frequency` is None), and for how long at most."""

    frequency: float | None = DEFAULT_FREQUENCY  # seconds
    timeout: float = DEFAULT_TIMEOUT
    jitter: float = DEFAULT_JITTER


@dataclass(frozen=True)
class FileSource:
    """Descriptor files, folders or globs on this machine."""

    type: ClassVar[str] = "file"
    name: str
    paths: tuple[str, ...]
    schedule: Schedule = field(default_factory=Schedule)


@dataclass(frozen=True)
class GitSource:
    """A git repository, fetched shallowly with the `git` CLI; `paths` are globs inside it."""

    type: ClassVar[str] = "git"
    name: str
    url: str
    branch: str | None = None  # the remote's default branch
    paths: tuple[str, ...] = ("**/catalog-info.yaml",)
    token_env: str | None = None
    schedule: Schedule = field(default_factory=Schedule)


@dataclass(frozen=True)
class UrlSource:
    """A descriptor or Location file over http(s); its targets may only reach `allowed_hosts`."""

    type: ClassVar[str] = "url"
    name: str
    url: str
    allowed_hosts: tuple[str, ...] = ()  # besides the URL's own host
    token_env: str | None = None
    schedule: Schedule = field(default_factory=Schedule)

    def hosts(self) -> tuple[str, ...]:
        """Every host this source may read from."""
        return (host_of(self.url), *self.allowed_hosts)


@dataclass(frozen=True)
class GitHubFilters:
    """Which repositories of an organisation are read."""

    repository: str | None = None  # a regular expression the whole name must match
    topics_include: tuple[str, ...] = ()  # a repository needs one of these, when any are given
    topics_exclude: tuple[str, ...] = ()
    visibility: tuple[str, ...] = ()  # public, private, internal; all when empty
    allow_archived: bool = False
    branch: str | None = None  # each repository's default branch when None

    def admits(self, name: str, topics: list[str], visibility: str, archived: bool) -> bool:
        """Whether a repository with these properties is read."""
        if archived and not self.allow_archived:
            return False
        if self.repository is not None and not re.fullmatch(self.repository, name):
            return False
        if self.topics_include and not set(self.topics_include) & set(topics):
            return False
        if set(self.topics_exclude) & set(topics):
            return False
        return not self.visibility or visibility in self.visibility


@dataclass(frozen=True)
class GitHubSource:
    """Every repository of a GitHub organisation, read through the REST API."""

    type: ClassVar[str] = "github"
    name: str
    organization: str
    catalog_path: str = "/catalog-info.yaml"  # a path or a glob inside each repository
    host: str = "github.com"
    token_env: str | None = None
    filters: GitHubFilters = field(default_factory=GitHubFilters)
    api_base_url: str | None = None  # when the API is not where GitHub (or GitHub Enterprise) puts it
    schedule: Schedule = field(default_factory=Schedule)

    def api_url(self) -> str:
        """The REST API's base: api.github.com, or /api/v3 on a GitHub Enterprise host, unless configured."""
        if self.api_base_url:
            return self.api_base_url.rstrip("/")
        return "https://api.github.com" if self.host == "github.com" else f"https://{self.host}/api/v3"


@dataclass(frozen=True)
class BackstageSource:
    """A running Backstage catalogue, read through its entities API."""

    type: ClassVar[str] = "backstage"
    name: str
    base_url: str
    token_env: str | None = None
    filters: tuple[str, ...] = ()  # `filter` parameters, e.g. "kind=component,spec.lifecycle=production"
    page_size: int = 500
    schedule: Schedule = field(default_factory=Schedule)


Source = FileSource | GitSource | UrlSource | GitHubSource | BackstageSource
SOURCE_TYPES: dict[str, type[Source]] = {
    kind.type: kind for kind in (FileSource, GitSource, UrlSource, GitHubSource, BackstageSource)
}


class MissingSecret(ValueError):
    """A source names an environment variable for its secret that is not set."""


def secret(env: str | None, source: str) -> str | None:
    """The value of the environment variable a source names for its secret (None when it names none)."""
    if env is None:
        return None
    value = os.environ.get(env)
    if not value:
        raise MissingSecret(f"source {source!r}: the environment variable {env} holds no token")
    return value


def request_headers(source: Source) -> dict[str, str]:
    """The headers every request of this source sends, but its credential: what its API asks for."""
    if source.type == "github":
        return {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    return {}


def auth_host(source: Source) -> str | None:
    """The one host the source's token may go to: its API, its catalogue, its URL's own (not `allowedHosts`)."""
    if isinstance(source, GitHubSource):
        return host_of(source.api_url())
    if isinstance(source, BackstageSource):
        return host_of(source.base_url)
    if isinstance(source, UrlSource):
        return host_of(source.url)
    return None  # git: the token goes to git, through its environment


def credential(env: str | None) -> str:
    """How a source's credential is configured, for messages."""
    return f"the token in ${env}" if env else "an anonymous request (no tokenEnv configured)"


def host_of(url: str) -> str:
    """The host (and port) of a URL, lower-cased."""
    return urlsplit(url).netloc.lower()
