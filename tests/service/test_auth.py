"""Who may read and who may change: static tokens, Backstage user tokens (JWT), scopes, the ownership
rule for exemptions, and the audit log of every change."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives.asymmetric import ec
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine

from service.app import create_app
from service.auth_config import parse_auth
from service.config import Config
from service.settings import Settings
from tests.conftest import EXAMPLES
from tests.service.conftest import TestClient

TOKENS = {
    "STAIRWAY_TEST_READ_TOKEN": "read-token-0123456789abcdef",
    "STAIRWAY_TEST_CI_TOKEN": "ci-token-0123456789abcdef",
    "STAIRWAY_TEST_ADMIN_TOKEN": "admin-token-0123456789abcdef",
}
READER, CI, ADMIN = (f"Bearer {value}" for value in TOKENS.values())
JWKS_URL = "https://backstage.example.test/api/auth/.well-known/jwks.json"
ISSUER = "https://backstage.example.test/api/auth"
SIGNING_KEY = ec.generate_private_key(ec.SECP256R1())
AUTH = {
    "tokens": [
        {"name": "reader", "tokenEnv": "STAIRWAY_TEST_READ_TOKEN", "scopes": ["read"]},
        {"name": "ci", "tokenEnv": "STAIRWAY_TEST_CI_TOKEN", "scopes": ["facts:write"]},
        {"name": "admin", "tokenEnv": "STAIRWAY_TEST_ADMIN_TOKEN", "scopes": ["admin"]},
    ],
    "jwt": {"jwksUrl": JWKS_URL, "issuer": ISSUER, "audience": "backstage", "algorithms": ["ES256"]},
    "users": {"scopes": ["read"], "grants": {"admin": ["group:default/platform-team"]}},
    "ownersMayExempt": True,
}
ENTITIES = "{ entities(first: 1) { totalCount } }"
SUBMIT = """mutation { submitFacts(entityRef: "component:default/churn-prediction-model", source: "ci",
    facts: {sbom: true}) { names } }"""
EXPIRES = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
EXEMPT = f"""mutation($ref: String!) {{ createExemption(entityRef: $ref, scorecard: "ai-platform-maturity",
    check: "model-card-published", reason: "the card is being written", expiresAt: "{EXPIRES.isoformat()}") {{
    id entityRef createdBy }} }}"""
AUDIT = "{ auditLog { actor action target before after requestId } }"


def user_token(sub: str, ent: list[str] | None, **claims: Any) -> str:
    """A Backstage user token, as its auth backend signs one (without `ent` when None)."""
    now = int(time.time())
    body = {"iss": ISSUER, "aud": "backstage", "sub": sub, "iat": now, "exp": now + 3600, **claims}
    if ent is not None:
        body["ent"] = ent
    return "Bearer " + jwt.encode(body, SIGNING_KEY, algorithm="ES256", headers={"kid": "backstage-1"})


def post(client: TestClient, query: str, authorization: str | None = None, **variables: Any) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization else {}
    return client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert len(body["errors"]) == 1, body
    code: str = body["errors"][0]["extensions"]["code"]
    return code


@pytest.fixture
def jwks() -> Iterator[respx.Route]:
    """Backstage's JWKS, served for the app's own HTTP client."""
    key = {**jwt.algorithms.ECAlgorithm.to_jwk(SIGNING_KEY.public_key(), as_dict=True), "kid": "backstage-1"}
    with respx.mock(assert_all_called=False) as router:
        route = router.get(JWKS_URL).mock(return_value=httpx.Response(200, json={"keys": [key]}))
        yield route


def serve(database: str, auth: dict[str, Any] | None, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    for name, value in TOKENS.items():
        monkeypatch.setenv(name, value)
    config = Config(auth=parse_auth(auth))
    settings = Settings(database_url=database, config=config, scorecard_folders=(str(EXAMPLES.parent / "scorecards"),))
    return TestClient(create_app(settings))


@pytest.fixture
def client(examples: Engine, database: str, jwks: respx.Route, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The example catalogue behind static tokens and Backstage user tokens."""
    with serve(database, AUTH, monkeypatch) as client:
        yield client


def test_a_query_without_a_token_is_refused_with_a_challenge(client: TestClient) -> None:
    response = post(client, ENTITIES)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer realm="stairway", error="invalid_token"')
    assert error_code(response) == "UNAUTHENTICATED"
    assert client.post("/api/facts", json={}).status_code == 401


@pytest.mark.parametrize("authorization", ["Bearer not-a-known-token-at-all", "Basic YWRtaW46YWRtaW4=", "Bearer "])
def test_a_wrong_token_is_refused(client: TestClient, authorization: str) -> None:
    response = post(client, ENTITIES, authorization)
    assert (response.status_code, error_code(response)) == (401, "UNAUTHENTICATED")


def test_a_read_token_reads_and_may_not_change_anything(client: TestClient) -> None:
    assert post(client, ENTITIES, READER).json() == {"data": {"entities": {"totalCount": 54}}}
    refused = post(client, SUBMIT, READER)
    assert (refused.status_code, error_code(refused)) == (200, "FORBIDDEN")
    assert refused.json()["data"] is None
    assert "token:reader may not do this: it needs the facts:write scope" in refused.json()["errors"][0]["message"]
    strict = client.post(
        "/graphql",
        json={"query": SUBMIT},
        headers={"Authorization": READER, "Accept": "application/graphql-response+json"},
    )
    assert strict.status_code == 403
    forbidden = ("stairway_graphql_requests_total", (("operation", "anonymous"), ("outcome", "forbidden")))
    assert forbidden in {
        (sample.name, tuple(sorted(sample.labels.items())))
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for sample in family.samples
    }
    body = {"entityRef": "component:default/churn-prediction-model", "source": "ci", "facts": {"sbom": True}}
    rest = client.post("/api/facts", json=body, headers={"Authorization": READER})
    assert rest.status_code == 403 and rest.json() == {
        "error": "token:reader may not do this: it needs the facts:write scope"
    }


def test_a_ci_token_submits_facts_and_may_not_read(client: TestClient) -> None:
    body = {"entityRef": "component:default/churn-prediction-model", "source": "ci", "facts": {"sbom": True}}
    assert client.post("/api/facts", json=body, headers={"Authorization": CI}).status_code == 201
    assert post(client, SUBMIT, CI).json() == {"data": {"submitFacts": {"names": ["sbom"]}}}
    assert error_code(post(client, ENTITIES, CI)) == "FORBIDDEN"


def test_only_admins_refresh_sources_and_read_the_audit_log(client: TestClient) -> None:
    refresh = 'mutation { refreshSource(name: "nowhere") { status } }'
    assert error_code(post(client, refresh, READER)) == "FORBIDDEN"
    assert error_code(post(client, refresh, ADMIN)) == "NOT_FOUND"  # allowed; there is no such source
    assert error_code(post(client, AUDIT, READER)) == "FORBIDDEN"
    assert post(client, AUDIT, ADMIN).json() == {"data": {"auditLog": []}}


def test_every_change_is_audited_with_who_what_and_before_and_after(client: TestClient) -> None:
    ref = "component:default/churn-prediction-model"
    body = {"entityRef": ref, "source": "ci", "facts": {"sbom": False}}
    headers = {"Authorization": CI, "X-Request-ID": "ci-run-1"}
    assert client.post("/api/facts", json=body, headers=headers).status_code == 201
    assert post(client, SUBMIT, CI).status_code == 200
    made = post(client, EXEMPT, ADMIN, ref=ref).json()["data"]["createExemption"]
    assert made["createdBy"] == "token:admin"
    removed = post(client, f'mutation {{ deleteExemption(id: "{made["id"]}") {{ id }} }}', ADMIN).json()
    assert removed == {"data": {"deleteExemption": {"id": made["id"]}}}

    log = post(client, AUDIT, ADMIN).json()["data"]["auditLog"]
    exemption = {
        "id": int(made["id"]),
        "entityRef": ref,
        "scorecard": "ai-platform-maturity",
        "check": "model-card-published",
        "reason": "the card is being written",
        "expiresAt": EXPIRES.isoformat(),
        "createdBy": "token:admin",
    }
    assert [(entry["actor"], entry["action"], entry["target"]) for entry in log] == [
        ("token:admin", "deleteExemption", ref),
        ("token:admin", "createExemption", ref),
        ("token:ci", "submitFacts", ref),
        ("token:ci", "submitFacts", ref),
    ]
    assert (log[0]["before"], log[0]["after"]) == (exemption, None)
    assert (log[1]["before"], log[1]["after"]) == (None, exemption)
    assert log[2]["before"] == {"source": "ci", "facts": {"sbom": False}}
    assert log[2]["after"]["facts"] == {"sbom": True}
    assert (log[3]["before"], log[3]["after"]["facts"], log[3]["requestId"]) == (None, {"sbom": False}, "ci-run-1")


def test_a_refused_change_is_not_audited_and_changes_nothing(client: TestClient) -> None:
    ref = "component:default/churn-prediction-model"
    assert error_code(post(client, EXEMPT, READER, ref=ref)) == "FORBIDDEN"
    assert post(client, AUDIT, ADMIN).json() == {"data": {"auditLog": []}}
    checks = '{ entity(ref: "component:default/churn-prediction-model") { scorecard(name: "ai-platform-maturity") {'
    checks += " checks { exemption { id } } } } }"
    found = post(client, checks, ADMIN).json()["data"]["entity"]["scorecard"]["checks"]
    assert all(check["exemption"] is None for check in found)


def test_a_backstage_user_token_reads_and_its_groups_decide_the_rest(client: TestClient, jwks: respx.Route) -> None:
    jane = user_token("user:default/jane", ["user:default/jane", "group:default/fraud-detection"])
    assert post(client, ENTITIES, jane).json() == {"data": {"entities": {"totalCount": 54}}}
    assert error_code(post(client, AUDIT, jane)) == "FORBIDDEN"
    platform = user_token("user:default/pat", ["user:default/pat", "group:default/platform-team"])
    assert post(client, AUDIT, platform).status_code == 200  # platform-team is granted admin
    assert jwks.call_count == 1  # the keys are fetched once and kept


def test_a_token_without_ent_takes_the_users_groups_from_the_catalogue(client: TestClient) -> None:
    # Backstage 0.31 leaves `ent` out unless auth.omitIdentityTokenOwnershipClaim is false (seen on a
    # real auth backend). The example catalogue has user:default/ada in group:default/platform-team.
    members = '{ entity(ref: "group:default/platform-team") { relations(type: "hasMember") { targetRef } } }'
    found = post(client, members, ADMIN).json()["data"]["entity"]["relations"]
    member = found[0]["targetRef"]
    token = user_token(member, None)
    assert post(client, AUDIT, token).status_code == 200  # admin through the group the catalogue names
    stranger = user_token("user:default/nobody-here", None)
    assert error_code(post(client, AUDIT, stranger)) == "FORBIDDEN"


def test_owners_may_exempt_their_own_entities_and_nobody_elses(client: TestClient) -> None:
    owner_of = '{ entity(ref: "component:default/fraud-detection-model") { owner { ref } } }'
    assert post(client, owner_of, ADMIN).json()["data"]["entity"]["owner"]["ref"] == "group:default/fraud-detection"
    jane = user_token("user:default/jane", ["user:default/jane", "group:default/fraud-detection"])
    made = post(client, EXEMPT, jane, ref="component:default/fraud-detection-model").json()
    assert made["data"]["createExemption"]["createdBy"] == "user:default/jane"
    refused = post(client, EXEMPT, jane, ref="component:default/churn-prediction-model")
    assert error_code(refused) == "FORBIDDEN"
    assert (
        "user:default/jane may not change the exemptions of component:default/churn-prediction-model"
        in (refused.json()["errors"][0]["message"])
    )


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"aud": "another-app"}, "audience"),
        ({"iss": "https://evil.example.test"}, "issuer"),
    ],
)
def test_a_user_token_that_does_not_verify_is_refused(client: TestClient, claims: dict[str, Any], reason: str) -> None:
    token = user_token("user:default/jane", ["group:default/fraud-detection"], **claims)
    response = post(client, ENTITIES, token)
    assert (response.status_code, error_code(response)) == (401, "UNAUTHENTICATED")
    assert reason in response.json()["errors"][0]["message"]
    assert reason in response.headers["www-authenticate"]


def test_a_token_signed_by_another_key_is_refused(client: TestClient) -> None:
    forged = jwt.encode(
        {"iss": ISSUER, "aud": "backstage", "sub": "user:default/mallory", "exp": int(time.time()) + 60},
        ec.generate_private_key(ec.SECP256R1()),
        algorithm="ES256",
        headers={"kid": "backstage-1"},
    )
    assert post(client, ENTITIES, f"Bearer {forged}").status_code == 401


def test_without_the_identity_providers_keys_user_tokens_wait_and_static_tokens_work(
    examples: Engine, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.get(JWKS_URL).mock(return_value=httpx.Response(503))
        with serve(database, AUTH, monkeypatch) as client:
            token = user_token("user:default/jane", ["group:default/fraud-detection"])
            unavailable = post(client, ENTITIES, token)
            assert (unavailable.status_code, error_code(unavailable)) == (503, "UNAUTHENTICATED")
            assert post(client, ENTITIES, READER).status_code == 200


def test_without_any_auth_configuration_every_request_is_refused(
    examples: Engine, database: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with serve(database, None, monkeypatch) as client:
        assert post(client, ENTITIES).status_code == 401
        assert post(client, ENTITIES, READER).status_code == 401
        assert client.get("/healthz").status_code == 200  # probes need no credentials
    assert "no credentials are configured (auth.tokens, auth.jwt): every request will be refused" in caplog.text


def test_a_token_whose_secret_is_missing_or_short_is_left_out(
    examples: Engine, database: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    client = serve(database, AUTH, monkeypatch)
    monkeypatch.delenv("STAIRWAY_TEST_READ_TOKEN")
    monkeypatch.setenv("STAIRWAY_TEST_ADMIN_TOKEN", "short")
    with client:
        assert post(client, ENTITIES, READER).status_code == 401
        assert post(client, ENTITIES, "Bearer short").status_code == 401
        assert post(client, SUBMIT, CI).status_code == 200  # the others still work
    assert "auth.tokens admin is left out: $STAIRWAY_TEST_ADMIN_TOKEN holds fewer than 16 characters" in caplog.text
    assert "auth.tokens reader is left out: $STAIRWAY_TEST_READ_TOKEN is not set" in caplog.text


def test_auth_mode_none_lets_everyone_do_everything_and_says_so(
    examples: Engine, database: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with serve(database, {"mode": "none"}, monkeypatch) as client:
        assert post(client, ENTITIES).json() == {"data": {"entities": {"totalCount": 54}}}
        assert post(client, SUBMIT).json() == {"data": {"submitFacts": {"names": ["sbom"]}}}
        assert [entry["actor"] for entry in post(client, AUDIT).json()["data"]["auditLog"]] == ["anyone"]
    assert "auth.mode is none: every caller may read and change everything (local development only)" in caplog.text


def test_webhooks_authenticate_by_their_signature_alone(
    examples: Engine, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAIRWAY_TEST_WEBHOOK_SECRET", "a shared webhook secret")
    for name, value in TOKENS.items():
        monkeypatch.setenv(name, value)
    config = Config(auth=parse_auth(AUTH), github_webhook_secret_env="STAIRWAY_TEST_WEBHOOK_SECRET")
    body = b'{"zen": "Design for failure."}'
    signature = "sha256=" + hmac.new(b"a shared webhook secret", body, hashlib.sha256).hexdigest()
    with TestClient(create_app(Settings(database_url=database, config=config))) as client:
        signed = {"X-GitHub-Event": "ping", "X-Hub-Signature-256": signature, "Content-Type": "application/json"}
        assert client.post("/webhooks/github", content=body, headers=signed).status_code == 200
        unsigned = {**signed, "X-Hub-Signature-256": "sha256=" + "0" * 64, "Authorization": ADMIN}
        assert (
            client.post("/webhooks/github", content=body, headers=unsigned).status_code == 401
        )  # a token is no signature
