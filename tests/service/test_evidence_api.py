"""Evidence packs as the governance board pulls them: over REST (JSON and Markdown), GraphQL, and the
`stairway evidence` command, which also verifies a pack file."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import strawberry
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy.engine import Engine

from catalog.tables import utc_now
from scorecards.definitions import Scorecard, load_scorecards
from scorecards.evidence_seal import key_id, verify
from service.app import create_app
from service.auth_config import parse_auth
from service.config import Config
from service.evidence_cli import add_commands
from service.evidence_routes import EvidencePack, add_evidence_routes
from service.graphql.context import RequestContext
from service.graphql.evidence_types import EvidenceQuery
from service.settings import Settings
from tests.conftest import EXAMPLES
from tests.service.conftest import TestClient, open_config, report_examples

MODEL = "component:default/fraud-detection-model"
PATH = "/api/evidence-packs/{kind}/{namespace}/{name}"
URL = "/api/evidence-packs/component/default/fraud-detection-model"
SCORECARDS = EXAMPLES.parent / "scorecards"


def with_evidence(app: FastAPI, config: Config) -> FastAPI:
    """The app with the evidence route, whether or not create_app registers it already."""
    if not any(isinstance(route, APIRoute) and route.path == PATH for route in app.routes):
        add_evidence_routes(app, config)
    return app


def pem_files(folder: Path, key: Ed25519PrivateKey) -> tuple[Path, Path]:
    """The key's private and public PEM files."""
    private, public = folder / "evidence.pem", folder / "evidence.pub.pem"
    none = serialization.NoEncryption()
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, none))
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return private, public


@pytest.fixture
def scorecards() -> list[Scorecard]:
    cards, problems = load_scorecards([str(SCORECARDS)])
    assert not problems
    return cards


@pytest.fixture
def scored(examples: Engine, scorecards: list[Scorecard]) -> Engine:
    """The example catalogue scored, with the example facts and delivery events submitted."""
    now = utc_now()
    with examples.begin() as connection:
        report_examples(connection, scorecards, now)
    return examples


@pytest.fixture
def key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Ed25519PrivateKey:
    """The signing key STAIRWAY_EVIDENCE_KEY names."""
    signing = Ed25519PrivateKey.generate()
    private, _public = pem_files(tmp_path, signing)
    monkeypatch.setenv("STAIRWAY_EVIDENCE_KEY", str(private))
    return signing


def serve(database: str, config: Config) -> TestClient:
    settings = Settings(database_url=database, config=config, scorecard_folders=(str(SCORECARDS),))
    return TestClient(with_evidence(create_app(settings), config))


@pytest.fixture
def client(scored: Engine, database: str) -> Iterator[TestClient]:
    with serve(database, open_config()) as client:
        yield client


def test_the_pack_is_served_as_sealed_json(client: TestClient, key: Ed25519PrivateKey) -> None:
    response = client.get(URL)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    pack = response.json()
    EvidencePack.model_validate(pack)  # the shape the OpenAPI document declares
    assert pack["entity"]["ref"] == MODEL
    assert pack["owner"]["ref"] == "group:default/fraud-detection"
    assert pack["scorecards"][0]["level"]["ordinal"] == 5  # every check passes with the example facts
    assert pack["signature"]["keyId"] == key_id(key.public_key())
    assert verify(pack, key.public_key()) == []


def test_the_path_takes_any_case(client: TestClient) -> None:
    response = client.get("/api/evidence-packs/Component/Default/Fraud-Detection-Model")
    assert response.status_code == 200
    assert response.json()["entity"]["ref"] == MODEL
    assert "signature" not in response.json()  # no key configured


def test_the_pack_as_a_markdown_report(client: TestClient) -> None:
    response = client.get(URL, params={"format": "markdown"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    report = response.text
    assert report.startswith(f"# Evidence pack: {MODEL}\n")
    for heading in (
        "## Lineage",
        "## Scorecard: AI platform maturity (ai-platform-maturity)",
        "## DORA",
        "## Integrity",
    ):
        assert f"\n{heading}" in report


def test_an_unknown_entity_or_format_is_refused(client: TestClient) -> None:
    missing = client.get("/api/evidence-packs/component/default/nope")
    assert (missing.status_code, missing.json()) == (
        404,
        {"error": "no entity component:default/nope in the catalogue"},
    )
    unknown = client.get(URL, params={"format": "pdf"})
    assert (unknown.status_code, unknown.json()) == (
        400,
        {"error": "unknown format 'pdf': json or markdown", "field": "format"},
    )


def test_reading_a_pack_needs_the_read_scope(scored: Engine, database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAIRWAY_TEST_READ_TOKEN", "read-token-0123456789abcdef")
    monkeypatch.setenv("STAIRWAY_TEST_CI_TOKEN", "ci-token-0123456789abcdef")
    auth = parse_auth(
        {
            "tokens": [
                {"name": "reader", "tokenEnv": "STAIRWAY_TEST_READ_TOKEN", "scopes": ["read"]},
                {"name": "ci", "tokenEnv": "STAIRWAY_TEST_CI_TOKEN", "scopes": ["facts:write"]},
            ]
        }
    )
    with serve(database, Config(auth=auth)) as client:
        anonymous = client.get(URL)
        assert anonymous.status_code == 401 and "WWW-Authenticate" in anonymous.headers
        ci = client.get(URL, headers={"Authorization": "Bearer ci-token-0123456789abcdef"})
        assert (ci.status_code, ci.json()) == (403, {"error": "token:ci may not do this: it needs the read scope"})
        reader = client.get(URL, headers={"Authorization": "Bearer read-token-0123456789abcdef"})
        assert reader.status_code == 200


def test_the_openapi_document_declares_every_answer() -> None:
    app = with_evidence(create_app(Settings(database_url="sqlite://")), Config())
    operation = app.openapi()["paths"][PATH]["get"]
    assert set(operation["responses"]) >= {"200", "400", "401", "403", "404", "500"}
    assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/markdown"}
    (form,) = (parameter for parameter in operation["parameters"] if parameter["name"] == "format")
    assert form["schema"]["enum"] == ["json", "markdown"]


def run_query(engine: Engine, scorecards: list[Scorecard], query: str, **variables: Any) -> Any:
    schema = strawberry.Schema(query=EvidenceQuery)
    context = RequestContext(engine, scorecards, open_config())
    return asyncio.run(schema.execute(query, variable_values=variables, context_value=context))


def test_graphql_returns_the_same_sealed_json(
    scored: Engine, scorecards: list[Scorecard], key: Ed25519PrivateKey
) -> None:
    query = "query($ref: String!) { evidencePack(ref: $ref) }"
    result = run_query(scored, scorecards, query, ref="component:fraud-detection-model")
    assert result.errors is None
    pack = result.data["evidencePack"]
    assert pack["entity"]["ref"] == MODEL
    assert verify(pack, key.public_key()) == []
    assert run_query(scored, scorecards, query, ref="component:nope").data == {"evidencePack": None}
    refused = run_query(scored, scorecards, query, ref="nope")
    assert refused.errors[0].extensions == {"code": "BAD_USER_INPUT", "argument": "ref"}


def stairway(argv: list[str]) -> int:
    """`stairway ARGV` with the evidence commands, as service.cli builds its parser."""
    parser = argparse.ArgumentParser(prog="stairway")
    parser.add_argument("--config", default=None)
    add_commands(parser.add_subparsers(required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    return int(args.run(args))


@pytest.fixture
def command(cli: Path, scored: Engine) -> Path:
    """The commands' working directory, on the scored example catalogue."""
    return cli


def test_the_command_writes_a_signed_pack_that_verifies(
    command: Path, key: Ed25519PrivateKey, capsys: pytest.CaptureFixture[str]
) -> None:
    out = command / "pack.json"
    assert stairway(["evidence", "component:fraud-detection-model", "--out", str(out)]) == 0
    pack = json.loads(out.read_text(encoding="utf-8"))
    kid = key_id(key.public_key())
    digest = pack["integrity"]["digest"]
    made = capsys.readouterr()
    assert made.out == ""
    assert made.err == f"evidence pack for {MODEL}: sha256:{digest}, signed by key {kid}; written to {out}\n"

    assert stairway(["evidence", "verify", str(out)]) == 0  # the public key from STAIRWAY_EVIDENCE_KEY
    assert capsys.readouterr().out == f"verified: digest sha256:{digest} signed by key {kid}\n"

    pack["riskTier"] = "low"
    out.write_text(json.dumps(pack, indent=2), encoding="utf-8")
    assert stairway(["evidence", "verify", str(out)]) == 1
    refused = capsys.readouterr().err.splitlines()
    assert refused[0].startswith(f"{out}: the pack was changed after it was made: its digest says sha256:{digest}")
    assert refused[-1] == f"{out}: not verified"


def test_verify_refuses_a_pack_signed_by_another_key(
    command: Path, key: Ed25519PrivateKey, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = command / "pack.json"
    assert stairway(["evidence", MODEL, "--out", str(out)]) == 0
    other = Ed25519PrivateKey.generate()
    (tmp_path / "other").mkdir()
    _private, public = pem_files(tmp_path / "other", other)
    capsys.readouterr()
    assert stairway(["evidence", "verify", str(out), "--public-key", str(public)]) == 1
    assert capsys.readouterr().err.splitlines()[0] == (
        f"{out}: signed by another key: {key_id(key.public_key())}, not {key_id(other.public_key())}"
    )


def test_an_unsigned_pack_verifies_its_digest(
    command: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("STAIRWAY_EVIDENCE_KEY", raising=False)
    assert stairway(["evidence", MODEL]) == 0
    printed = capsys.readouterr()
    pack = json.loads(printed.out)
    assert printed.err.endswith(", not signed\n")
    (command / "pack.json").write_text(printed.out, encoding="utf-8")
    assert stairway(["evidence", "verify", "pack.json"]) == 0
    assert capsys.readouterr().out == f"verified: digest sha256:{pack['integrity']['digest']} (not signed)\n"


def test_the_command_prints_the_markdown_report(command: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert stairway(["evidence", MODEL, "--format", "markdown"]) == 0
    assert capsys.readouterr().out.startswith(f"# Evidence pack: {MODEL}\n")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["evidence", "component:nope"], "stairway: no entity component:default/nope in the catalogue"),
        (["evidence", "nope"], 'stairway: Entity reference "nope" had missing or empty kind'),
        (["evidence", MODEL, "pack.json"], "stairway: evidence REF takes no FILE"),
        (["evidence", "verify"], "stairway: evidence verify needs the FILE to check"),
        (["evidence", "verify", "missing.json"], "stairway: missing.json: cannot read it: No such file or directory"),
    ],
)
def test_the_command_says_what_it_cannot_do(
    command: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    assert stairway(arguments) == 2
    assert capsys.readouterr().err.startswith(message)
