"""Verifying JWTs against a JWKS URL: Backstage's user tokens, or any OIDC provider's.

A token is checked in this order:

1. its header, before anything is trusted: `alg` must be in the allow-list, and is never `none` or an
   HMAC algorithm (`HS*`), whatever the settings say. A verifier that took HS256 would use the
   identity provider's *public* key as the shared secret, and anyone could sign (algorithm confusion);
2. its signing key: the JWKS key its `kid` names (a token without `kid` only when the JWKS holds a
   single key), and a key that fits the algorithm: RSA for RS*/PS*, EC on the algorithm's curve for
   ES*, OKP for EdDSA. A JWK that declares its own `alg` verifies that algorithm only;
3. its signature, audience and issuer, by PyJWT; `exp` is required;
4. its times, `exp`, `nbf` and `iat`, against the injected clock, with the leeway. PyJWT only knows
   the real time, so these are checked here, and tests can move the clock instead of sleeping.

Keys are fetched with the app's shared httpx client and trusted for `cache_seconds`. A `kid` missing
from the cache refetches the JWKS at once, but the JWKS is never fetched more often than once every
`refetch_seconds`: tokens with made-up kids cannot make Stairway hammer the identity provider.
Verifications that need a fetch at the same time share one. When a fetch fails, the keys of the last
good fetch stay in use (a key the provider still published stays good through its outage); a token
no such key covers is refused with JwksUnavailable.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from jwt.algorithms import get_default_algorithms

log = logging.getLogger("stairway.auth")

FETCH_TIMEOUT = 5.0  # seconds for the whole JWKS request
DEFAULT_ALGORITHMS = ("RS256", "ES256")
DEFAULT_LEEWAY = 30.0
DEFAULT_CACHE = 300.0
DEFAULT_REFETCH = 30.0

MALFORMED = "malformed token"
ALGORITHM_REFUSED = "the token is signed with an algorithm that is not allowed"
UNKNOWN_KEY = "unknown signing key"


def never_accepted(algorithm: str) -> bool:
    """`none` and the HMAC algorithms: refused with a JWKS whatever the settings say, since a JWKS
    holds public keys, and a public key used as an HMAC secret lets anyone sign."""
    return algorithm.lower() == "none" or algorithm.upper().startswith("HS")


# The asymmetric algorithms PyJWT can verify: the only ones a setting may name.
KNOWN_ALGORITHMS = tuple(name for name in get_default_algorithms() if not never_accepted(name))


@dataclass(frozen=True)
class JwtSettings:
    """Where the signing keys are, and what a token must carry to be accepted."""

    jwks_url: str
    issuer: str | None = None  # the token's `iss` must equal it, when set
    audience: tuple[str, ...] = ()  # the token's `aud` must hold one of them, when set
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS  # allow-list; `none` and HS* are refused anyway
    leeway_seconds: float = DEFAULT_LEEWAY  # clock skew allowed for exp / nbf / iat
    cache_seconds: float = DEFAULT_CACHE  # fetched keys are trusted this long without refetching
    refetch_seconds: float = DEFAULT_REFETCH  # never fetch the JWKS more often than this


class TokenRefused(Exception):
    """A token that is not accepted. `reason` is short and safe to send back with the 401: it never
    holds the token, nor anything read from it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JwksUnavailable(TokenRefused):
    """The JWKS could not be fetched (network error, an answer other than 200, not a JWKS, no usable
    key) and no cached key covers the token. The token may well be good: answer 503 so the caller
    tries again later; answering 401 is safe but tells a user with a good token to sign in again.
    It is a TokenRefused, so catch it first."""


@dataclass(frozen=True)
class _SigningKey:
    """One JWK of the set, ready to verify each allowed algorithm it fits."""

    kid: str | None
    by_algorithm: Mapping[str, jwt.PyJWK]


class _FetchFailed(Exception):
    """Why the JWKS could not be fetched; the message is safe to show (it holds no URL)."""


class JwtVerifier:
    """Verifies tokens against the keys at `settings.jwks_url`, cached as the module docstring says."""

    def __init__(
        self, settings: JwtSettings, client: httpx.AsyncClient, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self._client = client
        self._clock = clock
        self._algorithms = tuple(name for name in settings.algorithms if name in KNOWN_ALGORITHMS)
        self._keys: list[_SigningKey] = []
        self._fetched_at: float | None = None  # when the keys were fetched
        self._attempted_at: float | None = None  # when the last fetch, good or failed, ended
        self._failure: str | None = None  # why the last fetch failed; None when it succeeded
        self._lock = asyncio.Lock()  # one fetch at a time; who waits for it uses its keys

    async def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, once its signature, audience, issuer and times are checked; TokenRefused
        (JwksUnavailable when the keys cannot be fetched) when it is not accepted."""
        header = _unverified_header(token)
        algorithm = self._allowed_algorithm(header)
        key = await self._signing_key(header.get("kid"), algorithm)
        claims = _decode(token, key, self.settings)
        _check_times(claims, self._clock(), self.settings.leeway_seconds)
        return claims

    def _allowed_algorithm(self, header: Mapping[str, Any]) -> str:
        algorithm = header.get("alg")
        if not isinstance(algorithm, str):
            raise TokenRefused(MALFORMED)
        if algorithm not in self._algorithms:  # which holds neither `none` nor HS*
            raise TokenRefused(ALGORITHM_REFUSED)
        return algorithm

    async def _signing_key(self, kid: str | None, algorithm: str) -> jwt.PyJWK:
        """The key to verify with, from the cache, or from a fetch when the cache cannot answer and
        the last fetch is old enough."""
        if not self._must_fetch(kid):
            return self._select(kid, algorithm)
        async with self._lock:
            if self._must_fetch(kid) and self._may_fetch():  # another verification may have just fetched
                await self._fetch()
            return self._select(kid, algorithm)

    def _must_fetch(self, kid: str | None) -> bool:
        """Whether the cache cannot answer: keys never fetched or too old, or none with this kid."""
        if not _within(self._fetched_at, self._clock(), self.settings.cache_seconds):
            return True
        return kid is not None and not any(key.kid == kid for key in self._keys)

    def _may_fetch(self) -> bool:
        """At most one fetch every refetch_seconds, whatever the tokens ask for."""
        return not _within(self._attempted_at, self._clock(), self.settings.refetch_seconds)

    def _select(self, kid: str | None, algorithm: str) -> jwt.PyJWK:
        """The cached key for the token's kid and algorithm, or the refusal that says why there is none."""
        if kid is None and len(self._keys) > 1:
            raise TokenRefused("the token names no signing key (kid), and the JWKS holds several")
        candidates = [key for key in self._keys if kid is None or key.kid == kid]
        if not candidates:
            if self._failure is not None:
                raise JwksUnavailable(f"the signing keys cannot be fetched: {self._failure}")
            raise TokenRefused(UNKNOWN_KEY)
        for key in candidates:
            if algorithm in key.by_algorithm:
                return key.by_algorithm[algorithm]
        raise TokenRefused("the token's algorithm does not fit its signing key")

    async def _fetch(self) -> None:
        """Fetch the JWKS: its keys replace the cache, or the failure is recorded and the cache kept."""
        try:
            keys = _signing_keys(await self._download(), self._algorithms)
        except _FetchFailed as failure:
            self._attempted_at, self._failure = self._clock(), str(failure)
            log.warning("cannot fetch the JWKS at %s: %s", self.settings.jwks_url, failure)
            return
        self._keys, self._failure = keys, None
        self._attempted_at = self._fetched_at = self._clock()

    async def _download(self) -> object:
        """The JWKS document, parsed from JSON."""
        try:
            response = await self._client.get(
                self.settings.jwks_url, timeout=FETCH_TIMEOUT, headers={"Accept": "application/json"}
            )
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise _FetchFailed(f"the request failed ({type(error).__name__})") from error
        if response.status_code != 200:
            raise _FetchFailed(f"the JWKS URL answered HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise _FetchFailed("the JWKS URL did not answer JSON") from None


def _within(since: float | None, now: float, seconds: float) -> bool:
    """Whether `now` is less than `seconds` after `since` (never, when the clock went back)."""
    return since is not None and 0 <= now - since < seconds


def _signing_keys(document: object, algorithms: tuple[str, ...]) -> list[_SigningKey]:
    """The keys of a JWKS document that can verify one of `algorithms`; the others are left out."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise _FetchFailed("the answer is not a JWKS (a JSON object with a list of keys)")
    keys = [key for jwk in document["keys"] if (key := _signing_key(jwk, algorithms)) is not None]
    if not keys:
        raise _FetchFailed(f"the JWKS holds no usable signing key for {', '.join(algorithms) or 'no algorithm'}")
    return keys


def _signing_key(jwk: object, algorithms: tuple[str, ...]) -> _SigningKey | None:
    """The key a JWK describes, or None when it verifies none of `algorithms`: not a JWK, not for
    signatures (`use`), a private key, an `alg` outside the list, a type or curve that fits none."""
    if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig" or "d" in jwk:
        return None
    kid = jwk.get("kid")
    if kid is not None and not isinstance(kid, str):
        return None
    declared = jwk.get("alg")
    by_algorithm = {
        algorithm: key
        for algorithm in algorithms
        if declared in (None, algorithm) and (key := _key_for(jwk, algorithm)) is not None
    }
    return _SigningKey(kid, by_algorithm) if by_algorithm else None


def _key_for(jwk: dict[str, Any], algorithm: str) -> jwt.PyJWK | None:
    """The JWK as a key for this algorithm, or None when it does not fit it (key type or curve), does
    not parse, or is shorter than PyJWT's minimum (RSA under 2048 bits)."""
    try:
        key = jwt.PyJWK(jwk, algorithm)
        prepared = key.Algorithm.prepare_key(key.key)  # checks an EC key's curve against the algorithm
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return None
    return None if key.Algorithm.check_key_length(prepared) else key


def _unverified_header(token: str) -> dict[str, Any]:
    try:
        return jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenRefused(MALFORMED) from None


def _decode(token: str, key: jwt.PyJWK, settings: JwtSettings) -> dict[str, Any]:
    """The claims, once PyJWT has checked the signature, `exp` is present, and the audience and issuer
    when they are set; the times are left to _check_times."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[key.algorithm_name],
            audience=list(settings.audience) or None,
            issuer=settings.issuer,
            options={
                "require": ["exp"],
                "verify_aud": bool(settings.audience),
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "enforce_minimum_key_length": True,
            },
        )
    except jwt.PyJWTError as error:
        raise TokenRefused(_reason(error)) from None
    return claims


_MISSING_CLAIMS = {
    "exp": "the token has no expiry (exp)",
    "aud": "the token names no audience (aud)",
    "iss": "the token names no issuer (iss)",
}
_REASONS: tuple[tuple[type[Exception], str], ...] = (  # the first that matches; subclasses before their bases
    (jwt.InvalidSignatureError, "the signature does not verify"),
    (jwt.ExpiredSignatureError, "the token has expired"),
    (jwt.ImmatureSignatureError, "the token is not valid yet"),
    (jwt.InvalidAudienceError, "the token's audience is not accepted"),
    (jwt.InvalidIssuerError, "the token's issuer is not accepted"),
    (jwt.InvalidAlgorithmError, ALGORITHM_REFUSED),
    (jwt.InvalidKeyError, "the token's algorithm does not fit its signing key"),
    (jwt.PyJWKError, "the token's algorithm does not fit its signing key"),
)


def _reason(error: jwt.PyJWTError) -> str:
    """The refusal's reason for one of PyJWT's errors (whose own messages may quote the token)."""
    if isinstance(error, jwt.MissingRequiredClaimError):
        return _MISSING_CLAIMS.get(error.claim, MALFORMED)
    return next((reason for kind, reason in _REASONS if isinstance(error, kind)), MALFORMED)


def _check_times(claims: Mapping[str, Any], now: float, leeway: float) -> None:
    """Refuse a token expired, not valid yet, or issued in the future, by more than the leeway (the
    same comparisons as PyJWT's)."""
    expires = _time_claim(claims, "exp")
    if expires is not None and expires <= now - leeway:
        raise TokenRefused("the token has expired")
    not_before = _time_claim(claims, "nbf")
    if not_before is not None and not_before > now + leeway:
        raise TokenRefused("the token is not valid yet")
    issued = _time_claim(claims, "iat")
    if issued is not None and issued > now + leeway:
        raise TokenRefused("the token was issued in the future")


def _time_claim(claims: Mapping[str, Any], name: str) -> float | None:
    """A NumericDate claim (seconds since the epoch), None when absent."""
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TokenRefused(f"the token's {name} claim is not a number")
    return float(value)


SETTING_KEYS = ("jwksUrl", "issuer", "audience", "algorithms", "leewaySeconds", "cacheSeconds")


def parse_jwt_settings(section: Mapping[str, object], where: str) -> JwtSettings:
    """JwtSettings from a `jwt:` config mapping; ValueError naming `where` and the key at fault."""
    unknown = [str(key) for key in section if key not in SETTING_KEYS]
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(SETTING_KEYS)})")
    return JwtSettings(
        jwks_url=_url(section.get("jwksUrl"), f"{where}.jwksUrl"),
        issuer=_optional_text(section.get("issuer"), f"{where}.issuer"),
        audience=_texts(section.get("audience"), f"{where}.audience"),
        algorithms=_algorithms(section.get("algorithms"), f"{where}.algorithms"),
        leeway_seconds=_seconds(section.get("leewaySeconds"), DEFAULT_LEEWAY, f"{where}.leewaySeconds"),
        cache_seconds=_seconds(section.get("cacheSeconds"), DEFAULT_CACHE, f"{where}.cacheSeconds"),
    )


def _url(value: object, where: str) -> str:
    if value is None:
        raise ValueError(f"{where} is required: the URL of the signing keys (JWKS)")
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{where} must be an http(s) URL, like https://backstage.example.com/api/auth/.well-known/jwks.json"
        )
    return str(value)


def _optional_text(value: object, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where} must be a non-empty string")
    return value


def _texts(value: object, where: str) -> tuple[str, ...]:
    """A list of non-empty strings; one string counts as a list of one, absent as none."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) and item for item in items):
        raise ValueError(f"{where} must be a string or a list of strings")
    return tuple(items)


def _algorithms(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return DEFAULT_ALGORITHMS
    names = _texts(value, where)
    if not names:
        raise ValueError(f"{where} must name at least one algorithm")
    for name in names:
        if never_accepted(name):
            raise ValueError(f"{where}: {name!r} is never accepted: with public keys, anyone could sign such tokens")
        if name not in KNOWN_ALGORITHMS:
            raise ValueError(f"{where}: unknown algorithm {name!r} (known: {', '.join(KNOWN_ALGORITHMS)})")
    return names


def _seconds(value: object, default: float, where: str) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{where} must be a number of seconds, 0 or more")
    return float(value)
