"""Reading Scorecard definition files: what loads, what is refused and how the refusal reads."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from scorecards.definitions import lint, load_scorecards, parse_scorecard, read_scorecards
from tests.conftest import EXAMPLES

DEFAULT_SCORECARDS = EXAMPLES.parent / "scorecards"


def test_the_default_scorecard_covers_every_area_at_every_level() -> None:
    scorecards, problems = load_scorecards([str(DEFAULT_SCORECARDS)])
    assert problems == []
    (default,) = scorecards
    assert default.name == "ai-platform-maturity"
    assert [level.title for level in default.levels] == [
        "Ad-hoc",
        "Repeatable",
        "Managed",
        "Governed",
        "Self-improving",
    ]
    assert len(default.areas) == 7 and len(default.checks) >= 28
    for level in default.levels[1:]:
        for area in default.areas:
            assert any(check.level == level and check.area == area for check in default.checks), (level.id, area.id)
    assert all(check.remediation for check in default.checks)
    assert lint(default) == []


def test_a_valid_definition_loads_with_levels_in_order(definition: dict[str, Any]) -> None:
    scorecard, problems = parse_scorecard(definition, "small.yaml")
    assert problems == [] and scorecard is not None
    assert [(level.ordinal, level.id) for level in scorecard.levels][:2] == [(1, "ad-hoc"), (2, "repeatable")]
    assert scorecard.title == "Small" and scorecard.lopsided_threshold == 2
    assert [check.id for check in scorecard.checks][:2] == ["owned", "serving-api"]


def break_check(definition: dict[str, Any], index: int, **fields: object) -> dict[str, Any]:
    definition["spec"]["checks"][index].update(fields)
    return definition


@pytest.mark.parametrize(
    ("change", "check", "field", "words"),
    [
        (lambda d: break_check(d, 1, level="expert"), "serving-api", "spec.checks.1.level", "unknown level 'expert'"),
        (lambda d: break_check(d, 1, level="ad-hoc"), "serving-api", "spec.checks.1.level", "is the floor"),
        (lambda d: break_check(d, 2, area="security"), "validated", "spec.checks.2.area", "unknown area 'security'"),
        (
            lambda d: break_check(d, 2, rule={"fact": "ci.dataValidation", "op": "exists"}),
            "validated",
            "spec.checks.2.rule.fact",
            "must start with entity., facts. or dora.",
        ),
        (
            lambda d: break_check(d, 2, rule={"fact": "facts.ci.x", "op": "like", "value": 1}),
            "validated",
            "spec.checks.2.rule.op",
            "must be one of",
        ),
        (lambda d: break_check(d, 3, remediation=""), "served", "spec.checks.3.remediation", "is required"),
        (lambda d: break_check(d, 3, title=None), "served", "spec.checks.3.title", "is required"),
        (lambda d: break_check(d, 3, id="owned"), "owned", "spec.checks.3.id", "duplicate check id"),
        (lambda d: break_check(d, 3, id="Served Check"), None, "spec.checks.3.id", "lower-case id"),
        (lambda d: break_check(d, 3, filter={"colour": "red"}), "served", "spec.checks.3.filter.colour", "unknown key"),
        (
            lambda d: break_check(d, 3, links=[{"url": "docs/serving"}]),
            "served",
            "spec.checks.3.links.0",
            "absolute url",
        ),
    ],
)
def test_a_broken_check_refuses_the_definition_naming_file_check_and_field(
    definition: dict[str, Any], change: Any, check: str | None, field: str, words: str
) -> None:
    scorecard, problems = parse_scorecard(change(definition), "cards/small.yaml")
    assert scorecard is None
    assert [(p.file, p.check, p.field) for p in problems] == [("cards/small.yaml", check, field)]
    assert words in problems[0].message
    assert str(problems[0]).startswith(
        f"cards/small.yaml: {'check ' + repr(check) + ': ' if check else ''}{field}: error:"
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(apiVersion="stairway.dev/v1"), "apiVersion"),
        (lambda d: d["metadata"].pop("name"), "metadata.name"),
        (lambda d: d["spec"].update(levels=[{"id": "only"}]), "spec.levels"),
        (lambda d: d["spec"].update(levels=[{"id": "a"}, {"id": "a"}]), "spec.levels.1.id"),
        (lambda d: d["spec"].update(areas=[]), "spec.areas"),
        (lambda d: d["spec"].update(lopsidedThreshold=0), "spec.lopsidedThreshold"),
        (lambda d: d["spec"].update(checks=[]), "spec.checks"),
        (lambda d: d["spec"].update(filter={"kind": 3}), "spec.filter.kind"),
        (lambda d: d["spec"].update(filter={"owner": "user:"}), "spec.filter.owner"),
        (lambda d: d.update(spec=["checks"]), "spec"),
        (lambda d: d["spec"].update(areas="data"), "spec.areas"),
    ],
)
def test_a_broken_envelope_refuses_the_definition(definition: dict[str, Any], change: Any, field: str) -> None:
    change(definition)
    scorecard, problems = parse_scorecard(definition, "small.yaml")
    assert scorecard is None
    assert [p.field for p in problems] == [field]


@pytest.mark.parametrize("document", ["a scorecard", ["a", "list"], 42], ids=repr)
def test_a_document_that_is_not_a_mapping_is_refused(document: object) -> None:
    scorecard, problems = parse_scorecard(document, "odd.yaml")
    assert scorecard is None and [p.message for p in problems] == ["a Scorecard definition must be a mapping"]


def test_every_broken_check_is_reported_not_only_the_first(definition: dict[str, Any]) -> None:
    break_check(definition, 1, level="expert")
    break_check(definition, 4, area="nowhere")
    _scorecard, problems = parse_scorecard(definition, "small.yaml")
    assert [p.check for p in problems] == ["serving-api", "lineage"]


def write(path: Path, *documents: object) -> Path:
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False), encoding="utf-8")
    return path


def test_a_broken_file_is_refused_and_the_others_still_load(tmp_path: Path, definition: dict[str, Any]) -> None:
    write(tmp_path / "a-good.yaml", definition)
    (tmp_path / "b-not-yaml.yaml").write_text("spec: [unclosed\n", encoding="utf-8")
    other = {**copy.deepcopy(definition), "metadata": {"name": "other"}}
    write(tmp_path / "c-broken.yaml", break_check(other, 0, area="nowhere"))
    scorecards, problems = load_scorecards([str(tmp_path)])
    assert [s.name for s in scorecards] == ["small"]
    assert [Path(p.file).name for p in problems] == ["b-not-yaml.yaml", "c-broken.yaml"]
    assert "YAML syntax error" in problems[0].message and "(line 2)" in problems[0].message


def test_a_name_defined_twice_keeps_the_first(tmp_path: Path, definition: dict[str, Any]) -> None:
    write(tmp_path / "a.yaml", definition)
    write(tmp_path / "b.yaml", definition)
    scorecards, problems = load_scorecards([str(tmp_path)])
    assert [s.source for s in scorecards] == [str(tmp_path / "a.yaml")]
    assert "already defined in" in problems[0].message


def test_a_file_of_two_definitions_names_the_line_of_the_broken_one(tmp_path: Path, definition: dict[str, Any]) -> None:
    other = break_check({**copy.deepcopy(definition), "metadata": {"name": "other"}}, 0, level="nope")
    path = write(tmp_path / "two.yaml", definition, other)
    scorecards, problems = read_scorecards(str(path))
    assert [s.name for s in scorecards] == ["small"]
    assert problems[0].file.startswith(f"{path}:") and problems[0].check == "owned"


def test_lint_warns_about_gaps_in_the_staircase(definition: dict[str, Any]) -> None:
    definition["spec"]["checks"] = [c for c in definition["spec"]["checks"] if c["level"] != "governed"]
    scorecard, _ = parse_scorecard(definition, "small.yaml")
    assert scorecard is not None
    messages = [w.message for w in lint(scorecard)]
    assert "level 'governed' has no checks: every entity at the level below reaches it for free" in messages
    assert "area 'training' has no check at level 'managed'" in messages
    assert all(w.severity == "warning" for w in lint(scorecard))
