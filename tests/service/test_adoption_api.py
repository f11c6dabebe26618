"""Golden-path adoption and organisation maturity as a portal reads them over GraphQL, and as a
platform team reads them with `stairway adoption` and `stairway maturity`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import Engine

from catalog.ingest import ingest
from catalog.tables import utc_now
from scorecards.adoption import snapshot_adoption
from scorecards.definitions import parse_scorecard
from scorecards.results import store_results
from service.app import create_app
from service.cli import main
from service.config import load_config
from service.settings import Settings
from tests.conftest import StatementCounter
from tests.scorecards.acme import acme_scorecard, write_acme
from tests.service.conftest import TestClient, app_state, data, only_error

ACME_CONFIG = """
goldenPaths:
  tags: [golden-path]
adoption:
  trendScopes:
    components: {kind: [Component]}
    production: {kind: [Component], lifecycle: [production]}
organizationMaturity:
  scorecard: acme
  governanceChecks: [risk-tier, model-card]
  retrainingChecks: [retraining]
auth:
  mode: none
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "stairway.yaml"
    path.write_text(ACME_CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def acme_client(database: str, engine: Engine, tmp_path: Path, config_file: Path) -> Iterator[TestClient]:
    """The app serving Acme, scored on the acme scorecard, with today's adoption snapshot taken."""
    ingest(engine, [str(write_acme(tmp_path))], workers=0)
    scorecards = tmp_path / "scorecards"
    scorecards.mkdir()
    (scorecards / "acme.yaml").write_text(yaml.safe_dump(acme_scorecard()), encoding="utf-8")
    card, problems = parse_scorecard(acme_scorecard(), "acme.yaml")
    assert card is not None, problems
    config = load_config(str(config_file))
    with engine.begin() as connection:
        store_results(connection, [card], None, utc_now())
        snapshot_adoption(connection, config.golden_paths, config.adoption, utc_now())
    settings = Settings(database_url=database, scorecard_folders=(str(scorecards),), config=config)
    with TestClient(create_app(settings)) as client:
        yield client


REPORT = """
query Report($filter: EntityFilter, $since: DateTime, $until: DateTime, $groupBy: AdoptionGroup) {
  adoption(filter: $filter, since: $since, until: $until, groupBy: $groupBy) {
    total onGoldenPath percentage trendScope
    groups { key entity { ref kind } total onGoldenPath percentage }
    trend { day total onGoldenPath percentage newWorkloads newOnGoldenPath newPercentage }
  }
}"""


def report(client: TestClient, **variables: Any) -> dict[str, Any]:
    found: dict[str, Any] = data(client, REPORT, **variables)["adoption"]
    return found


def test_adoption_by_owner_with_each_team_and_today_on_the_trend(acme_client: TestClient) -> None:
    found = report(acme_client, groupBy="OWNER")
    assert (found["total"], found["onGoldenPath"], found["percentage"]) == (8, 5, 62.5)
    assert [(g["key"], g["entity"]["kind"], g["total"], g["onGoldenPath"]) for g in found["groups"]] == [
        ("group:default/data", "Group", 2, 0),
        ("group:default/payments", "Group", 2, 2),
        ("group:default/platform", "Group", 1, 1),
        ("group:default/search", "Group", 3, 2),
    ]
    assert found["groups"][3]["percentage"] == pytest.approx(200 / 3)
    assert found["trendScope"] == "components"
    (today,) = found["trend"]
    assert today["day"] == utc_now().date().isoformat()
    assert (today["total"], today["onGoldenPath"], today["percentage"]) == (8, 5, 62.5)


def test_a_team_and_the_production_scope_have_their_own_trend(acme_client: TestClient) -> None:
    team = report(acme_client, filter={"owner": "search"})
    assert (team["total"], team["onGoldenPath"], team["trendScope"]) == (3, 2, "components")
    assert [(p["total"], p["onGoldenPath"]) for p in team["trend"]] == [(3, 2)]
    production = report(acme_client, filter={"lifecycle": ["production"]})
    assert (production["total"], production["onGoldenPath"], production["trendScope"]) == (7, 5, "production")
    assert [(p["total"], p["onGoldenPath"]) for p in production["trend"]] == [(7, 5)]
    untracked = report(acme_client, filter={"tag": "python"})
    assert (untracked["trendScope"], untracked["trend"]) == (None, [])


def test_each_group_draws_its_own_line_from_one_query(acme_client: TestClient) -> None:
    query = """query($filter: EntityFilter, $groupBy: AdoptionGroup) { adoption(filter: $filter, groupBy: $groupBy) {
        groups { key trend(days: 30) { day total onGoldenPath } } } }"""
    counter = StatementCounter(app_state(acme_client).engine)
    try:
        groups = data(acme_client, query, groupBy="OWNER")["adoption"]["groups"]
        assert counter.reads().count("SELECT") <= 3  # the report, and every group's points at once
    finally:
        counter.close()
    today = utc_now().date().isoformat()
    lines = {g["key"]: [(p["day"], p["total"], p["onGoldenPath"]) for p in g["trend"]] for g in groups}
    assert lines["group:default/search"] == [(today, 3, 2)]
    assert lines["group:default/payments"] == [(today, 2, 2)]
    templates = data(acme_client, query, filter={"lifecycle": ["production"]}, groupBy="TEMPLATE")["adoption"]
    service = next(g for g in templates["groups"] if g["key"] == "template:default/service-template")
    assert [(p["total"], p["onGoldenPath"]) for p in service["trend"]] == [(3, 3)]
    # A report narrowed to one team has its own line, but its groups have none stored.
    narrowed = data(acme_client, query, filter={"owner": "search"}, groupBy="SYSTEM")["adoption"]["groups"]
    assert [g["trend"] for g in narrowed] == [[]]


def test_new_workloads_in_a_window_and_a_template_that_is_gone(acme_client: TestClient) -> None:
    window = report(acme_client, since="2026-08-28T12:00:00Z", until="2026-11-26T12:00:00Z")
    assert (window["total"], window["onGoldenPath"], window["percentage"]) == (4, 3, 75.0)
    empty = report(acme_client, since="2030-01-01T00:00:00Z")
    assert (empty["total"], empty["onGoldenPath"], empty["percentage"]) == (0, 0, None)
    by_template = {g["key"]: g for g in report(acme_client, groupBy="TEMPLATE")["groups"]}
    assert by_template["template:default/retired-template"]["entity"] is None
    assert by_template["(none)"]["entity"] is None
    assert by_template["template:default/service-template"]["entity"]["ref"] == "template:default/service-template"
    versions = {g["key"]: g["total"] for g in report(acme_client, groupBy="TEMPLATE_VERSION")["groups"]}
    assert versions["template:default/service-template@3.0.0"] == 2
    domains = {g["key"]: g["total"] for g in report(acme_client, groupBy="DOMAIN")["groups"]}
    assert domains == {"(none)": 2, "domain:default/commerce": 6}


def test_golden_paths_list_adopters_and_drift(acme_client: TestClient) -> None:
    query = """query($all: Boolean!) { goldenPaths(all: $all) {
        template { ref owner { ref } } isGoldenPath version
        adopters crossTeamAdopters current behind unknownVersion } }"""
    paths = {p["template"]["ref"]: p for p in data(acme_client, query, all=False)["goldenPaths"]}
    service = paths["template:default/service-template"]
    assert service["template"]["owner"]["ref"] == "group:default/platform"
    assert (service["version"], service["adopters"], service["crossTeamAdopters"]) == ("3.0.0", 3, 1)
    assert (service["current"], service["behind"], service["unknownVersion"]) == (2, 1, 0)
    assert sorted(paths) == [
        "template:default/docs-template",
        "template:default/model-template",
        "template:default/service-template",
        "template:default/unversioned-template",
    ]
    every = {p["template"]["ref"]: p for p in data(acme_client, query, all=True)["goldenPaths"]}
    assert every["template:default/pipeline-template"]["isGoldenPath"] is False
    assert every["template:default/pipeline-template"]["adopters"] == 1


def test_organisation_maturity_with_evidence_and_unlock(acme_client: TestClient) -> None:
    query = """{ organizationMaturity {
        level { ordinal id title } lopsidedShare unlock { id }
        criteria { id level { ordinal } unit value threshold passed evidence } } }"""
    found = data(acme_client, query)["organizationMaturity"]
    criteria = {c["id"]: c for c in found["criteria"]}
    assert len(criteria) == 9
    assert criteria["inventory"]["value"] == pytest.approx(600 / 7)
    assert criteria["inventory"]["evidence"] == "6 of 7 production components name an owner and a system"
    assert (criteria["golden-paths-in-use"]["unit"], criteria["golden-paths-in-use"]["value"]) == ("count", 3.0)
    assert criteria["production-on-golden-paths"]["passed"] is False
    assert criteria["governance-evidence"]["level"]["ordinal"] == 4
    assert found["lopsidedShare"] == 12.5
    # The level is the highest whose criteria, and all below, pass; unlock lists the next level's failures.
    level = found["level"]["ordinal"]
    assert all(c["passed"] for c in found["criteria"] if c["level"]["ordinal"] <= level)
    assert {u["id"] for u in found["unlock"]} == {
        c["id"] for c in found["criteria"] if c["level"]["ordinal"] == level + 1 and not c["passed"]
    }
    assert found["unlock"]


def test_an_entity_shows_where_it_came_from(acme_client: TestClient) -> None:
    query = """query($ref: String!) { entity(ref: $ref) {
        createdAt sourceTemplateRef sourceTemplate { ref templateVersion } templateVersion firstSeenAt } }"""
    worker = data(acme_client, query, ref="component:pay-worker")["entity"]
    assert worker["createdAt"] == "2025-01-10T09:00:00+00:00"
    assert worker["sourceTemplateRef"] == "template:default/service-template"  # from spec.scaffoldedFrom
    assert worker["sourceTemplate"] == {"ref": "template:default/service-template", "templateVersion": "3.0.0"}
    assert worker["templateVersion"] == "2.0.0"  # behind the template's 3.0.0
    legacy = data(acme_client, query, ref="component:legacy")["entity"]
    assert (legacy["sourceTemplateRef"], legacy["sourceTemplate"]) == ("template:default/retired-template", None)
    group = data(acme_client, query, ref="group:payments")["entity"]
    assert (group["sourceTemplateRef"], group["templateVersion"]) == (None, None)
    assert group["createdAt"] == group["firstSeenAt"]  # no createdAt annotation: when first seen


def test_bad_adoption_input_is_refused_clearly(acme_client: TestClient) -> None:
    error = only_error(acme_client, "{ adoption { trend(days: 0) { day } } }")
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "days"}
    error = only_error(acme_client, '{ adoption(filter: {domain: "domain:"}) { total } }')
    assert error["extensions"]["argument"] == "filter.domain"
    error = only_error(acme_client, '{ adoption(since: "0001-01-01T00:00:00+01:00") { total } }')
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "since"}
    error = only_error(
        acme_client, '{ adoption(since: "2026-02-01T00:00:00Z", until: "2026-01-01T00:00:00Z") { total } }'
    )
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "since"}
    error = only_error(acme_client, "{ adoption(groupBy: TEAM) { total } }")
    assert "TEAM" in error["message"]
    fan_out = (
        "{ adoption(groupBy: OWNER) { groups { entity { relations { target { relations { target { ref } } } } } } } }"
    )
    error = only_error(acme_client, fan_out)
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["cost"] > 50_000


# --- the command line -----------------------------------------------------------------------------


def test_ingest_snapshots_adoption_and_the_commands_print_it(
    cli: Path, config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalogue = write_acme(tmp_path)
    assert main(["--config", str(config_file), "ingest", str(catalogue)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("; 5 of 8 components on a golden path")

    assert (
        main(["--config", str(config_file), "adoption", "--group-by", "owner", "--golden-paths", "--trend", "7"]) == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "5 of 8 components on a golden path (62.5%)"
    assert out[1].split() == ["OWNER", "TOTAL", "ON", "PATH", "%"]
    assert out[2].split() == ["group:default/data", "2", "0", "0.0%"]
    assert out[5].split() == ["group:default/search", "3", "2", "66.7%"]
    assert out[6].split()[:3] == ["GOLDEN", "PATH", "VERSION"]
    service = next(line for line in out if line.startswith("template:default/service-template"))
    assert service.split() == ["template:default/service-template", "3.0.0", "3", "1", "2", "1", "0"]
    assert out[-2].split()[:4] == ["DAY", "TOTAL", "ON", "PATH"]
    assert out[-1].split()[:4] == [utc_now().date().isoformat(), "8", "5", "62.5%"]

    assert (
        main(
            [
                "--config",
                str(config_file),
                "adoption",
                "--since",
                "2026-08-28T12:00:00Z",
                "--until",
                "2026-11-26T12:00:00Z",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.splitlines()[0] == (
        "3 of 4 components created from 2026-08-28 12:00 UTC to 2026-11-26 12:00 UTC on a golden path (75.0%)"
    )


def test_maturity_prints_each_criterion(
    cli: Path, config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    scorecards = tmp_path / "scorecards"
    scorecards.mkdir()
    (scorecards / "acme.yaml").write_text(yaml.safe_dump(acme_scorecard()), encoding="utf-8")
    monkeypatch.setenv("STAIRWAY_SCORECARDS", str(scorecards))
    assert main(["--config", str(config_file), "ingest", str(write_acme(tmp_path))]) == 0
    capsys.readouterr()
    assert main(["--config", str(config_file), "maturity", "--lifecycle", "production"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Organisation maturity: level ")
    inventory = next(line for line in out if " inventory " in line)
    assert inventory.split()[:7] == ["2", "Repeatable", "inventory", "85.7%", "70.0%", "pass", "6"]
    governance = next(line for line in out if " governance-evidence " in line)
    assert "42.9%" in governance and "FAIL" in governance
    assert out[-3] == "Lopsided scorecards: 14.3% of scored components in scope"  # platform-svc of 7 in production
    # No delivery events at all: both components the scorecard puts at level 4 or 5 are on paper only.
    assert out[-2] == (
        "Paper maturity: 2 of 2 components at level 4 or 5 (100.0%) have a LOW or unreported DORA band "
        "over the last 90 days"
    )


def test_the_command_refuses_windows_and_trends_it_cannot_draw(
    cli: Path, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for arguments in (["--trend", "0"], ["--trend", "99999999"], ["--since", "yesterday"]):
        with pytest.raises(SystemExit) as stopped:
            main(["--config", str(config_file), "adoption", *arguments])
        assert stopped.value.code == 2
        assert "adoption: error: argument --" in capsys.readouterr().err
    assert main(["--config", str(config_file), "adoption", "--since", "2026-02-01", "--until", "2026-01-01"]) == 2
    assert "--since is after --until" in capsys.readouterr().err
    assert (
        main(["--config", str(config_file), "adoption", "--until", "2030-01-01T00:00:00+02:00", "--kind", "API"]) == 0
    )
    assert capsys.readouterr().out.startswith("0 of 0 entities created from the start to 2029-12-31 22:00 UTC")


def test_a_configuration_that_cannot_be_used_stops_the_command(
    cli: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("goldenPaths:\n  tag: [golden-path]\n", encoding="utf-8")
    for command in (["adoption"], ["maturity"], ["ingest", str(write_acme(tmp_path))]):
        assert main(["--config", str(bad), *command]) == 2
        assert "bad.yaml: goldenPaths: unknown key 'tag'" in capsys.readouterr().err
