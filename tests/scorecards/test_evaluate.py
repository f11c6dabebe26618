"""A component's scorecard result: statuses, levels by area and overall, floor, lopsidedness, unlock move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scorecards.definitions import Scorecard, parse_scorecard
from scorecards.evaluate import Exemption, applies, evaluate
from scorecards.rules import CheckStatus, Fact, FactDocument

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def scorecard_of(definition: dict[str, Any]) -> Scorecard:
    scorecard, problems = parse_scorecard(definition, "small.yaml")
    assert scorecard is not None, problems
    return scorecard


def component(*, spec: dict[str, Any] | None = None, **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": "svc",
            "annotations": {f"stairway.dev/{k.replace('_', '-')}": v for k, v in annotations.items()},
        },
        "spec": {"type": "service", "lifecycle": "production", "owner": "team-a", **(spec or {})},
    }


def result_for(
    definition: dict[str, Any], entity: dict[str, Any], exemptions: dict[str, Exemption] | None = None, **facts: Any
):
    document = FactDocument(
        entity,
        {source: {k: Fact(v, NOW - timedelta(days=1)) for k, v in values.items()} for source, values in facts.items()},
        NOW,
    )
    return evaluate(scorecard_of(definition), document, exemptions)


def statuses(result: Any) -> dict[str, str]:
    return {r.check.id: r.status.value for r in result.checks}


def test_nothing_passing_is_the_floor_level(definition: dict[str, Any]) -> None:
    result = result_for(definition, component(spec={"owner": None}))
    assert (result.level.ordinal, result.level.id, result.next_level.id) == (1, "ad-hoc", "repeatable")


def test_levels_are_additive_a_gap_below_caps_the_level(definition: dict[str, Any]) -> None:
    # Everything at managed, governed and self-improving passes, but a repeatable check fails.
    entity = component(serving_platform="k", data_lineage="x", rollout="canary")
    result = result_for(
        definition, entity, ci={"dataValidation": True}, monitoring={"quality": 0.95}, deploy={"rollback": True}
    )
    assert statuses(result)["serving-api"] == "FAILED"
    assert result.level.ordinal == 1

    entity["spec"]["providesApis"] = ["orders"]
    result = result_for(
        definition, entity, ci={"dataValidation": True}, monitoring={"quality": 0.95}, deploy={"rollback": True}
    )
    assert (result.level.ordinal, result.next_level) == (5, None)
    assert result.unlock == ()


def test_each_area_has_its_own_level_and_the_spread_flags_lopsidedness(definition: dict[str, Any]) -> None:
    entity = component(spec={"providesApis": ["orders"]}, serving_platform="k", rollout="canary")
    result = result_for(definition, entity, deploy={"rollback": True})
    areas = {a.area.id: (a.level.ordinal, a.applicable) for a in result.areas}
    # data stops at repeatable (validation never reported); serving passes everything; training's only
    # check is for models, so it does not count towards floor and spread.
    assert areas == {"data": (2, True), "serving": (5, True), "training": (5, False)}
    assert (result.level.ordinal, result.floor.ordinal, result.spread, result.lopsided) == (2, 2, 3, True)


def test_a_balanced_component_is_not_lopsided(definition: dict[str, Any]) -> None:
    entity = component(spec={"providesApis": ["orders"]}, serving_platform="k")
    result = result_for(definition, entity, ci={"dataValidation": True})
    assert (result.level.ordinal, result.floor.ordinal, result.spread, result.lopsided) == (3, 3, 0, False)


def test_every_status_with_its_reason(definition: dict[str, Any]) -> None:
    entity = component(spec={"type": "model"}, data_lineage="x")
    exemption = Exemption(
        1, "component:default/svc", "small", "canary", "rollouts are frozen", NOW + timedelta(days=10)
    )
    result = result_for(definition, entity, {"canary": exemption}, monitoring={"quality": 0.5})
    by_id = {r.check.id: r for r in result.checks}
    assert by_id["owned"].status is CheckStatus.PASSED and by_id["owned"].observed == "team-a"
    assert (by_id["serving-api"].status, by_id["serving-api"].message) == (
        CheckStatus.FAILED,
        "spec.providesApis is absent",
    )
    assert (by_id["validated"].status, by_id["validated"].message) == (
        CheckStatus.NOT_REPORTED,
        "facts.ci.dataValidation was never reported",
    )
    assert by_id["quality"].message == "facts.monitoring.quality was 0.5 on 2026-11-25, expected >= 0.9"
    assert by_id["canary"].status is CheckStatus.EXEMPT and by_id["canary"].exemption is exemption
    assert by_id["canary"].message.startswith("exempt until 2026-12-06: rollouts are frozen")
    assert by_id["tracked"].status is CheckStatus.FAILED  # a model: the training check applies

    service = result_for(definition, component())
    assert {r.check.id: r.status for r in service.checks}["tracked"] is CheckStatus.NOT_APPLICABLE


def test_an_exemption_counts_as_met_until_it_expires(definition: dict[str, Any]) -> None:
    entity = component(spec={"owner": "team-a"})
    waived = Exemption(1, "component:default/svc", "small", "serving-api", "a batch job", NOW + timedelta(hours=1))
    expired = Exemption(2, "component:default/svc", "small", "serving-api", "a batch job", NOW - timedelta(seconds=1))
    assert result_for(definition, entity, {"serving-api": waived}).level.ordinal == 2
    result = result_for(definition, entity, {"serving-api": expired})
    assert result.level.ordinal == 1 and statuses(result)["serving-api"] == "FAILED"


def test_stale_evidence_lowers_the_level(definition: dict[str, Any]) -> None:
    entity = component(spec={"providesApis": ["orders"]}, serving_platform="k")
    scorecard = scorecard_of(definition)
    fresh = FactDocument(entity, {"ci": {"dataValidation": Fact(True, NOW - timedelta(days=29))}}, NOW)
    stale = FactDocument(entity, {"ci": {"dataValidation": Fact(True, NOW - timedelta(days=31))}}, NOW)
    assert evaluate(scorecard, fresh).level.ordinal == 3
    assert evaluate(scorecard, stale).level.ordinal == 2


def test_the_unlock_move_lists_the_next_levels_checks_unmet_first(definition: dict[str, Any]) -> None:
    # At repeatable. Managed needs `validated` (data) and `served` and `autoscaled` (serving), and
    # `catalogued` (data), which passes. Passing `validated` alone lifts data a level; passing
    # `served` alone lifts nothing while `autoscaled` still fails, so `validated` leads.
    definition["spec"]["checks"] += [
        {
            "id": "autoscaled",
            "title": "Autoscaled",
            "level": "managed",
            "area": "serving",
            "rule": {"fact": "facts.deploy.autoscaling", "op": "exists"},
            "remediation": "Autoscale.",
        },
        {
            "id": "catalogued",
            "title": "Catalogued",
            "level": "managed",
            "area": "data",
            "rule": {"fact": "entity.spec.lifecycle", "op": "exists"},
            "remediation": "Say its lifecycle.",
        },
    ]
    result = result_for(definition, component(spec={"providesApis": ["orders"]}))
    assert result.level.id == "repeatable"
    assert [(r.check.id, r.status.value) for r in result.unlock] == [
        ("validated", "NOT_REPORTED"),
        ("served", "FAILED"),
        ("autoscaled", "NOT_REPORTED"),
        ("catalogued", "PASSED"),
    ]


def test_unlock_ranks_first_the_check_that_lifts_its_area_furthest(definition: dict[str, Any]) -> None:
    # Data is held at repeatable by `validated` alone and passes governed already: meeting it lifts
    # data two levels. Serving's `served` lifts serving one level (its canary check fails too).
    # The larger lift leads, although a missing fact normally comes after a failure.
    entity = component(spec={"providesApis": ["orders"]}, data_lineage="x")
    result = result_for(definition, entity)
    assert result.level.id == "repeatable"
    assert [(r.check.id, r.status.value) for r in result.unlock] == [
        ("validated", "NOT_REPORTED"),
        ("served", "FAILED"),
    ]


def test_the_scorecard_filter_decides_which_entities_it_applies_to(definition: dict[str, Any]) -> None:
    definition["spec"]["filter"] = {"kind": ["Component"], "type": ["model", "service"], "tags": ["ai"]}
    scorecard = scorecard_of(definition)
    tagged = component()
    tagged["metadata"]["tags"] = ["AI"]
    assert applies(scorecard, tagged)
    assert not applies(scorecard, component())
    library = component(spec={"type": "library"})
    library["metadata"]["tags"] = ["ai"]
    assert not applies(scorecard, library)
    del definition["spec"]["filter"]
    assert applies(scorecard_of(definition), component())
    assert not applies(scorecard_of(definition), {"kind": "API", "metadata": {"name": "x"}, "spec": {}})


@pytest.mark.parametrize("owner", ["team-a", "group:team-a", "Group:default/Team-A"])
def test_an_owner_filter_matches_however_the_owner_is_written(definition: dict[str, Any], owner: str) -> None:
    definition["spec"]["filter"] = {"owner": "team-a"}
    assert applies(scorecard_of(definition), component(spec={"owner": owner}))
    assert not applies(scorecard_of(definition), component(spec={"owner": "team-b"}))


@pytest.mark.parametrize(("replicas", "level"), [(1, 2), (3, 3)])
def test_a_check_can_read_any_spec_field(definition: dict[str, Any], replicas: int, level: int) -> None:
    definition["spec"]["checks"] = [
        {
            "id": "ha",
            "title": "HA",
            "level": "managed",
            "area": "serving",
            "rule": {"fact": "entity.spec.replicas", "op": "gte", "value": 2},
            "remediation": "Run two.",
        }
    ]
    definition["spec"]["levels"] = definition["spec"]["levels"][:3]
    assert result_for(definition, component(spec={"replicas": replicas})).level.ordinal == level
