"""Check rules as scorecard authors write them: fact paths, operators, composites, evidence decay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scorecards.rules import CheckStatus, Fact, FactDocument, RuleError, compile_rule, parse_duration, parse_fact_path

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ENTITY = {
    "apiVersion": "backstage.io/v1alpha1",
    "kind": "Component",
    "metadata": {
        "name": "ranker",
        "tags": ["ai", "python"],
        "annotations": {"backstage.io/techdocs-ref": "dir:.", "stairway.dev/risk-tier": "high"},
        "labels": {"tier": "1"},
    },
    "spec": {"type": "model", "lifecycle": "production", "owner": "group:default/ml", "replicas": 3},
    "relations": [{"type": "ownedBy", "targetRef": "group:default/ml"}],
}


def document(**facts: dict[str, Fact]) -> FactDocument:
    return FactDocument(ENTITY, facts, NOW)


def outcome(rule: dict[str, object], doc: FactDocument | None = None):
    return compile_rule(rule)(doc or document())


@pytest.mark.parametrize(
    ("path", "segments"),
    [
        ("entity.spec.owner", ("entity", "spec", "owner")),
        (
            'entity.metadata.annotations["backstage.io/techdocs-ref"]',
            ("entity", "metadata", "annotations", "backstage.io/techdocs-ref"),
        ),
        ("facts.ci.coverage", ("facts", "ci", "coverage")),
        ('facts["github-actions"].evaluationGate', ("facts", "github-actions", "evaluationGate")),
        ("entity.relations.0.type", ("entity", "relations", "0", "type")),
    ],
)
def test_fact_paths_split_on_dots_and_take_quoted_keys(path: str, segments: tuple[str, ...]) -> None:
    assert parse_fact_path(path) == segments


@pytest.mark.parametrize(
    "path",
    ["", "spec.owner", "facts.ci", "entity..spec", 'entity.metadata["unterminated', ".entity.spec", "entity.a b"],
)
def test_malformed_fact_paths_are_refused(path: str) -> None:
    with pytest.raises(ValueError):
        parse_fact_path(path)


@pytest.mark.parametrize(
    ("rule", "status", "message"),
    [
        ({"fact": "entity.spec.owner", "op": "exists"}, "PASSED", 'spec.owner is "group:default/ml"'),
        ({"fact": "entity.spec.system", "op": "exists"}, "FAILED", "spec.system is absent"),
        ({"fact": "entity.spec.system", "op": "absent"}, "PASSED", "spec.system is absent"),
        ({"fact": "entity.spec.owner", "op": "absent"}, "FAILED", 'spec.owner is "group:default/ml", expected absent'),
        ({"fact": "entity.spec.lifecycle", "op": "equals", "value": "production"}, "PASSED", None),
        ({"fact": "entity.spec.lifecycle", "op": "notEquals", "value": "production"}, "FAILED", None),
        ({"fact": "entity.spec.type", "op": "in", "value": ["model", "service"]}, "PASSED", None),
        (
            {"fact": "entity.spec.type", "op": "notIn", "value": ["model"]},
            "FAILED",
            'spec.type is "model", expected none of ["model"]',
        ),
        ({"fact": "entity.metadata.tags", "op": "contains", "value": "ai"}, "PASSED", None),
        ({"fact": "entity.metadata.tags", "op": "contains", "value": "go"}, "FAILED", None),
        ({"fact": "entity.spec.owner", "op": "contains", "value": "ml"}, "PASSED", None),
        ({"fact": "entity.spec.owner", "op": "matches", "value": "^group:"}, "PASSED", None),
        ({"fact": "entity.spec.owner", "op": "matches", "value": "^user:"}, "FAILED", None),
        ({"fact": "entity.spec.replicas", "op": "gt", "value": 2}, "PASSED", None),
        ({"fact": "entity.spec.replicas", "op": "gte", "value": 3}, "PASSED", None),
        ({"fact": "entity.spec.replicas", "op": "lt", "value": 3}, "FAILED", "spec.replicas is 3, expected < 3"),
        ({"fact": "entity.spec.replicas", "op": "lte", "value": 3.5}, "PASSED", None),
        ({"fact": "entity.metadata.labels.tier", "op": "gt", "value": 0}, "FAILED", None),  # "1" is text, not a number
        (
            {"fact": 'entity.metadata.annotations["stairway.dev/risk-tier"]', "op": "in", "value": ["low", "high"]},
            "PASSED",
            'metadata.annotations["stairway.dev/risk-tier"] is "high"',
        ),
        (
            {
                "fact": "entity.relations",
                "op": "contains",
                "value": {"type": "ownedBy", "targetRef": "group:default/ml"},
            },
            "PASSED",
            None,
        ),
    ],
)
def test_each_operator_on_the_descriptor(rule: dict[str, object], status: str, message: str | None) -> None:
    result = outcome(rule)
    assert result.status == status
    if message is not None:
        assert result.message == message


@pytest.mark.parametrize(
    "facts",
    [{}, {"ci": {"coverage": Fact(91, NOW)}}, {"ci": {"coverage": Fact(12, NOW - timedelta(days=40))}}],
    ids=["unreported", "fresh", "stale"],
)
def test_deciding_alone_agrees_with_deciding_and_explaining(facts: dict[str, dict[str, Fact]]) -> None:
    # Bulk scoring runs `status`; pages run `explain`. They must never disagree.
    leaves = [
        {"fact": "entity.spec.owner", "op": "exists"},
        {"fact": "entity.spec.system", "op": "absent"},
        {"fact": "entity.spec.replicas", "op": "gt", "value": 5},
        {"fact": "facts.ci.coverage", "op": "gte", "value": 80, "maxAge": "P30D"},
        {"fact": "facts.ci.coverage", "op": "absent"},
        {"fact": "facts.ci.coverage.detail", "op": "exists"},
    ]
    rules = (
        leaves + [{"not": leaf} for leaf in leaves] + [{"all": leaves[:4]}, {"any": leaves[2:]}, {"any": leaves[3:4]}]
    )
    doc = FactDocument(ENTITY, facts, NOW)
    for rule in rules:
        compiled = compile_rule(rule)
        assert compiled.status(doc) is compiled.explain(doc).status, rule


def test_true_and_one_are_different_values() -> None:
    doc = document(ci={"gate": Fact(1, NOW)})
    assert outcome({"fact": "facts.ci.gate", "op": "equals", "value": True}, doc).status == "FAILED"
    assert outcome({"fact": "facts.ci.gate", "op": "in", "value": [True]}, doc).status == "FAILED"
    assert outcome({"fact": "facts.ci.gate", "op": "equals", "value": 1}, doc).status == "PASSED"


def test_a_reported_fact_is_read_with_the_date_it_was_observed() -> None:
    observed = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    doc = document(ci={"evaluationGate": Fact(False, observed)})
    result = outcome({"fact": "facts.ci.evaluationGate", "op": "equals", "value": True}, doc)
    assert result == (CheckStatus.FAILED, False, "facts.ci.evaluationGate was false on 2026-11-02, expected true")


def test_a_fact_never_reported_is_not_reported_whatever_the_operator() -> None:
    for op, value in (("exists", None), ("equals", True), ("gt", 1)):
        rule = {"fact": "facts.ci.coverage", "op": op} | ({"value": value} if value is not None else {})
        result = outcome(rule)
        assert (result.status, result.message) == (CheckStatus.NOT_REPORTED, "facts.ci.coverage was never reported")


def test_evidence_decays_past_its_max_age() -> None:
    rule = {"fact": "facts.ci.coverage", "op": "gte", "value": 80, "maxAge": "P30D"}
    fresh = document(ci={"coverage": Fact(91, NOW - timedelta(days=29))})
    stale = document(ci={"coverage": Fact(91, NOW - timedelta(days=31))})
    assert outcome(rule, fresh).status == CheckStatus.PASSED
    result = outcome(rule, stale)
    assert result.status == CheckStatus.NOT_REPORTED
    assert "too long ago" in result.message


def test_a_path_into_a_structured_fact() -> None:
    doc = document(ci={"eval": Fact({"suite": {"accuracy": 0.93}}, NOW)})
    assert outcome({"fact": "facts.ci.eval.suite.accuracy", "op": "gte", "value": 0.9}, doc).status == "PASSED"
    assert outcome({"fact": "facts.ci.eval.suite.recall", "op": "gte", "value": 0.9}, doc).status == "NOT_REPORTED"


def test_all_any_and_not_combine_three_ways() -> None:
    owned = {"fact": "entity.spec.owner", "op": "exists"}
    systemless = {"fact": "entity.spec.system", "op": "exists"}
    unreported = {"fact": "facts.ci.coverage", "op": "exists"}
    assert outcome({"all": [owned, systemless]}).message == "spec.system is absent"
    assert outcome({"all": [owned, systemless]}).status == "FAILED"
    assert outcome({"all": [owned, unreported]}).status == "NOT_REPORTED"
    assert outcome({"all": [systemless, unreported]}).status == "FAILED"  # a failure decides, whatever is missing
    assert outcome({"any": [systemless, owned]}).status == "PASSED"
    assert outcome({"any": [systemless, unreported]}).status == "NOT_REPORTED"
    assert outcome({"any": [systemless, {"not": owned}]}).status == "FAILED"
    assert outcome({"not": systemless}).status == "PASSED"
    assert outcome({"not": unreported}).status == "NOT_REPORTED"


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ("owner exists", "rule"),
        ({"fact": "spec.owner", "op": "exists"}, "rule.fact"),
        ({"fact": "entity.spec.owner", "op": "present"}, "rule.op"),
        ({"fact": "entity.spec.owner", "op": "equals"}, "rule.value"),
        ({"fact": "entity.spec.owner", "op": "exists", "value": 1}, "rule.value"),
        ({"fact": "entity.spec.owner", "op": "in", "value": "x"}, "rule.value"),
        ({"fact": "entity.spec.owner", "op": "matches", "value": "("}, "rule.value"),
        ({"fact": "entity.spec.replicas", "op": "gt", "value": "2"}, "rule.value"),
        ({"fact": "entity.spec.owner", "op": "exists", "maxAge": "P1D"}, "rule.maxAge"),
        ({"fact": "facts.ci.x", "op": "exists", "maxAge": "30 days"}, "rule.maxAge"),
        ({"fact": "entity.spec.owner", "op": "exists", "why": "x"}, "rule"),
        ({"all": []}, "rule.all"),
        ({"all": [{"fact": "entity.spec.owner", "op": "exists"}], "op": "exists"}, "rule"),
        ({"any": [{"fact": "entity.spec.owner", "op": "exists"}, {"fact": "x", "op": "exists"}]}, "rule.any.1.fact"),
        ({"not": {"fact": "entity.spec.owner"}}, "rule.not.op"),
    ],
)
def test_a_malformed_rule_is_refused_naming_the_field(rule: object, field: str) -> None:
    with pytest.raises(RuleError) as raised:
        compile_rule(rule)
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P30D", timedelta(days=30)),
        ("P1W", timedelta(days=7)),
        ("PT12H", timedelta(hours=12)),
        ("P1Y", timedelta(days=365)),
        ("P1DT1H30M", timedelta(days=1, hours=1, minutes=30)),
    ],
)
def test_iso_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["P", "PT", "30D", "P1.5D", 30])
def test_malformed_durations_are_refused(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
