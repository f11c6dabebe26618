"""Evidence packs over the example catalogue: what a governance board gets for one component, its digest
checked byte for byte, its signature, and the refusals after tampering or re-signing."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from catalog.ingest import ingest
from scorecards.definitions import Scorecard, load_scorecards, parse_scorecard, read_scorecards
from scorecards.delivery import take_deployments, take_incidents
from scorecards.dora import DORA_2024
from scorecards.evidence import EntityNotFound, build_pack, definition_digest
from scorecards.evidence_report import render_markdown
from scorecards.evidence_seal import (
    EvidenceKeyError,
    canonical,
    configured_signing_key,
    key_id,
    load_public_key,
    load_signing_key,
    seal,
    verify,
)
from scorecards.exemptions import create_exemption
from scorecards.results import store_results, take_facts
from tests.conftest import EXAMPLES

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
REPORTED = NOW - timedelta(days=1)  # CI's facts
WATCHED = REPORTED + timedelta(hours=2)  # monitoring's, the same day
MODEL = "component:default/fraud-detection-model"
CARD = "ai-platform-maturity"
DEFINITION = EXAMPLES.parent / "scorecards" / f"{CARD}.yaml"
CI_FACTS = {
    "dataValidation": True,
    "trainingPipeline": True,
    "evaluationGate": True,
    "artifactVersioned": True,
    "signedArtifacts": True,
    "sbom": True,
    "registryPromotion": "automated",
}  # no policyChecks: that check is exempted below
MONITORING_FACTS = {
    "dataQualityAlerts": True,
    "driftMonitoring": True,
    "sloAttainment": 0.997,
    "lastRetraining": {"run": "train-2026-11-19"},
}


@pytest.fixture
def scorecards() -> list[Scorecard]:
    cards, problems = load_scorecards([str(DEFINITION.parent)])
    assert not problems
    return cards


def submit(engine: Engine, scorecards: list[Scorecard], source: str, facts: dict[str, Any], at: datetime) -> None:
    body = {"entityRef": MODEL, "source": source, "facts": facts, "observedAt": at.isoformat()}
    with engine.begin() as connection:
        take_facts(connection, scorecards, body, at)


def deployment(number: int, days_ago: int, **fields: Any) -> dict[str, Any]:
    finished = NOW - timedelta(days=days_ago)
    return {
        "id": f"deploy-{number}",
        "entityRef": MODEL,
        "finishedAt": finished.isoformat(),
        "status": "success",
        **fields,
    }


def exempt(engine: Engine, scorecards: list[Scorecard], check: str, reason: str) -> None:
    with engine.begin() as connection:
        create_exemption(
            connection,
            scorecards,
            entity_ref=MODEL,
            scorecard=CARD,
            check=check,
            reason=reason,
            expires_at=NOW + timedelta(days=60),
            now=NOW,
            created_by="user:default/alice",
        )


@pytest.fixture
def catalogue(engine: Engine, scorecards: list[Scorecard]) -> Engine:
    """The model's delivery events, then the examples scored two days ago (level 2), facts yesterday (level
    4), and two exemptions today (level 5: on paper, its delivery is LOW)."""
    assert ingest(engine, [str(EXAMPLES)], workers=0).errors == 0
    # Two production deployments in the window (one failed, with an incident 3 hours long), one in
    # staging and one 100 days ago: neither of those counts.
    opened = NOW - timedelta(days=19)
    with engine.begin() as connection:
        deployments = [
            deployment(1, 10, leadTimeSeconds=2 * 3600),
            deployment(2, 20, status="failure"),
            deployment(3, 5, environment="staging"),
            deployment(4, 100),
        ]
        take_deployments(connection, deployments, NOW - timedelta(days=2))
        incident = {
            "id": "inc-1",
            "entityRef": MODEL,
            "openedAt": opened.isoformat(),
            "resolvedAt": (opened + timedelta(hours=3)).isoformat(),
            "deploymentId": "deploy-2",
        }
        take_incidents(connection, incident, NOW - timedelta(days=2))
        store_results(connection, scorecards, None, NOW - timedelta(days=2))
    submit(engine, scorecards, "ci", CI_FACTS, REPORTED)
    submit(engine, scorecards, "monitoring", MONITORING_FACTS, WATCHED)
    submit(engine, scorecards, "deploy", {"automaticRollback": True}, WATCHED)
    submit(engine, scorecards, "governance", {"riskReview": "approved"}, WATCHED)
    exempt(engine, scorecards, "policies-checked-continuously", "the policy engine reaches this team in Q1")
    exempt(engine, scorecards, "high-delivery-performance", "the new deploy pipeline lands in Q1")
    with engine.begin() as connection:
        store_results(connection, scorecards, [MODEL], NOW)
    return engine


@pytest.fixture
def pack(catalogue: Engine, scorecards: list[Scorecard]) -> dict[str, Any]:
    with catalogue.connect() as connection:
        return build_pack(connection, scorecards, "Component:fraud-detection-model", NOW, DORA_2024)


def at(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_a_pack_names_the_entity_its_owner_risk_tier_and_model_card(pack: dict[str, Any]) -> None:
    assert pack["schema"] == "stairway.evidence-pack/v1"
    assert pack["generatedAt"] == "2026-11-26T12:00:00Z"
    entity = pack["entity"]
    assert (entity["ref"], entity["kind"]) == (MODEL, "Component")
    assert entity["descriptor"]["metadata"]["title"] == "Fraud detection model"
    assert entity["descriptor"]["spec"]["dependsOn"] == ["resource:feature-store", "resource:model-registry"]
    assert entity["location"].endswith("fraud-detection-model/catalog-info.yaml")
    assert pack["owner"] == {"ref": "group:default/fraud-detection", "title": "Fraud Detection", "inCatalogue": True}
    assert pack["riskTier"] == "high"
    assert pack["modelCards"] == ["https://docs.northwind.example.com/model-cards/fraud-detection-model"]


def test_lineage_goes_two_hops_each_way_with_each_neighbours_level(pack: dict[str, Any]) -> None:
    def item(ref: str, hops: int, via: str, through: str | None, level: int | None) -> dict[str, Any]:
        return {"ref": ref, "hops": hops, "via": via, "through": through, "inCatalogue": True, "levels": {CARD: level}}

    # Resources and APIs are outside the scorecard's filter: no level. fraud-scoring-service is at 1: it
    # has no dashboard (a Repeatable check).
    assert pack["lineage"] == {
        "dependsOn": [
            item("resource:default/feature-store", 1, "dependsOn", None, None),
            item("resource:default/model-registry", 1, "dependsOn", None, None),
            item("resource:default/feature-store-db", 2, "dependsOn", "resource:default/feature-store", None),
            item("resource:default/model-artifacts-bucket", 2, "dependsOn", "resource:default/model-registry", None),
        ],
        "dependedOnBy": [
            item("component:default/fraud-scoring-service", 1, "dependencyOf", None, 1),
            item("api:default/fraud-scoring-api", 2, "providesApi", "component:default/fraud-scoring-service", None),
        ],
    }


def test_lineage_follows_apis_to_the_components_behind_them(catalogue: Engine, scorecards: list[Scorecard]) -> None:
    with catalogue.connect() as connection:
        pack = build_pack(connection, scorecards, "component:default/storefront-web", NOW, DORA_2024)
    reached = {item["ref"]: (item["hops"], item["via"], item["through"]) for item in pack["lineage"]["dependsOn"]}
    assert reached["api:default/recommendations-api"] == (1, "consumesApi", None)
    assert reached["component:default/recommendation-api"] == (2, "apiProvidedBy", "api:default/recommendations-api")
    assert reached["component:default/product-catalog-service"] == (1, "dependsOn", None)
    assert "component:default/ranking-model" not in reached  # three hops away


def test_an_unresolved_dependency_is_listed_as_not_in_the_catalogue(
    catalogue: Engine, scorecards: list[Scorecard]
) -> None:
    with catalogue.connect() as connection:
        pack = build_pack(connection, scorecards, "component:default/clickstream-etl", NOW, DORA_2024)
    assert pack["lineage"]["dependsOn"] == [
        {
            "ref": "resource:default/legacy-clickstream-db",
            "hops": 1,
            "via": "dependsOn",
            "through": None,
            "inCatalogue": False,
            "levels": {CARD: None},
        }
    ]


def test_every_check_has_its_status_observed_value_and_fact_times(pack: dict[str, Any]) -> None:
    (card,) = pack["scorecards"]
    assert card["name"] == CARD
    assert card["level"] == {"ordinal": 5, "id": "self-improving", "title": "Self-improving"}
    checks = {check["id"]: check for check in card["checks"]}
    assert len(checks) == 29
    assert {key: check["status"] for key, check in checks.items() if check["status"] != "PASSED"} == {
        "policies-checked-continuously": "EXEMPT",
        "high-delivery-performance": "EXEMPT",
    }
    fast = checks["fast-feedback"]
    assert (fast["observed"], fast["message"]) == (2.0, "dora.leadTimeHours was 2.0 over the last 90 days")
    assert fast["factTimestamps"] == {}  # computed from the delivery events, which the pack's dora counts
    validated = checks["data-validated-in-ci"]
    assert (validated["level"], validated["area"], validated["observed"]) == ("managed", "data", True)
    assert validated["message"] == "facts.ci.dataValidation was true on 2026-11-25"
    assert validated["factTimestamps"] == {"facts.ci.dataValidation": at(REPORTED)}
    assert checks["artifacts-signed"]["factTimestamps"] == {
        "facts.ci.signedArtifacts": at(REPORTED),
        "facts.ci.sbom": at(REPORTED),
    }
    assert checks["monitoring-triggered-retraining"]["factTimestamps"] == {
        "facts.monitoring.lastRetraining": at(WATCHED)
    }
    assert checks["has-docs"]["factTimestamps"] == {}  # read from the descriptor
    assert checks["has-docs"]["observed"] == "dir:."
    exempt = checks["policies-checked-continuously"]
    assert exempt["factTimestamps"] == {"facts.ci.policyChecks": None}  # never reported
    assert exempt["message"].startswith("exempt until 2027-01-25: the policy engine reaches this team in Q1")


def test_exemptions_and_level_history_are_in_the_pack(pack: dict[str, Any]) -> None:
    (card,) = pack["scorecards"]
    assert card["exemptions"] == [
        {
            "check": "high-delivery-performance",
            "reason": "the new deploy pipeline lands in Q1",
            "createdBy": "user:default/alice",
            "createdAt": "2026-11-26T12:00:00Z",
            "expiresAt": "2027-01-25T12:00:00Z",
        },
        {
            "check": "policies-checked-continuously",
            "reason": "the policy engine reaches this team in Q1",
            "createdBy": "user:default/alice",
            "createdAt": "2026-11-26T12:00:00Z",
            "expiresAt": "2027-01-25T12:00:00Z",
        },
    ]
    # Two days ago without facts (Managed needs facts.ci.dataValidation), yesterday with them but
    # without policyChecks and a LOW delivery band (Self-improving checks), today with both exempted.
    assert card["history"] == [
        {"day": "2026-11-24", "level": 2},
        {"day": "2026-11-25", "level": 4},
        {"day": "2026-11-26", "level": 5},
    ]


def test_a_level_its_delivery_does_not_bear_out_is_flagged_as_paper_maturity(pack: dict[str, Any]) -> None:
    (card,) = pack["scorecards"]
    assert card["paperMaturity"] == {
        "band": "LOW",
        "reason": "level 5 (Self-improving), but its DORA band over the last 90 days is LOW (dora-2024): "
        "deployment frequency 0.16 a week, change failure rate 50%",
    }


def test_the_pack_carries_the_dora_keys_and_the_events_behind_them(pack: dict[str, Any]) -> None:
    assert pack["dora"] == {
        "deployments": 2,
        "failures": 1,  # deploy-2 failed (and has inc-1)
        "deploymentsPerWeek": pytest.approx(2 * 7 / 90),
        "leadTimeHours": pytest.approx(2.0),  # deploy-1's, the only successful one
        "changeFailureRate": 0.5,
        "recoveryHours": pytest.approx(3.0),
        "bands": {
            "deploymentFrequency": "LOW",  # 0.16 a week: less than monthly
            "leadTime": "ELITE",
            "changeFailureRate": "LOW",  # 50%: nearest the low cluster's 40%
            "recoveryTime": "HIGH",
        },
        "band": "LOW",
        "profile": "dora-2024",
        "windowDays": 90,
        "events": {"environment": "production", "deployments": 2, "incidents": 1},
    }


def test_a_scorecard_is_identified_by_the_digest_of_its_definition(pack: dict[str, Any], tmp_path: Path) -> None:
    (card,) = pack["scorecards"]
    assert card["definition"]["apiVersion"] == "stairway.dev/v1alpha1"
    digest = card["definition"]["digest"]
    assert digest.startswith("sha256:") and len(digest) == len("sha256:") + 64
    # The same definition laid out differently (flow style, no comments) has the same digest ...
    data = yaml.safe_load(DEFINITION.read_text(encoding="utf-8"))
    relaid = tmp_path / "relaid.yaml"
    relaid.write_text(yaml.safe_dump(data, default_flow_style=True), encoding="utf-8")
    (same,), problems = read_scorecards(str(relaid))
    assert not problems and definition_digest(same) == digest
    # ... and one changed threshold makes another.
    data["spec"]["checks"][-1]["rule"]["all"][1]["value"] = 0.2
    changed, problems = parse_scorecard(data, "changed.yaml")
    assert changed is not None and not problems and definition_digest(changed) != digest


def test_an_unknown_entity_is_refused(catalogue: Engine, scorecards: list[Scorecard]) -> None:
    with catalogue.connect() as connection, pytest.raises(EntityNotFound) as refused:
        build_pack(connection, scorecards, "component:default/nope", NOW, DORA_2024)
    assert str(refused.value) == "no entity component:default/nope in the catalogue"
    assert isinstance(refused.value, KeyError)


def test_the_digest_is_the_sha256_of_the_canonical_json(pack: dict[str, Any]) -> None:
    sealed = seal(pack)
    content = {key: value for key, value in sealed.items() if key not in ("integrity", "signature")}
    # Computed here with the standard library: sorted keys, no whitespace, UTF-8.
    expected = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert canonical(content) == expected
    assert sealed["integrity"] == {"algorithm": "sha256", "digest": hashlib.sha256(expected).hexdigest()}
    assert "signature" not in sealed
    assert verify(sealed) == []
    # What a client reads back (any JSON library, any layout) verifies too.
    assert verify(json.loads(json.dumps(sealed, indent=3))) == []


def test_a_signed_pack_verifies_and_is_refused_after_tampering(pack: dict[str, Any]) -> None:
    key = Ed25519PrivateKey.generate()
    sealed = seal(pack, key)
    content = canonical({k: v for k, v in sealed.items() if k not in ("integrity", "signature")})
    signature = sealed["signature"]
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert signature["algorithm"] == "ed25519"
    assert signature["keyId"] == hashlib.sha256(raw).hexdigest()[:16] == key_id(key.public_key())
    key.public_key().verify(base64.b64decode(signature["value"]), content)  # raises when it is not valid
    assert verify(sealed, key.public_key()) == []

    tampered = copy.deepcopy(sealed)
    tampered["riskTier"] = "low"
    problems = verify(tampered, key.public_key())
    assert problems[0].startswith("the pack was changed after it was made: its digest says sha256:")
    assert problems[1] == f"the signature is not valid for the pack's content under key {key_id(key.public_key())}"
    assert verify(tampered) == problems[:1]


def test_a_pack_resigned_with_another_key_is_refused(pack: dict[str, Any]) -> None:
    ours, theirs = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    changed = copy.deepcopy(seal(pack, ours))
    changed["riskTier"] = "low"
    forged = seal(changed, theirs)  # digest recomputed: only the signature can tell
    assert verify(forged) == []
    assert verify(forged, ours.public_key()) == [
        f"signed by another key: {key_id(theirs.public_key())}, not {key_id(ours.public_key())}"
    ]
    unsigned = seal(changed)
    assert verify(unsigned, ours.public_key()) == [
        f"the pack is not signed (key {key_id(ours.public_key())} was expected to sign it)"
    ]


def test_verify_says_what_is_not_a_pack() -> None:
    assert verify([1, 2]) == ["not an evidence pack: a JSON object is expected"]
    assert verify({"schema": "other"}) == [
        "not an evidence pack: its schema is not stairway.evidence-pack/v1",
        "the pack has no integrity digest",
    ]


def test_keys_are_read_from_pem_files(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    private = tmp_path / "evidence.pem"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public = tmp_path / "evidence.pub.pem"
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    expected = key_id(key.public_key())
    assert key_id(load_signing_key(private).public_key()) == expected
    assert key_id(load_public_key(public)) == key_id(load_public_key(private)) == expected
    loaded = configured_signing_key({"STAIRWAY_EVIDENCE_KEY": str(private)})
    assert loaded is not None and key_id(loaded.public_key()) == expected
    assert configured_signing_key({}) is None
    with pytest.raises(EvidenceKeyError, match="cannot read the signing key"):
        configured_signing_key({"STAIRWAY_EVIDENCE_KEY": str(tmp_path / "missing.pem")})
    with pytest.raises(EvidenceKeyError, match="not a PEM private key"):
        load_signing_key(public)


def test_the_markdown_report_has_the_same_content_under_headings(pack: dict[str, Any]) -> None:
    sealed = seal(pack, Ed25519PrivateKey.generate())
    report = render_markdown(sealed)
    headings = [line for line in report.splitlines() if line.startswith("#")]
    assert headings == [
        f"# Evidence pack: {MODEL}",
        "## Summary",
        "## Lineage",
        "### Depends on",
        "### Depended on by",
        f"## Scorecard: AI platform maturity ({CARD})",
        "### Checks",
        "### Exemptions",
        "### Level history",
        "## DORA (dora-2024, 90 days)",
        "## Integrity",
        "## Descriptor",
    ]
    assert "| Risk tier | high |" in report
    assert "| component:default/fraud-scoring-service | 1 | dependencyOf |  | 1 |" in report
    assert "| managed | data | data-validated-in-ci | PASSED | true | facts.ci.dataValidation was true on " in report
    assert (
        "| policies-checked-continuously | the policy engine reaches this team in Q1 | user:default/alice |" in report
    )
    assert "| 2026-11-25 | 4 |" in report
    assert "**Paper maturity:** level 5 (Self-improving), but its DORA band over the last 90 days is LOW " in report
    assert "| Change failure rate | 50.0% | LOW |" in report
    assert f"`{sealed['integrity']['digest']}`" in report
    assert f"by key `{sealed['signature']['keyId']}`" in report
