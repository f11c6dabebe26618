"""The `sources` section of `stairway.yaml`: one entry per catalogue source, each with its schedule.

Secrets are named by environment variable (`tokenEnv`), never written inline: a `token` key is an
error that says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from catalog.sources.definitions import (
    DEFAULT_FREQUENCY,
    DEFAULT_JITTER,
    DEFAULT_TIMEOUT,
    SOURCE_TYPES,
    BackstageSource,
    FileSource,
    GitHubFilters,
    GitHubSource,
    GitSource,
    Schedule,
    Source,
    UrlSource,
)
from service.config_values import ConfigError, mapping, strings

NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
ISO_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?", re.IGNORECASE)
COMMON_KEYS = ("name", "type", "schedule")
KEYS = {
    "file": ("paths",),
    "git": ("url", "branch", "paths", "tokenEnv"),
    "url": ("url", "allowedHosts", "tokenEnv"),
    "github": ("organization", "catalogPath", "host", "apiBaseUrl", "tokenEnv", "filters"),
    "backstage": ("baseUrl", "tokenEnv", "filter", "pageSize"),
}


def parse_sources(value: object) -> tuple[Source, ...]:
    """Every configured source, in order; names must be unique."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError("sources must be a list of sources, each with a name and a type")
    sources: list[Source] = []
    for index, item in enumerate(value):
        source = _source(item, f"sources[{index}]")
        if any(other.name == source.name for other in sources):
            raise ConfigError(f"sources[{index}]: the name {source.name!r} is used twice")
        sources.append(source)
    return tuple(sources)


def _source(item: object, where: str) -> Source:
    entry = mapping(item, where, None)
    name = entry.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ConfigError(f"{where}.name must be 1-63 lower-case letters, digits, '.', '_' or '-'")
    where = f"sources.{name}"
    kind = entry.get("type")
    if kind not in SOURCE_TYPES:
        raise ConfigError(f"{where}.type must be one of {', '.join(SOURCE_TYPES)}")
    if "token" in entry:
        raise ConfigError(
            f"{where}.token: never write a secret here; put it in an environment variable and name it in tokenEnv"
        )
    entry = mapping(entry, where, (*COMMON_KEYS, *KEYS[kind]))
    schedule = _schedule(entry.get("schedule"), f"{where}.schedule")
    token_env = env_name(entry.get("tokenEnv"), f"{where}.tokenEnv")
    if kind == "file":
        paths = strings(entry.get("paths"), f"{where}.paths")
        if not paths:
            raise ConfigError(f"{where}.paths must name at least one file, folder or glob")
        return FileSource(name=name, paths=paths, schedule=schedule)
    if kind == "git":
        url = _without_secrets(_text(entry.get("url"), f"{where}.url"), f"{where}.url")
        return GitSource(
            name=name,
            url=url,
            branch=_optional_text(entry.get("branch"), f"{where}.branch"),
            paths=strings(entry.get("paths"), f"{where}.paths") or GitSource.paths,
            token_env=token_env,
            schedule=schedule,
        )
    if kind == "url":
        return UrlSource(
            name=name,
            url=_http_url(entry.get("url"), f"{where}.url"),
            allowed_hosts=tuple(host.lower() for host in strings(entry.get("allowedHosts"), f"{where}.allowedHosts")),
            token_env=token_env,
            schedule=schedule,
        )
    if kind == "github":
        host = _optional_text(entry.get("host"), f"{where}.host") or "github.com"
        return GitHubSource(
            name=name,
            organization=_text(entry.get("organization"), f"{where}.organization"),
            catalog_path=_optional_text(entry.get("catalogPath"), f"{where}.catalogPath") or "/catalog-info.yaml",
            host=host.lower(),
            token_env=token_env,
            filters=_github_filters(entry.get("filters"), f"{where}.filters"),
            api_base_url=_http_url(entry["apiBaseUrl"], f"{where}.apiBaseUrl") if "apiBaseUrl" in entry else None,
            schedule=schedule,
        )
    page_size = entry.get("pageSize", 500)
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 10_000:
        raise ConfigError(f"{where}.pageSize must be a whole number from 1 to 10000")
    return BackstageSource(
        name=name,
        base_url=_http_url(entry.get("baseUrl"), f"{where}.baseUrl"),
        token_env=token_env,
        filters=strings(entry.get("filter"), f"{where}.filter"),
        page_size=page_size,
        schedule=schedule,
    )


def _github_filters(value: object, where: str) -> GitHubFilters:
    section = mapping(value, where, ("repository", "topics", "visibility", "allowArchived", "branch"))
    repository = _optional_text(section.get("repository"), f"{where}.repository")
    if repository is not None:
        try:
            re.compile(repository)
        except re.error as error:
            raise ConfigError(f"{where}.repository is not a regular expression: {error}") from None
    topics = mapping(section.get("topics"), f"{where}.topics", ("include", "exclude"))
    visibility = strings(section.get("visibility"), f"{where}.visibility")
    unknown = [item for item in visibility if item not in ("public", "private", "internal")]
    if unknown:
        raise ConfigError(f"{where}.visibility: {unknown[0]!r} is not public, private or internal")
    archived = section.get("allowArchived", False)
    if not isinstance(archived, bool):
        raise ConfigError(f"{where}.allowArchived must be true or false")
    return GitHubFilters(
        repository=repository,
        topics_include=strings(topics.get("include"), f"{where}.topics.include"),
        topics_exclude=strings(topics.get("exclude"), f"{where}.topics.exclude"),
        visibility=visibility,
        allow_archived=archived,
        branch=_optional_text(section.get("branch"), f"{where}.branch"),
    )


def _schedule(value: object, where: str) -> Schedule:
    section = mapping(value, where, ("frequency", "timeout", "jitter"))
    frequency_value = section.get("frequency", DEFAULT_FREQUENCY)
    frequency = None if frequency_value == "manual" else duration(frequency_value, f"{where}.frequency")
    jitter = section.get("jitter", DEFAULT_JITTER)
    if isinstance(jitter, bool) or not isinstance(jitter, int | float) or not 0 <= jitter <= 0.5:
        raise ConfigError(f"{where}.jitter must be a share of the frequency from 0 to 0.5")
    return Schedule(
        frequency=frequency,
        timeout=duration(section.get("timeout", DEFAULT_TIMEOUT), f"{where}.timeout"),
        jitter=float(jitter),
    )


def duration(value: object, where: str) -> float:
    """Seconds from `90`, `"30s"`, `"5m"`, `"2h"`, `"1d"`, ISO 8601 (`PT5M`) or `{minutes: 5}`."""
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?[smhd]", value.strip()):
        text = value.strip()
        seconds = float(text[:-1]) * UNITS[text[-1]]
    elif isinstance(value, str) and (match := ISO_DURATION.fullmatch(value.strip())) and any(match.groups()):
        days, hours, minutes, secs = (float(group or 0) for group in match.groups())
        seconds = days * 86400 + hours * 3600 + minutes * 60 + secs
    elif isinstance(value, Mapping):
        parts = mapping(value, where, ("days", "hours", "minutes", "seconds"))
        if parts and all(isinstance(v, int | float) and not isinstance(v, bool) for v in parts.values()):
            factors = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}
            seconds = float(sum(parts[key] * factors[key] for key in parts))
    if seconds is None or not 1 <= seconds <= 366 * 86400:
        raise ConfigError(
            f"{where} must be a duration from 1 second to a year: seconds, '30s', '5m', '2h', '1d', "
            "'PT5M' or {minutes: 5}" + (" (or 'manual')" if where.endswith("frequency") else "")
        )
    return seconds


def env_name(value: object, where: str) -> str | None:
    """The name of the environment variable that holds a secret, checked; None when not given."""
    if value is None:
        return None
    if not isinstance(value, str) or not ENV_NAME.fullmatch(value):
        raise ConfigError(f"{where} must be the name of an environment variable, e.g. GITHUB_TOKEN")
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where} is required")
    return value.strip()


def _optional_text(value: object, where: str) -> str | None:
    return None if value is None else _text(value, where)


def _http_url(value: object, where: str) -> str:
    url = _without_secrets(_text(value, where), where)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{where} must be an http(s) URL, got {url!r}")
    return url


def _without_secrets(url: str, where: str) -> str:
    """The URL, refused when it carries a password (or, over http(s), any user) the way `token` is refused."""
    parts = urlsplit(url)
    if parts.password is not None or (parts.scheme in ("http", "https") and parts.username is not None):
        raise ConfigError(
            f"{where}: never write credentials in a URL; "
            "put the token in an environment variable and name it in tokenEnv"
        )
    return url
