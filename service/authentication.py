"""Who is calling: a static token, a verified JWT, or anyone at all under `auth.mode: none`.

Static tokens are kept only as SHA-256 digests and compared in constant time. A JWT is verified
against the configured JWKS; a Backstage user token's `sub` (the user's ref) and `ent` (the refs it
owns through: itself and its groups) become the caller's identity and decide its scopes.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated

import httpx
import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine

from catalog.refs import RefError, parse_ref
from catalog.tables import RELATIONS
from service.auth_config import ADMIN, FACTS_WRITE, READ, SCOPES, AuthSettings, UserAccess
from service.jwks import JwksUnavailable, JwtVerifier, TokenRefused
from service.rest_errors import problem

log = logging.getLogger("stairway.auth")
MIN_TOKEN_LENGTH = 16  # shorter secrets can be guessed; such a token is left out, with an error in the log


@dataclass(frozen=True)
class Caller:
    """Who made a request and what it may do."""

    name: str  # token:NAME, the user's ref, or "anyone" under auth.mode none
    scopes: frozenset[str]
    ownership: frozenset[str] = field(default_factory=frozenset)  # refs it owns through (a JWT's `ent`)

    def may(self, scope: str) -> bool:
        """Whether it holds the scope (admin holds every scope)."""
        return scope in self.scopes or ADMIN in self.scopes


ANYONE = Caller("anyone", frozenset(SCOPES))  # every caller under auth.mode none
NOBODY = Caller("nobody", frozenset())  # a request that needs no credentials (the GraphiQL page)


class AuthError(Exception):
    """A request refused: 401 (no or bad credentials), 403 (not allowed), 503 (keys unavailable)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason

    @property
    def code(self) -> str:
        """The GraphQL `extensions.code`."""
        return "FORBIDDEN" if self.status == 403 else "UNAUTHENTICATED"

    def www_authenticate(self) -> str | None:
        """The `WWW-Authenticate` challenge a 401 carries (RFC 6750)."""
        if self.status != 401:
            return None
        description = self.reason.replace("\\", "").replace('"', "'")
        return f'Bearer realm="stairway", error="invalid_token", error_description="{description}"'


def forbidden(caller: Caller, scope: str) -> AuthError:
    return AuthError(403, f"{caller.name} may not do this: it needs the {scope} scope")


def refuse(request: Request, error: AuthError) -> JSONResponse:
    """The answer to a refused request: a GraphQL error on /graphql, Stairway's problem body elsewhere;
    a 401 carries its challenge in WWW-Authenticate."""
    if request.url.path.startswith("/graphql"):
        body = {"errors": [{"message": error.reason, "extensions": {"code": error.code}}]}
        response = JSONResponse(body, status_code=error.status)
    else:
        response = problem(error.status, error.reason)
    challenge = error.www_authenticate()
    if challenge:
        response.headers["WWW-Authenticate"] = challenge
    return response


class Authenticator:
    """Turns a request's `Authorization` header into a Caller, or an AuthError."""

    def __init__(
        self,
        settings: AuthSettings,
        client: httpx.AsyncClient,
        engine: Engine | None = None,
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        self.settings = settings
        self.engine = engine  # where a user's groups are looked up when its token names none
        self.tokens = _token_digests(settings, environ)
        self.verifier = JwtVerifier(settings.jwt, client) if settings.jwt is not None else None
        if settings.open:
            log.warning("auth.mode is none: every caller may read and change everything (local development only)")
        elif not self.tokens and self.verifier is None:
            log.error("no credentials are configured (auth.tokens, auth.jwt): every request will be refused")

    async def caller(self, authorization: str | None) -> Caller:
        """The caller the header names; AuthError when it names none that is accepted."""
        if self.settings.open:
            return ANYONE
        if not authorization:
            raise AuthError(401, "send a bearer token: Authorization: Bearer TOKEN")
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise AuthError(401, "the Authorization header must be: Bearer TOKEN")
        digest = hashlib.sha256(credential.encode("utf-8", "surrogateescape")).digest()
        matched = None
        for known, caller in self.tokens:  # every digest compared, in constant time
            if hmac.compare_digest(known, digest):
                matched = caller
        if matched is not None:
            return matched
        if self.verifier is None or credential.count(".") != 2:
            raise AuthError(401, "the token is not one Stairway accepts")
        try:
            claims = await self.verifier.verify(credential)
        except JwksUnavailable as error:
            log.warning("cannot verify a user token: %s", error.reason)
            raise AuthError(503, f"user tokens cannot be verified now: {error.reason}") from None
        except TokenRefused as error:
            raise AuthError(401, error.reason) from None
        groups: list[str] = []
        subject = claims.get("sub")
        if not isinstance(claims.get("ent"), list) and isinstance(subject, str) and self.engine is not None:
            # Backstage leaves `ent` out of user tokens unless auth.omitIdentityTokenOwnershipClaim is
            # false: the catalogue says which groups the user is a member of, as Backstage itself resolves.
            groups = await asyncio.to_thread(member_groups, self.engine, _normalised(subject) or subject)
        return user_caller(claims, self.settings.users, groups)


def member_groups(engine: Engine, user_ref: str) -> list[str]:
    """The groups the catalogue has the user as a member of (its memberOf relations)."""
    with engine.connect() as connection:
        found = connection.execute(
            sa.select(RELATIONS.c.target_ref).where(RELATIONS.c.source_ref == user_ref, RELATIONS.c.type == "memberOf")
        )
        return list(found.scalars())


def user_caller(claims: Mapping[str, object], access: UserAccess, groups: Iterable[str] = ()) -> Caller:
    """The Caller a verified token stands for: `sub` names it; `sub`, `ent` (or, without `ent`, the
    user's `groups` in the catalogue) decide its grants and what it owns through."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise AuthError(401, "the token names no subject (sub)")
    entities = claims.get("ent")
    named = [ref for ref in entities if isinstance(ref, str)] if isinstance(entities, list) else list(groups)
    ownership = frozenset(ref for ref in map(_normalised, {subject, *named}) if ref)
    scopes = set(access.scopes)
    for scope, granted in access.grants.items():
        if granted & ownership:
            scopes.add(scope)
    return Caller(_normalised(subject) or subject, frozenset(scopes), ownership)


def _normalised(ref: str) -> str | None:
    try:
        return parse_ref(ref, default_kind="user").ref
    except RefError:
        return None


def _token_digests(settings: AuthSettings, environ: Mapping[str, str]) -> list[tuple[bytes, Caller]]:
    """Each configured token whose variable holds a usable secret, as (SHA-256 digest, caller)."""
    found = []
    for token in settings.tokens:
        secret = environ.get(token.env, "")
        if len(secret) < MIN_TOKEN_LENGTH:
            state = "is not set" if not secret else f"holds fewer than {MIN_TOKEN_LENGTH} characters"
            log.error("auth.tokens %s is left out: $%s %s", token.name, token.env, state)
            continue
        found.append((hashlib.sha256(secret.encode()).digest(), Caller(f"token:{token.name}", token.scopes)))
    return found


BEARER = HTTPBearer(auto_error=False, description="A static token, or a Backstage user token (see README, Security).")


def require(scope: str) -> Callable[..., Awaitable[Caller]]:
    """A FastAPI dependency admitting callers that hold `scope`: AuthError (401 or 403) for the others.
    The security scheme `BEARER` documents the header in the OpenAPI document; the Authenticator reads it."""

    async def admitted(
        request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
    ) -> Caller:
        caller: Caller = await request.app.state.authenticator.caller(request.headers.get("authorization"))
        if not caller.may(scope):
            raise forbidden(caller, scope)
        return caller

    return admitted


FactsWriter = Annotated[Caller, Depends(require(FACTS_WRITE))]
Reader = Annotated[Caller, Depends(require(READ))]
