"""The `auth` section of `stairway.yaml`: who may call Stairway, and what each caller may do.

```yaml
auth:
  mode: required            # the default; `none` lets everyone do everything (local development only)
  tokens:                   # static bearer tokens for services and CI; the secret is in the environment
    - {name: ci, tokenEnv: STAIRWAY_CI_TOKEN, scopes: [read, facts:write]}
  jwt:                      # user tokens: Backstage's auth backend, or any OIDC provider
    jwksUrl: https://backstage.example.com/api/auth/.well-known/jwks.json
    issuer: https://backstage.example.com/api/auth
  users:
    scopes: [read]          # what every verified user token may do
    grants:                 # more, for users and groups named by ref (a token's `sub` and `ent`)
      admin: [group:default/platform-team]
  ownersMayExempt: true     # a user may exempt the entities its groups own without being admin
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from catalog.refs import RefError, parse_ref
from service.config_values import ConfigError, mapping, strings
from service.jwks import JwtSettings, parse_jwt_settings
from service.source_config import env_name

READ = "read"
FACTS_WRITE = "facts:write"
ADMIN = "admin"
SCOPES = (READ, FACTS_WRITE, ADMIN)
MODES = ("required", "none")


@dataclass(frozen=True)
class StaticToken:
    """A named bearer token for a service or CI job; its value is read from `env` when the app starts."""

    name: str
    env: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class UserAccess:
    """What callers with a verified JWT may do: `scopes` for all, and `grants` (scope → refs of users
    and groups) for those whose `sub` or `ent` claim names one of the refs."""

    scopes: frozenset[str] = frozenset({READ})
    grants: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthSettings:
    mode: str = "required"
    tokens: tuple[StaticToken, ...] = ()
    jwt: JwtSettings | None = None
    users: UserAccess = field(default_factory=UserAccess)
    owners_may_exempt: bool = False

    @property
    def open(self) -> bool:
        """`mode: none`: no credentials asked for, every caller may do everything."""
        return self.mode == "none"


def parse_auth(value: object) -> AuthSettings:
    """AuthSettings from the `auth` section (absent: credentials required, none configured yet)."""
    section = mapping(value, "auth", ("mode", "tokens", "jwt", "users", "ownersMayExempt"))
    mode = section.get("mode", "required")
    if mode not in MODES:
        raise ConfigError(f"auth.mode must be one of {', '.join(MODES)}, not {mode!r}")
    jwt = None
    if section.get("jwt") is not None:
        try:
            jwt = parse_jwt_settings(mapping(section["jwt"], "auth.jwt", None), "auth.jwt")
        except ValueError as error:
            raise ConfigError(str(error)) from None
    owners_may_exempt = section.get("ownersMayExempt", False)
    if not isinstance(owners_may_exempt, bool):
        raise ConfigError("auth.ownersMayExempt must be true or false")
    return AuthSettings(
        mode=mode,
        tokens=_tokens(section.get("tokens")),
        jwt=jwt,
        users=_users(mapping(section.get("users"), "auth.users", ("scopes", "grants"))),
        owners_may_exempt=owners_may_exempt,
    )


def _scopes(value: object, where: str) -> frozenset[str]:
    found = strings(value, where)
    unknown = [scope for scope in found if scope not in SCOPES]
    if unknown:
        raise ConfigError(f"{where}: unknown scope {unknown[0]!r} (known: {', '.join(SCOPES)})")
    return frozenset(found)


def _tokens(value: object) -> tuple[StaticToken, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError("auth.tokens must be a list of {name, tokenEnv, scopes}")
    tokens: list[StaticToken] = []
    for index, item in enumerate(value):
        where = f"auth.tokens[{index}]"
        entry = mapping(item, where, ("name", "tokenEnv", "scopes"))
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}.name must be a non-empty string")
        if any(token.name == name for token in tokens):
            raise ConfigError(f"{where}.name: {name!r} is named twice")
        env = env_name(entry.get("tokenEnv"), f"{where}.tokenEnv")
        if env is None:
            raise ConfigError(f"{where}.tokenEnv must name the environment variable holding the token")
        scopes = _scopes(entry.get("scopes"), f"{where}.scopes")
        if not scopes:
            raise ConfigError(f"{where}.scopes must list what the token may do ({', '.join(SCOPES)})")
        tokens.append(StaticToken(name, env, scopes))
    return tuple(tokens)


def _users(section: Mapping[str, object]) -> UserAccess:
    scopes = _scopes(section["scopes"], "auth.users.scopes") if "scopes" in section else frozenset({READ})
    grants_section = mapping(section.get("grants"), "auth.users.grants", SCOPES)
    grants: dict[str, frozenset[str]] = {}
    for scope, refs in grants_section.items():
        where = f"auth.users.grants.{scope}"
        try:
            grants[scope] = frozenset(parse_ref(ref, default_kind="group").ref for ref in strings(refs, where))
        except RefError as error:
            raise ConfigError(f"{where}: {error}") from None
    return UserAccess(scopes=scopes, grants=grants)
