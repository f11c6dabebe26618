"""Verifying JWTs against a JWKS: what a caller sees for good, forged, expired and unknown tokens, and
how often the identity provider is asked for its keys. The JWKS is served by respx; time is a fake
clock the tests move, never slept."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from jwt.warnings import InsecureKeyLengthWarning

from service.jwks import JwksUnavailable, JwtSettings, JwtVerifier, TokenRefused, parse_jwt_settings

JWKS_URL = "https://idp.example.test/.well-known/jwks.json"
ISSUER = "https://idp.example.test"
AUDIENCE = "stairway"
NOW = 1_800_000_000
SETTINGS = JwtSettings(jwks_url=JWKS_URL, issuer=ISSUER, audience=(AUDIENCE,))
JANE = "user:default/jane"
JANE_OWNS = [JANE, "group:default/team-a"]

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Signer:
    """An identity provider's private key, and the kid and alg its public half is published with."""

    kid: str
    key: PrivateKey
    algorithm: str

    def jwk(self, **members: object) -> dict[str, Any]:
        """The public key as the provider's JWKS lists it; `members` change or add to it."""
        public = self.key.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.algorithm, "use": "sig", **members}

    def token(
        self, claims: dict[str, Any] | None = None, algorithm: str | None = None, header: dict[str, Any] | None = None
    ) -> str:
        """A token signed with the key: good claims and the key's kid unless told otherwise."""
        return jwt.encode(
            good_claims() if claims is None else claims,
            self.key,
            algorithm=algorithm or self.algorithm,
            headers={"kid": self.kid} if header is None else header,
        )


# Generated once for the module: RSA keys are slow to make.
_SECOND_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA = Signer("rsa-1", rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")
EC = Signer("ec-1", ec.generate_private_key(ec.SECP256R1()), "ES256")
ROTATED = Signer("rsa-2", _SECOND_RSA_KEY, "RS256")  # the provider's next key
IMPOSTOR = Signer("rsa-1", _SECOND_RSA_KEY, "RS256")  # another key, claiming RSA's kid


def good_claims(drop: Sequence[str] = (), **changes: object) -> dict[str, Any]:
    """Claims the default settings accept, with `changes` made and the `drop` claims left out."""
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": JANE, "ent": JANE_OWNS, "iat": NOW, "exp": NOW + 3600, **changes}
    return {name: value for name, value in claims.items() if name not in drop}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict[str, Any], claims: dict[str, Any], hmac_secret: bytes | None = None) -> str:
    """A token PyJWT would refuse to make: unsigned, or HMAC-signed with any bytes as the secret."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = b"" if hmac_secret is None else hmac.new(hmac_secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def jwks_answer(*keys: object) -> httpx.Response:
    """The provider's answer: a JWKS of these keys (Signers, or JWKs as they are)."""
    return httpx.Response(200, json={"keys": [key.jwk() if isinstance(key, Signer) else key for key in keys]})


class FakeClock:
    """The verifier's clock: seconds since the epoch, moved on only by the test."""

    def __init__(self) -> None:
        self.now = float(NOW)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


Outcome = dict[str, Any] | TokenRefused


class Harness:
    """One verifier on one event loop, its JWKS served by respx (`jwks`, whose calls count the fetches)."""

    def __init__(self, runner: asyncio.Runner, client: httpx.AsyncClient, jwks: respx.Route) -> None:
        self.runner = runner
        self.client = client
        self.jwks = jwks
        self.clock = FakeClock()
        self.settings = SETTINGS
        self._verifier: JwtVerifier | None = None

    def configure(self, **changes: Any) -> None:
        """Verify with these settings changed (before the first verification)."""
        self.settings = replace(SETTINGS, **changes)
        self._verifier = None

    def serve(self, *keys: object) -> None:
        """From now on the provider publishes these keys."""
        self.jwks.mock(return_value=jwks_answer(*keys))

    def fail(self, answer: httpx.Response | Exception) -> None:
        """From now on fetching the JWKS gets this answer, or raises this error."""
        if isinstance(answer, Exception):
            self.jwks.mock(side_effect=answer)
        else:
            self.jwks.mock(return_value=answer)

    @property
    def fetches(self) -> int:
        return self.jwks.call_count

    def verify(self, token: str) -> Outcome:
        """The claims the verifier returns, or its refusal."""
        return self.runner.run(self._verify(token))

    def verify_together(self, tokens: Sequence[str]) -> list[Outcome]:
        """Verify the tokens concurrently; their outcomes in order."""

        async def together() -> list[Outcome]:
            return list(await asyncio.gather(*(self._verify(token) for token in tokens)))

        return self.runner.run(together())

    async def _verify(self, token: str) -> Outcome:
        if self._verifier is None:
            self._verifier = JwtVerifier(self.settings, self.client, clock=self.clock)
        try:
            return await self._verifier.verify(token)
        except TokenRefused as refusal:
            return refusal


@pytest.fixture
def harness() -> Iterator[Harness]:
    """A harness whose provider publishes RSA's and EC's keys."""
    with asyncio.Runner() as runner, respx.mock(assert_all_called=False) as router:
        client = httpx.AsyncClient()
        route = router.get(JWKS_URL).mock(return_value=jwks_answer(RSA, EC))
        yield Harness(runner, client, route)
        runner.run(client.aclose())


def reason(outcome: Outcome) -> str:
    """Why the token was refused (the verifier must have refused it, and not for want of keys)."""
    assert isinstance(outcome, TokenRefused) and not isinstance(outcome, JwksUnavailable), outcome
    return outcome.reason


def unavailable(outcome: Outcome) -> str:
    """Why the keys were unavailable (the verifier must have said so)."""
    assert isinstance(outcome, JwksUnavailable), outcome
    return outcome.reason


# Good tokens


def test_a_valid_rs256_token_gives_its_claims(harness: Harness) -> None:
    assert harness.verify(RSA.token()) == good_claims()


def test_a_valid_es256_token_gives_its_claims(harness: Harness) -> None:
    claims = harness.verify(EC.token())
    assert isinstance(claims, dict) and claims["sub"] == JANE and claims["ent"] == JANE_OWNS


def test_a_backstage_user_token_verifies_to_its_claims(harness: Harness) -> None:
    backstage = Signer("3f1c2a4e-5b6d-4e8f-9a0b-1c2d3e4f5a6b", EC.key, "ES256")  # Backstage signs ES256
    harness.configure(issuer="http://backstage.example/api/auth", audience=("backstage",))
    harness.serve(backstage)
    claims = {
        "iss": "http://backstage.example/api/auth",
        "sub": "user:default/jane",
        "ent": ["user:default/jane", "group:default/team-a"],
        "aud": "backstage",
        "iat": NOW - 60,
        "exp": NOW + 3540,
    }
    header = {"kid": backstage.kid, "typ": "vnd.backstage.user"}
    assert harness.verify(backstage.token(claims, header=header)) == claims


def test_without_an_audience_setting_any_audience_is_accepted(harness: Harness) -> None:
    harness.configure(audience=(), issuer=None)
    assert harness.verify(RSA.token(good_claims(aud="someone-else", iss="anyone"))) == good_claims(
        aud="someone-else", iss="anyone"
    )


def test_an_audience_list_needs_one_accepted_audience(harness: Harness) -> None:
    harness.configure(audience=("portal", AUDIENCE))
    assert isinstance(harness.verify(RSA.token(good_claims(aud=["other", AUDIENCE]))), dict)
    assert reason(harness.verify(RSA.token(good_claims(aud=["other", "more"])))) == (
        "the token's audience is not accepted"
    )


# Times, against the injected clock with 30 s leeway


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        (good_claims(exp=NOW - 31), "the token has expired"),
        (good_claims(exp=NOW - 30), "the token has expired"),
        (good_claims(exp=NOW - 29), None),
        (good_claims(nbf=NOW + 31), "the token is not valid yet"),
        (good_claims(nbf=NOW + 29), None),
        (good_claims(iat=NOW + 60), "the token was issued in the future"),
        (good_claims(drop=["exp"]), "the token has no expiry (exp)"),
        (good_claims(exp="tomorrow"), "the token's exp claim is not a number"),
        (good_claims(nbf=True), "the token's nbf claim is not a number"),
    ],
    ids=[
        "expired-beyond-leeway",
        "expired-at-leeway",
        "expired-within-leeway",
        "nbf-beyond-leeway",
        "nbf-within-leeway",
        "iat-in-the-future",
        "no-exp",
        "exp-not-a-number",
        "nbf-a-boolean",
    ],
)
def test_times_are_checked_with_the_leeway(harness: Harness, claims: dict[str, Any], expected: str | None) -> None:
    outcome = harness.verify(RSA.token(claims))
    if expected is None:
        assert outcome == claims
    else:
        assert reason(outcome) == expected


def test_a_token_expires_when_the_clock_passes_exp_and_the_leeway(harness: Harness) -> None:
    token = RSA.token(good_claims(exp=NOW + 60))
    harness.clock.advance(89)
    assert isinstance(harness.verify(token), dict)
    harness.clock.advance(2)
    assert reason(harness.verify(token)) == "the token has expired"


# Audience and issuer


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        (good_claims(aud="someone-else"), "the token's audience is not accepted"),
        (good_claims(drop=["aud"]), "the token names no audience (aud)"),
        (good_claims(iss="https://evil.example.test"), "the token's issuer is not accepted"),
        (good_claims(drop=["iss"]), "the token names no issuer (iss)"),
    ],
    ids=["wrong-audience", "no-audience", "wrong-issuer", "no-issuer"],
)
def test_audience_and_issuer_must_match(harness: Harness, claims: dict[str, Any], expected: str) -> None:
    assert reason(harness.verify(RSA.token(claims))) == expected


# Forged tokens and algorithms


def test_a_token_signed_by_another_key_under_a_known_kid_is_refused(harness: Harness) -> None:
    assert reason(harness.verify(IMPOSTOR.token())) == "the signature does not verify"


def test_a_changed_payload_breaks_the_signature(harness: Harness) -> None:
    header, _, signature = RSA.token().split(".")
    payload = b64(json.dumps(good_claims(sub="user:default/admin")).encode())
    assert reason(harness.verify(f"{header}.{payload}.{signature}")) == "the signature does not verify"


@pytest.mark.parametrize("algorithm", ["none", "None", "NONE"])
def test_an_unsigned_token_is_refused_even_when_the_settings_allow_none(harness: Harness, algorithm: str) -> None:
    token = forged({"alg": algorithm, "kid": RSA.kid}, good_claims())
    assert reason(harness.verify(token)) == "the token is signed with an algorithm that is not allowed"
    harness.configure(algorithms=(algorithm, "RS256"))  # only parse_jwt_settings refuses such settings
    assert reason(harness.verify(token)) == "the token is signed with an algorithm that is not allowed"
    assert harness.fetches == 0  # refused on its header alone


def test_hs256_signed_with_the_public_key_pem_is_refused_even_when_the_settings_allow_hs256(harness: Harness) -> None:
    pem = RSA.key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    token = forged({"alg": "HS256", "typ": "JWT", "kid": RSA.kid}, good_claims(), hmac_secret=pem)
    assert reason(harness.verify(token)) == "the token is signed with an algorithm that is not allowed"
    harness.configure(algorithms=("HS256", "RS256"))
    assert reason(harness.verify(token)) == "the token is signed with an algorithm that is not allowed"
    assert harness.fetches == 0


def test_an_algorithm_outside_the_allow_list_is_refused(harness: Harness) -> None:
    harness.configure(algorithms=("RS256",))
    assert reason(harness.verify(RSA.token(algorithm="RS512"))) == (
        "the token is signed with an algorithm that is not allowed"
    )
    assert reason(harness.verify(EC.token())) == "the token is signed with an algorithm that is not allowed"
    assert harness.fetches == 0


def test_a_jwk_without_alg_verifies_every_allowed_algorithm_of_its_family_only(harness: Harness) -> None:
    harness.configure(algorithms=("RS256", "PS256", "ES256"))
    harness.serve({name: value for name, value in RSA.jwk().items() if name != "alg"}, EC)
    assert isinstance(harness.verify(RSA.token(algorithm="PS256")), dict)
    assert isinstance(harness.verify(RSA.token(algorithm="RS256")), dict)
    ec_under_rsa_kid = EC.token(header={"kid": RSA.kid})
    assert reason(harness.verify(ec_under_rsa_kid)) == "the token's algorithm does not fit its signing key"


def test_a_jwk_with_alg_verifies_that_algorithm_only(harness: Harness) -> None:
    harness.configure(algorithms=("RS256", "PS256"))
    assert reason(harness.verify(RSA.token(algorithm="PS256"))) == "the token's algorithm does not fit its signing key"


@pytest.mark.parametrize("token", ["", "not-a-token", "a.b.c", "e30.e30.", f"{b64(b'[1]')}.e30.e30"])
def test_a_malformed_token_is_refused_without_being_echoed(harness: Harness, token: str) -> None:
    outcome = harness.verify(token)
    assert reason(outcome) == "malformed token"
    assert harness.fetches == 0


# Which key: kid


def test_a_token_without_kid_uses_the_only_key(harness: Harness) -> None:
    harness.serve(RSA)
    assert harness.verify(RSA.token(header={})) == good_claims()


def test_a_token_without_kid_is_refused_when_the_jwks_holds_several_keys(harness: Harness) -> None:
    assert reason(harness.verify(RSA.token(header={}))) == (
        "the token names no signing key (kid), and the JWKS holds several"
    )


def test_keys_unfit_to_verify_are_left_out_of_the_set(harness: Harness) -> None:
    short = Signer("short", rsa.generate_private_key(public_exponent=65537, key_size=1024), "RS256")
    p384 = Signer("p384", ec.generate_private_key(ec.SECP384R1()), "ES256")  # the wrong curve for ES256
    private = RSAAlgorithm.to_jwk(_SECOND_RSA_KEY, as_dict=True) | {"kid": "private"}
    harness.serve(
        "not a key",
        {"kty": "RSA", "kid": "no-modulus"},
        {"kty": "oct", "kid": "hmac", "k": b64(b"a shared secret of thirty-two by"), "alg": "HS256"},
        ROTATED.jwk(use="enc", kid="encryption"),
        EC.jwk(alg="ES384", kid="not-allowed"),
        short.jwk(),
        p384.jwk(),
        private,
        RSA,
    )
    assert harness.verify(RSA.token()) == good_claims()
    for kid, key in [("encryption", ROTATED), ("not-allowed", EC), ("p384", EC), ("private", ROTATED)]:
        assert reason(harness.verify(Signer(kid, key.key, key.algorithm).token())) == "unknown signing key"
    with pytest.warns(InsecureKeyLengthWarning):  # PyJWT signs with a short key, but warns
        short_token = short.token()
    assert reason(harness.verify(short_token)) == "unknown signing key"
    assert harness.fetches == 1


# Fetching and caching the keys


def test_keys_are_fetched_once_for_many_verifications_and_again_after_cache_seconds(harness: Harness) -> None:
    for _ in range(10):
        assert isinstance(harness.verify(RSA.token()), dict)
        assert isinstance(harness.verify(EC.token()), dict)
        harness.clock.advance(29)
    assert harness.fetches == 1  # 290 s on: still cached
    harness.clock.advance(10)
    assert isinstance(harness.verify(RSA.token()), dict)
    assert harness.fetches == 2


def test_a_key_the_provider_drops_is_refused_once_the_cache_expires(harness: Harness) -> None:
    assert isinstance(harness.verify(RSA.token()), dict)
    harness.serve(EC)
    harness.clock.advance(300)
    assert reason(harness.verify(RSA.token())) == "unknown signing key"
    assert isinstance(harness.verify(EC.token()), dict)
    assert harness.fetches == 2


def test_an_unknown_kid_refetches_at_once_and_finds_the_rotated_key(harness: Harness) -> None:
    assert isinstance(harness.verify(RSA.token()), dict)
    harness.serve(RSA, EC, ROTATED)
    harness.clock.advance(30)
    assert harness.verify(ROTATED.token()) == good_claims()
    assert harness.fetches == 2
    assert isinstance(harness.verify(ROTATED.token()), dict)
    assert harness.fetches == 2


def test_unknown_kids_within_refetch_seconds_are_refused_without_another_fetch(harness: Harness) -> None:
    assert isinstance(harness.verify(RSA.token()), dict)
    harness.clock.advance(60)
    assert reason(harness.verify(Signer("made-up-1", RSA.key, "RS256").token())) == "unknown signing key"
    assert harness.fetches == 2
    harness.serve(RSA, EC, ROTATED)
    harness.clock.advance(29)
    for kid in ("made-up-2", "made-up-3", ROTATED.kid):
        assert reason(harness.verify(Signer(kid, ROTATED.key, "RS256").token())) == "unknown signing key"
    assert harness.fetches == 2
    harness.clock.advance(1)
    assert isinstance(harness.verify(ROTATED.token()), dict)
    assert harness.fetches == 3


def test_concurrent_verifications_share_one_fetch(harness: Harness) -> None:
    async def slow_jwks(request: httpx.Request) -> httpx.Response:
        for _ in range(5):
            await asyncio.sleep(0)  # the network: the answer comes in a later turn of the loop
        return jwks_answer(RSA, EC)

    harness.jwks.mock(side_effect=slow_jwks)
    outcomes = harness.verify_together([RSA.token(), EC.token()] * 10)
    assert outcomes == [good_claims()] * 20
    assert harness.fetches == 1


# When the keys cannot be fetched


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (httpx.Response(500), "the JWKS URL answered HTTP 500"),
        (httpx.Response(404, json={"keys": []}), "the JWKS URL answered HTTP 404"),
        (httpx.ConnectError("connection refused"), "the request failed (ConnectError)"),
        (httpx.ReadTimeout("timed out"), "the request failed (ReadTimeout)"),
        (httpx.Response(200, text="<html>sign in</html>"), "the JWKS URL did not answer JSON"),
        (httpx.Response(200, json=[{"kty": "RSA"}]), "the answer is not a JWKS (a JSON object with a list of keys)"),
        (httpx.Response(200, json={"keys": []}), "the JWKS holds no usable signing key for RS256, ES256"),
        (jwks_answer(EC.jwk(alg="ES512")), "the JWKS holds no usable signing key for RS256, ES256"),
    ],
    ids=["500", "404", "connect-error", "timeout", "not-json", "not-a-jwks", "no-keys", "no-usable-key"],
)
def test_with_nothing_cached_a_failed_fetch_makes_the_keys_unavailable(
    harness: Harness, answer: httpx.Response | Exception, expected: str
) -> None:
    harness.fail(answer)
    assert unavailable(harness.verify(RSA.token())) == f"the signing keys cannot be fetched: {expected}"
    assert harness.fetches == 1


def test_a_failed_fetch_is_retried_only_after_refetch_seconds(harness: Harness) -> None:
    harness.fail(httpx.ConnectError("connection refused"))
    for _ in range(5):
        assert isinstance(harness.verify(RSA.token()), JwksUnavailable)
        harness.clock.advance(5)
    assert harness.fetches == 1
    harness.serve(RSA)
    harness.clock.advance(5)
    assert harness.verify(RSA.token()) == good_claims()
    assert harness.fetches == 2


def test_cached_keys_still_verify_when_a_refetch_fails(harness: Harness) -> None:
    assert isinstance(harness.verify(RSA.token()), dict)
    harness.fail(httpx.Response(503))
    harness.clock.advance(60)
    assert (
        unavailable(harness.verify(ROTATED.token()))
        == "the signing keys cannot be fetched: the JWKS URL answered HTTP 503"
    )
    assert harness.verify(RSA.token()) == good_claims()
    assert harness.fetches == 2


def test_expired_keys_are_used_while_the_provider_cannot_be_reached(harness: Harness) -> None:
    assert isinstance(harness.verify(RSA.token()), dict)
    harness.fail(httpx.ConnectError("connection refused"))
    harness.clock.advance(301)
    assert harness.verify(RSA.token()) == good_claims()
    harness.clock.advance(29)
    assert harness.verify(EC.token()) == good_claims()
    assert harness.fetches == 2  # one failed refetch every refetch_seconds, not one per token
    harness.clock.advance(1)
    assert isinstance(harness.verify(RSA.token()), dict)
    assert harness.fetches == 3


# parse_jwt_settings

WHERE = "auth.jwt"


def test_settings_from_the_config_section() -> None:
    section = {
        "jwksUrl": "https://backstage.example.com/api/auth/.well-known/jwks.json",
        "issuer": "https://backstage.example.com/api/auth",
        "audience": ["backstage", "stairway"],
        "algorithms": ["ES256", "RS256", "PS256", "EdDSA"],
        "leewaySeconds": 10,
        "cacheSeconds": 600.5,
    }
    assert parse_jwt_settings(section, WHERE) == JwtSettings(
        jwks_url="https://backstage.example.com/api/auth/.well-known/jwks.json",
        issuer="https://backstage.example.com/api/auth",
        audience=("backstage", "stairway"),
        algorithms=("ES256", "RS256", "PS256", "EdDSA"),
        leeway_seconds=10.0,
        cache_seconds=600.5,
    )


def test_settings_need_only_the_jwks_url() -> None:
    assert parse_jwt_settings({"jwksUrl": "http://backstage:7007/api/auth/.well-known/jwks.json"}, WHERE) == (
        JwtSettings(jwks_url="http://backstage:7007/api/auth/.well-known/jwks.json")
    )
    assert parse_jwt_settings({"jwksUrl": JWKS_URL, "audience": "backstage"}, WHERE).audience == ("backstage",)


NEVER = "with public keys, anyone could sign such tokens"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({}, "auth.jwt.jwksUrl is required: the URL of the signing keys (JWKS)"),
        ({"jwksUrl": JWKS_URL, "jwks_url": JWKS_URL}, "auth.jwt: unknown key 'jwks_url' (known: jwksUrl, issuer, "),
        ({"jwksUrl": "ftp://idp.example.test/jwks"}, "auth.jwt.jwksUrl must be an http(s) URL, like https://"),
        ({"jwksUrl": "https:///jwks.json"}, "auth.jwt.jwksUrl must be an http(s) URL"),
        ({"jwksUrl": 42}, "auth.jwt.jwksUrl must be an http(s) URL"),
        ({"jwksUrl": JWKS_URL, "issuer": ""}, "auth.jwt.issuer must be a non-empty string"),
        ({"jwksUrl": JWKS_URL, "audience": ["ok", 7]}, "auth.jwt.audience must be a string or a list of strings"),
        (
            {"jwksUrl": JWKS_URL, "algorithms": ["RS256", "none"]},
            f"auth.jwt.algorithms: 'none' is never accepted: {NEVER}",
        ),
        ({"jwksUrl": JWKS_URL, "algorithms": ["HS256"]}, f"auth.jwt.algorithms: 'HS256' is never accepted: {NEVER}"),
        ({"jwksUrl": JWKS_URL, "algorithms": "hs512"}, f"auth.jwt.algorithms: 'hs512' is never accepted: {NEVER}"),
        ({"jwksUrl": JWKS_URL, "algorithms": ["RS257"]}, "auth.jwt.algorithms: unknown algorithm 'RS257' (known: "),
        ({"jwksUrl": JWKS_URL, "algorithms": []}, "auth.jwt.algorithms must name at least one algorithm"),
        ({"jwksUrl": JWKS_URL, "leewaySeconds": "30"}, "auth.jwt.leewaySeconds must be a number of seconds, 0 or more"),
        ({"jwksUrl": JWKS_URL, "leewaySeconds": True}, "auth.jwt.leewaySeconds must be a number of seconds, 0 or more"),
        ({"jwksUrl": JWKS_URL, "cacheSeconds": -1}, "auth.jwt.cacheSeconds must be a number of seconds, 0 or more"),
        ({"jwksUrl": JWKS_URL, "cacheSeconds": float("inf")}, "auth.jwt.cacheSeconds must be a number of seconds"),
    ],
    ids=[
        "no-url",
        "unknown-key",
        "ftp-url",
        "url-without-host",
        "url-not-a-string",
        "empty-issuer",
        "audience-not-strings",
        "alg-none",
        "alg-hs256",
        "alg-hs512-lowercase",
        "alg-unknown",
        "no-algorithms",
        "leeway-a-string",
        "leeway-a-boolean",
        "cache-negative",
        "cache-infinite",
    ],
)
def test_settings_refused_name_the_key(section: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as refusal:
        parse_jwt_settings(section, WHERE)
    assert str(refusal.value).startswith(message)
