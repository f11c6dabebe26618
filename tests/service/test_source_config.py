"""The `sources` section of stairway.yaml: every source type as a user writes it, and clear errors."""

from __future__ import annotations

import pytest

from catalog.sources.definitions import (
    BackstageSource,
    FileSource,
    GitHubFilters,
    GitHubSource,
    GitSource,
    Schedule,
    UrlSource,
)
from service.config import ConfigError, load_config, parse_config
from tests.conftest import REPO


def sources(*entries: dict[str, object]) -> tuple[object, ...]:
    return parse_config({"sources": list(entries)}).sources


def test_every_source_type_as_the_readme_writes_it() -> None:
    config = parse_config(
        {
            "cacheDir": "/var/cache/stairway",
            "webhooks": {"github": {"secretEnv": "GITHUB_WEBHOOK_SECRET"}},
            "sources": [
                {"name": "local", "type": "file", "paths": ["examples/catalog"], "schedule": {"frequency": "5m"}},
                {
                    "name": "platform-monorepo",
                    "type": "git",
                    "url": "https://gitlab.example.com/platform/monorepo.git",
                    "branch": "main",
                    "tokenEnv": "GITLAB_TOKEN",
                    "schedule": {"frequency": "15m", "timeout": "PT5M"},
                },
                {
                    "name": "shared-apis",
                    "type": "url",
                    "url": "https://raw.example.com/a.yaml",
                    "allowedHosts": ["Apis.Example"],
                },
                {
                    "name": "acme-github",
                    "type": "github",
                    "organization": "acme",
                    "catalogPath": "/**/catalog-info.yaml",
                    "tokenEnv": "GITHUB_TOKEN",
                    "filters": {
                        "repository": "svc-.*",
                        "topics": {"include": ["backstage"], "exclude": ["experimental"]},
                        "visibility": ["public", "internal"],
                        "allowArchived": True,
                        "branch": "main",
                    },
                    "schedule": {"frequency": {"minutes": 30}, "timeout": 600, "jitter": 0.2},
                },
                {
                    "name": "portal",
                    "type": "backstage",
                    "baseUrl": "https://backstage.acme.example",
                    "tokenEnv": "BACKSTAGE_TOKEN",
                    "filter": "kind=component",
                    "schedule": {"frequency": "manual"},
                },
            ],
        }
    )
    assert config.cache_dir == "/var/cache/stairway" and config.github_webhook_secret_env == "GITHUB_WEBHOOK_SECRET"
    assert config.sources == (
        FileSource("local", ("examples/catalog",), Schedule(frequency=300.0)),
        GitSource(
            "platform-monorepo",
            "https://gitlab.example.com/platform/monorepo.git",
            branch="main",
            token_env="GITLAB_TOKEN",
            schedule=Schedule(frequency=900.0, timeout=300.0),
        ),
        UrlSource("shared-apis", "https://raw.example.com/a.yaml", allowed_hosts=("apis.example",)),
        GitHubSource(
            "acme-github",
            "acme",
            catalog_path="/**/catalog-info.yaml",
            token_env="GITHUB_TOKEN",
            filters=GitHubFilters("svc-.*", ("backstage",), ("experimental",), ("public", "internal"), True, "main"),
            schedule=Schedule(frequency=1800.0, timeout=600.0, jitter=0.2),
        ),
        BackstageSource(
            "portal",
            "https://backstage.acme.example",
            token_env="BACKSTAGE_TOKEN",
            filters=("kind=component",),
            schedule=Schedule(frequency=None),
        ),
    )
    assert config.source("portal") is config.sources[-1] and config.source("nope") is None


def test_the_example_configuration_reads_the_example_catalogue_every_minute() -> None:
    config = load_config(str(REPO / "examples" / "stairway.yaml"))
    assert config.sources == (FileSource("local", ("examples/catalog",), Schedule(frequency=60.0)),)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"type": "file", "paths": ["x"]}, "sources[0].name must be 1-63 lower-case letters"),
        ({"name": "x", "type": "svn"}, "sources.x.type must be one of file, git, url, github, backstage"),
        ({"name": "x", "type": "github", "organization": "a", "token": "ghp_secret"}, "never write a secret here"),
        ({"name": "x", "type": "git", "url": "u", "tokenEnv": "not a name"}, "sources.x.tokenEnv must be the name"),
        ({"name": "x", "type": "file"}, "sources.x.paths must name at least one"),
        ({"name": "x", "type": "file", "paths": ["a"], "url": "u"}, "sources.x: unknown key 'url'"),
        ({"name": "x", "type": "url", "url": "file:///etc/passwd"}, "sources.x.url must be an http(s) URL"),
        (
            {"name": "x", "type": "git", "url": "https://bot:ghp_x@github.com/a/b.git"},
            "never write credentials in a URL",
        ),
        ({"name": "x", "type": "backstage", "baseUrl": "https://user@b.example"}, "never write credentials in a URL"),
        ({"name": "x", "type": "backstage", "baseUrl": "http://b", "pageSize": 0}, "pageSize must be a whole number"),
        ({"name": "x", "type": "github"}, "sources.x.organization is required"),
        (
            {"name": "x", "type": "github", "organization": "a", "filters": {"visibility": ["secret"]}},
            "'secret' is not",
        ),
        (
            {"name": "x", "type": "github", "organization": "a", "filters": {"repository": "("}},
            "not a regular expression",
        ),
        (
            {"name": "x", "type": "file", "paths": ["a"], "schedule": {"frequency": "soon"}},
            "frequency must be a duration",
        ),
        ({"name": "x", "type": "file", "paths": ["a"], "schedule": {"timeout": 0}}, "timeout must be a duration"),
        ({"name": "x", "type": "file", "paths": ["a"], "schedule": {"jitter": 2}}, "jitter must be a share"),
    ],
)
def test_what_cannot_be_used_is_named(entry: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=None) as raised:
        sources(entry)
    assert message in str(raised.value)


def test_names_are_unique() -> None:
    with pytest.raises(ConfigError, match="the name 'a' is used twice"):
        sources({"name": "a", "type": "file", "paths": ["x"]}, {"name": "a", "type": "file", "paths": ["y"]})
