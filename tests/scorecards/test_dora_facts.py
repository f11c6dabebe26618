"""`dora.*` in checks: the DORA keys a component's delivery events give, read over the check's window
(its maxAge), banded by the configured profile; nothing measured is NOT_REPORTED, never a failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import Engine

from catalog.ingest import ingest
from scorecards.definitions import parse_scorecard
from scorecards.delivery import take_deployments, take_incidents
from scorecards.dora import DORA_2024, DoraKeys, parse_profile
from scorecards.dora_facts import namespace
from scorecards.results import evaluate_entities, fact_documents, store_results
from scorecards.rules import CheckStatus, FactDocument, RuleError, compile_rule
from scorecards.tables import RESULTS

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SHIPPER, QUIET = "component:default/shipper", "component:default/quiet"


def at(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat()


def measured(rule: dict[str, Any], dora: dict[int, dict[str, object]]) -> tuple[CheckStatus, object, str]:
    outcome = compile_rule(rule)(FactDocument({}, {}, NOW, dora))
    return outcome.status, outcome.observed, outcome.message


# --- the rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "field", "words"),
    [
        ({"fact": "dora.leadTime", "op": "exists"}, "rule.fact", "'dora.leadTime' is not a DORA fact: use one of"),
        ({"fact": "dora", "op": "exists"}, "rule.fact", "'dora.' is not a DORA fact"),
        ({"fact": "dora.bands.speed", "op": "exists"}, "rule.fact", "dora.bands has one band per key"),
        ({"fact": "dora.band.worst", "op": "exists"}, "rule.fact", "dora.band is a single value, not an object"),
        (
            {"fact": "dora.band", "op": "exists", "maxAge": "PT12H"},
            "rule.maxAge",
            "maxAge is the window the keys are computed over: whole days",
        ),
        ({"fact": "dora.band", "op": "exists", "maxAge": "P1DT1H"}, "rule.maxAge", "whole days"),
        ({"fact": "dora.band", "op": "exists", "maxAge": "soon"}, "rule.maxAge", "ISO-8601 duration"),
        ({"fact": "entity.spec.owner", "op": "exists", "maxAge": "P1D"}, "rule.maxAge", "facts.* and dora.* paths"),
    ],
)
def test_a_dora_rule_that_makes_no_sense_is_refused_naming_the_field(
    rule: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(RuleError) as refused:
        compile_rule(rule)
    assert refused.value.field == field
    assert words in refused.value.message


def test_max_age_is_the_window_and_the_default_is_90_days() -> None:
    dora = {30: {"deploymentsPerWeek": 0.5}, 90: {"deploymentsPerWeek": 2.0}}
    weekly = {"fact": "dora.deploymentsPerWeek", "op": "gte", "value": 1}
    assert measured(weekly, dora) == (
        CheckStatus.PASSED,
        2.0,
        "dora.deploymentsPerWeek was 2.0 over the last 90 days",
    )
    assert measured({**weekly, "maxAge": "P30D"}, dora) == (
        CheckStatus.FAILED,
        0.5,
        "dora.deploymentsPerWeek was 0.5 over the last 30 days, expected >= 1",
    )
    assert measured({**weekly, "maxAge": "P4W"}, dora)[2] == "no delivery events were reported over the last 28 days"


def test_nothing_measured_is_not_reported_never_failed() -> None:
    rule = {"fact": "dora.leadTimeHours", "op": "lte", "value": 24}
    assert measured(rule, {}) == (
        CheckStatus.NOT_REPORTED,
        None,
        "no delivery events were reported over the last 90 days",
    )
    # Events in the window, but none shipped a change: the key alone is missing.
    assert measured(rule, {90: {"deployments": 0, "failures": 0, "recoveryHours": 1.0}}) == (
        CheckStatus.NOT_REPORTED,
        None,
        "dora.leadTimeHours could not be measured over the last 90 days",
    )
    assert measured({"fact": "dora.leadTimeHours", "op": "absent"}, {})[0] is CheckStatus.PASSED
    assert measured({"not": rule}, {})[0] is CheckStatus.NOT_REPORTED


def test_bands_are_read_by_name() -> None:
    dora = {90: {"band": "MEDIUM", "bands": {"leadTime": "ELITE", "deploymentFrequency": "MEDIUM"}}}
    assert measured({"fact": "dora.band", "op": "in", "value": ["ELITE", "HIGH"]}, dora) == (
        CheckStatus.FAILED,
        "MEDIUM",
        'dora.band was "MEDIUM" over the last 90 days, expected one of ["ELITE", "HIGH"]',
    )
    assert measured({"fact": "dora.bands.leadTime", "op": "equals", "value": "ELITE"}, dora)[0] is CheckStatus.PASSED
    assert measured({"fact": "dora.bands.recoveryTime", "op": "exists"}, dora)[0] is CheckStatus.NOT_REPORTED


def test_a_rule_knows_the_windows_its_dora_facts_need() -> None:
    rule = compile_rule(
        {
            "any": [
                {"fact": "dora.band", "op": "equals", "value": "ELITE"},
                {"not": {"fact": "dora.changeFailureRate", "op": "gt", "value": 0.1, "maxAge": "P30D"}},
                {"all": [{"fact": "facts.ci.ok", "op": "exists"}, {"fact": "dora.failures", "op": "exists"}]},
            ]
        }
    )
    assert rule.dora_windows == {90, 30}
    assert compile_rule({"fact": "facts.ci.ok", "op": "exists", "maxAge": "P30D"}).dora_windows == frozenset()


# --- the namespace ----------------------------------------------------------------------------


def test_the_namespace_of_hand_computed_keys() -> None:
    keys = DoraKeys(
        deployments=6,
        failures=3,
        deployments_per_week=6 * 7 / 90,
        lead_time_hours=3.5,
        change_failure_rate=0.5,
        recovery_hours=2.0,
    )
    assert namespace(keys, 90, DORA_2024) == {
        "deployments": 6,
        "failures": 3,
        "deploymentsPerDay": 6 / 90,
        "deploymentsPerWeek": 6 * 7 / 90,  # 0.47 a week: monthly or more, under weekly
        "leadTimeHours": 3.5,
        "changeFailureRate": 0.5,
        "recoveryHours": 2.0,
        "band": "LOW",  # the worst: the change failure rate's
        "bands": {
            "deploymentFrequency": "MEDIUM",
            "leadTime": "ELITE",
            "changeFailureRate": "LOW",
            "recoveryTime": "HIGH",
        },
    }


def test_keys_without_data_and_their_bands_are_left_out() -> None:
    incidents_only = DoraKeys(recovery_hours=30.0)
    assert namespace(incidents_only, 30, DORA_2024) == {
        "deployments": 0,
        "failures": 0,
        "recoveryHours": 30.0,
        "band": "MEDIUM",
        "bands": {"recoveryTime": "MEDIUM"},
    }
    assert namespace(DoraKeys(), 30, DORA_2024) == {"deployments": 0, "failures": 0, "bands": {}}


def test_a_configured_profile_bands_the_namespace() -> None:
    strict = parse_profile("strict", {"leadTime": {"thresholds": {"elite": 1, "high": 4, "medium": 24}}})
    keys = DoraKeys(deployments=1, deployments_per_week=7.0, lead_time_hours=3.5, change_failure_rate=0.0)
    assert namespace(keys, 1, DORA_2024)["bands"]["leadTime"] == "ELITE"  # type: ignore[index]
    assert namespace(keys, 1, strict)["bands"]["leadTime"] == "HIGH"  # type: ignore[index]


# --- from reported events, through evaluation -------------------------------------------------

DELIVERY_CARD = {
    "apiVersion": "stairway.dev/v1alpha1",
    "kind": "Scorecard",
    "metadata": {"name": "delivery"},
    "spec": {
        "filter": {"kind": ["Component"]},
        "levels": [{"id": "one"}, {"id": "two"}, {"id": "three"}],
        "areas": [{"id": "delivery"}],
        "checks": [
            {
                "id": "deploys",
                "title": "Deploys to production",
                "level": "two",
                "area": "delivery",
                "rule": {"fact": "dora.deployments", "op": "gte", "value": 1},
                "remediation": "Report deployments.",
            },
            {
                "id": "fails-rarely-lately",
                "title": "Fails rarely lately",
                "level": "three",
                "area": "delivery",
                "rule": {"fact": "dora.changeFailureRate", "op": "lte", "value": 0.15, "maxAge": "P30D"},
                "remediation": "Fail less.",
            },
        ],
    },
}


@pytest.fixture
def delivered(engine: Engine, tmp_path: Path) -> Engine:
    """Two components: `shipper` deployed 40 days ago (failed), exactly 30 days ago (rolled back) and 10 days
    ago (2 hours after its commit), with an incident of 12 hours; `quiet` reported nothing."""
    components = [
        {"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": name}, "spec": spec}
        for name in ("shipper", "quiet")
        for spec in [{"type": "service", "lifecycle": "production", "owner": "team-a"}]
    ]
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump_all(components), encoding="utf-8")
    assert ingest(engine, [str(path)], workers=0).errors == 0
    deployments = [
        {"id": "s1", "entityRef": SHIPPER, "finishedAt": at(40), "status": "failure"},
        {"id": "s2", "entityRef": SHIPPER, "finishedAt": at(30), "status": "success", "rollback": True},
        {
            "id": "s3",
            "entityRef": SHIPPER,
            "finishedAt": at(10),
            "status": "success",
            "commits": [{"sha": "abc1234", "committedAt": (NOW - timedelta(days=10, hours=2)).isoformat()}],
        },
    ]
    with engine.begin() as connection:
        take_deployments(connection, deployments, NOW)
        take_incidents(connection, {"id": "i1", "entityRef": SHIPPER, "openedAt": at(12), "resolvedAt": at(11.5)}, NOW)
    return engine


def test_the_document_holds_each_window_a_scorecard_reads(delivered: Engine) -> None:
    with delivered.connect() as connection:
        documents = dict(fact_documents(connection, None, ["component"], NOW, {30, 90}, DORA_2024))
    shipper = documents[SHIPPER].dora
    # 90 days: all three deployments, two failed (one failed, one rolled back), one change of 2 hours.
    assert shipper[90] == {
        "deployments": 3,
        "failures": 2,
        "deploymentsPerDay": 3 / 90,
        "deploymentsPerWeek": 3 * 7 / 90,
        "leadTimeHours": 2.0,
        "changeFailureRate": 2 / 3,
        "recoveryHours": 12.0,
        "band": "LOW",
        "bands": {
            "deploymentFrequency": "MEDIUM",
            "leadTime": "ELITE",
            "changeFailureRate": "LOW",
            "recoveryTime": "HIGH",
        },
    }
    # 30 days: the one exactly 30 days back is out; the last deployment succeeded.
    assert (shipper[30]["deployments"], shipper[30]["failures"], shipper[30]["changeFailureRate"]) == (1, 0, 0.0)
    assert documents[QUIET].dora == {}


def test_levels_follow_the_delivery_events(delivered: Engine) -> None:
    card, problems = parse_scorecard(DELIVERY_CARD, "delivery.yaml")
    assert card is not None and not problems
    assert card.dora_windows == {90, 30}
    with delivered.begin() as connection:
        found = {ref: result for ref, result in evaluate_entities(connection, [card], None, NOW)}
        store_results(connection, [card], None, NOW)
        stored = dict(
            connection.execute(RESULTS.select().with_only_columns(RESULTS.c.entity_ref, RESULTS.c.level)).all()
        )
    assert found[SHIPPER].level.ordinal == 3
    assert [(c.check.id, c.status, c.message) for c in found[QUIET].checks] == [
        ("deploys", CheckStatus.NOT_REPORTED, "no delivery events were reported over the last 90 days"),
        ("fails-rarely-lately", CheckStatus.NOT_REPORTED, "no delivery events were reported over the last 30 days"),
    ]
    assert stored == {SHIPPER: 3, QUIET: 1}
    # 21 days on, the last deployment is 31 days old: nothing in the last 30 days, so that check is not
    # reported and the level drops to 2.
    later = NOW + timedelta(days=21)
    with delivered.connect() as connection:
        moved = {ref: result for ref, result in evaluate_entities(connection, [card], None, later)}
    assert moved[SHIPPER].level.ordinal == 2  # s3 is 31 days old: no deployment in the last 30 days
    assert moved[SHIPPER].checks[1].message == "no delivery events were reported over the last 30 days"
