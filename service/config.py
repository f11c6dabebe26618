"""`stairway.yaml`: the service's configuration file (path from `--config` or `STAIRWAY_CONFIG`).

Every section is optional and every key has a default; an unknown key is an error (a typo would
otherwise be silently ignored). Secrets are never written here, only the names of environment
variables that hold them.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from catalog.queries import EntityFilter
from catalog.refs import RefError, parse_ref
from catalog.sources.definitions import Source
from scorecards.adoption import AdoptionSettings
from scorecards.dora import DEFAULT_PROFILE, DORA_2024, PROFILES, Profile, parse_profile
from scorecards.golden_paths import GoldenPathSettings
from scorecards.organization import CRITERIA, CRITERION_IDS, PERCENT, MaturitySettings
from service.auth_config import AuthSettings, parse_auth
from service.config_values import ConfigError, mapping, strings
from service.source_config import env_name, parse_sources

CONFIG_ENV = "STAIRWAY_CONFIG"
FILTER_KEYS = ("kind", "namespace", "type", "lifecycle", "owner", "system", "domain", "tag", "search")
LIST_FILTER_KEYS = ("kind", "type", "lifecycle")
CRITERION_UNITS = {criterion.id: criterion.unit for criterion in CRITERIA}
MAX_DAYS = 3660  # ten years: windows reach back from now, and dates before year 1 do not exist


def default_cache_dir() -> str:
    """`STAIRWAY_CACHE_DIR`, else a folder of this user's in the system's temporary folder (writable in a container)."""
    # The user's own folder: a shared temporary folder must not let another user prepare it for us.
    return os.environ.get("STAIRWAY_CACHE_DIR") or os.path.join(tempfile.gettempdir(), f"stairway-cache-{os.getuid()}")


@dataclass(frozen=True)
class Config:
    """Everything `stairway.yaml` configures."""

    golden_paths: GoldenPathSettings = field(default_factory=GoldenPathSettings)
    adoption: AdoptionSettings = field(default_factory=AdoptionSettings)
    maturity: MaturitySettings = field(default_factory=MaturitySettings)
    sources: tuple[Source, ...] = ()
    cache_dir: str = field(default_factory=default_cache_dir)  # where git sources keep their clones
    github_webhook_secret_env: str | None = None  # the variable holding the GitHub webhook's secret
    auth: AuthSettings = field(default_factory=AuthSettings)  # who may call, and what each may do
    introspection: bool = False  # GraphQL schema introspection (graphql.introspection)
    dora_profile: Profile = DORA_2024  # how DORA keys get their bands (dora.profile)

    def source(self, name: str) -> Source | None:
        """The configured source of that name."""
        return next((source for source in self.sources if source.name == name), None)


def config_path(given: str | None = None) -> str | None:
    """The configuration file to read: the one given, else `STAIRWAY_CONFIG`, else none."""
    return given or os.environ.get(CONFIG_ENV) or None


def load_config(path: str | None) -> Config:
    """The configuration in the file at `path` (defaults for everything when None)."""
    if path is None:
        return Config()
    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the configuration file: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    try:
        return parse_config(document if document is not None else {})
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def command_config(given: str | None) -> Config | None:
    """The configuration a command runs with (`--config`, else STAIRWAY_CONFIG), or None after saying
    on stderr why it cannot be used."""
    try:
        return load_config(config_path(given))
    except ConfigError as error:
        print(f"stairway: {error}", file=sys.stderr)
        return None


def parse_config(document: object) -> Config:
    """A Config from a parsed document."""
    root = mapping(
        document,
        "top level",
        (
            "goldenPaths",
            "adoption",
            "organizationMaturity",
            "sources",
            "cacheDir",
            "webhooks",
            "auth",
            "graphql",
            "dora",
        ),
    )
    graphql = mapping(root.get("graphql"), "graphql", ("introspection",))
    introspection = graphql.get("introspection", False)
    if not isinstance(introspection, bool):
        raise ConfigError("graphql.introspection must be true or false")
    webhooks = mapping(root.get("webhooks"), "webhooks", ("github",))
    github_hook = mapping(webhooks.get("github"), "webhooks.github", ("secretEnv",))
    cache_dir = root.get("cacheDir")
    if cache_dir is not None and (not isinstance(cache_dir, str) or not cache_dir):
        raise ConfigError("cacheDir must be a folder's path")
    golden = mapping(root.get("goldenPaths"), "goldenPaths", ("tags", "templates", "annotations"))
    adoption = mapping(root.get("adoption"), "adoption", ("newWorkloadDays", "trendScopes"))
    maturity = mapping(
        root.get("organizationMaturity"),
        "organizationMaturity",
        ("scorecard", "platformTeams", "governanceChecks", "retrainingChecks", "thresholds"),
    )
    days = _days(adoption.get("newWorkloadDays", 90), "adoption.newWorkloadDays")
    return Config(
        golden_paths=GoldenPathSettings(
            tags=strings(golden.get("tags"), "goldenPaths.tags"),
            templates=_refs(golden.get("templates"), "goldenPaths.templates", "template"),
            annotations=strings(golden.get("annotations"), "goldenPaths.annotations"),
        ),
        adoption=AdoptionSettings(trend_scopes=_trend_scopes(adoption.get("trendScopes")), new_workload_days=days),
        maturity=_maturity(maturity, days),
        sources=parse_sources(root.get("sources")),
        cache_dir=cache_dir or default_cache_dir(),
        github_webhook_secret_env=env_name(github_hook.get("secretEnv"), "webhooks.github.secretEnv"),
        auth=parse_auth(root.get("auth")),
        dora_profile=_dora_profile(mapping(root.get("dora"), "dora", ("profile", "profiles"))),
        introspection=introspection,
    )


def _dora_profile(section: Mapping[str, Any]) -> Profile:
    """The profile `dora.profile` names (default dora-2024), among the built-in ones and `dora.profiles`."""
    profiles = dict(PROFILES)
    for name, definition in mapping(section.get("profiles"), "dora.profiles", None).items():
        try:
            profiles[str(name)] = parse_profile(str(name), mapping(definition, f"dora.profiles.{name}", None))
        except ValueError as error:
            raise ConfigError(f"dora.profiles.{name}: {error}") from None
    chosen = section.get("profile", DEFAULT_PROFILE)
    if chosen not in profiles:
        raise ConfigError(f"dora.profile: no profile named {chosen!r} (known: {', '.join(profiles)})")
    return profiles[chosen]


def _maturity(section: Mapping[str, Any], days: int) -> MaturitySettings:
    defaults = MaturitySettings()
    thresholds = mapping(section.get("thresholds"), "organizationMaturity.thresholds", CRITERION_IDS)
    for criterion, value in thresholds.items():
        where = f"organizationMaturity.thresholds.{criterion}"
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"{where} must be a number of at least 0")
        if CRITERION_UNITS[criterion] == PERCENT and value > 100:
            raise ConfigError(f"{where} is a percentage: 0 to 100")
        if CRITERION_UNITS[criterion] != PERCENT and value != int(value):
            raise ConfigError(f"{where} is a count: a whole number")
    scorecard = section.get("scorecard")
    if scorecard is not None and not isinstance(scorecard, str):
        raise ConfigError("organizationMaturity.scorecard must be a scorecard name")
    platform = section.get("platformTeams")
    return MaturitySettings(
        thresholds={criterion: float(value) for criterion, value in thresholds.items()},
        scorecard=scorecard,
        governance_checks=strings(section.get("governanceChecks"), "organizationMaturity.governanceChecks")
        or defaults.governance_checks,
        retraining_checks=strings(section.get("retrainingChecks"), "organizationMaturity.retrainingChecks")
        or defaults.retraining_checks,
        new_workload_days=days,
        platform_teams=None if platform is None else _refs(platform, "organizationMaturity.platformTeams", "group"),
    )


def _trend_scopes(value: object) -> dict[str, EntityFilter]:
    if value is None:
        return dict(AdoptionSettings().trend_scopes)
    scopes = mapping(value, "adoption.trendScopes", None)
    if not scopes:
        raise ConfigError("adoption.trendScopes must name at least one scope")
    found = {}
    for name, scope in scopes.items():
        if not isinstance(name, str) or not 0 < len(name) <= 63:
            raise ConfigError(f"adoption.trendScopes: {name!r} is not a scope name (1-63 characters)")
        found[name] = _entity_filter(scope, f"adoption.trendScopes.{name}")
    return found


def _entity_filter(value: object, where: str) -> EntityFilter:
    given = mapping(value, where, FILTER_KEYS)
    fields: dict[str, Any] = {}
    for key, item in given.items():
        if key in LIST_FILTER_KEYS:
            fields[key] = strings(item, f"{where}.{key}")
        elif not isinstance(item, str) or not item:
            raise ConfigError(f"{where}.{key} must be a string")
        elif key in ("owner", "system", "domain"):
            fields[key] = _refs([item], f"{where}.{key}", "group" if key == "owner" else key)[0]
        else:
            fields[key] = item
    return EntityFilter(**fields)


def _refs(value: object, where: str, default_kind: str) -> tuple[str, ...]:
    refs = []
    for item in strings(value, where):
        try:
            refs.append(parse_ref(item, default_kind=default_kind).ref)
        except RefError as error:
            raise ConfigError(f"{where}: {error}") from None
    return tuple(refs)


def _days(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
        raise ConfigError(f"{where} must be a whole number of days from 1 to {MAX_DAYS}")
    return value
