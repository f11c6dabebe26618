"""Golden paths, adoption (overall, new workloads, groups, trend) and organisation maturity, on the
hand-counted Acme catalogue (tests/scorecards/acme.py), in real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from catalog.ingest import ingest
from catalog.queries import EntityFilter
from scorecards.adoption import (
    NONE_KEY,
    AdoptionGroup,
    AdoptionSettings,
    TrendSeries,
    adoption,
    adoption_trend,
    new_workloads,
    snapshot_adoption,
    trend_series,
)
from scorecards.definitions import Scorecard, parse_scorecard
from scorecards.golden_paths import GoldenPathSettings, GoldenPathUse, golden_paths
from scorecards.organization import MaturitySettings, OrganizationMaturity, organization_maturity
from scorecards.results import store_results
from tests.scorecards.acme import NOW, acme_scorecard, write_acme

TAGGED = GoldenPathSettings(tags=("golden-path",))
EVERY_TEMPLATE = GoldenPathSettings()
WINDOW_START = NOW - timedelta(days=90)  # 2026-08-28 12:00 UTC


@pytest.fixture
def acme(engine: Engine, tmp_path: Path) -> Engine:
    summary = ingest(engine, [str(write_acme(tmp_path))], workers=0)
    assert summary.errors == 0
    return engine


def counts(engine: Engine, settings: GoldenPathSettings = TAGGED, **kwargs: object) -> tuple[int, int, float | None]:
    with engine.connect() as connection:
        overall, _ = adoption(connection, settings, **kwargs)  # type: ignore[arg-type]
    return overall.total, overall.on_golden_path, overall.percentage


def groups(engine: Engine, group_by: AdoptionGroup, **kwargs: object) -> dict[str, tuple[int, int, str | None]]:
    with engine.connect() as connection:
        _, buckets = adoption(connection, TAGGED, group_by=group_by, **kwargs)  # type: ignore[arg-type]
    return {b.key: (b.total, b.on_golden_path, b.ref) for b in buckets}


def test_adoption_counts_components_started_on_a_tagged_golden_path(acme: Engine) -> None:
    # pay-api, pay-worker (spec.scaffoldedFrom), search-api, platform-svc, ranker; not search-ui (no template),
    # etl (pipeline-template is not tagged) nor legacy (its template is gone).
    assert counts(acme) == (8, 5, 62.5)


def test_without_configuration_every_template_is_a_golden_path(acme: Engine) -> None:
    assert counts(acme, EVERY_TEMPLATE) == (8, 6, 75.0)  # etl's pipeline-template counts now; legacy's is still gone


def test_golden_paths_named_by_ref_join_the_tagged_ones(acme: Engine) -> None:
    settings = GoldenPathSettings(tags=("golden-path",), templates=("template:default/pipeline-template",))
    assert counts(acme, settings) == (8, 6, 75.0)
    only_named = GoldenPathSettings(templates=("template:default/model-template", "template:default/retired-template"))
    assert counts(acme, only_named) == (8, 1, 12.5)  # a named ref without an entity is no golden path


def test_an_empty_scope_has_no_percentage(acme: Engine) -> None:
    assert counts(acme, entity_filter=EntityFilter(owner="group:default/nobody")) == (0, 0, None)
    assert groups(acme, AdoptionGroup.OWNER, entity_filter=EntityFilter(owner="nobody")) == {}


def test_the_scope_is_any_filter_and_components_by_default(acme: Engine) -> None:
    assert counts(acme, entity_filter=EntityFilter(lifecycle=["production"])) == (7, 5, pytest.approx(500 / 7))
    assert counts(acme, entity_filter=EntityFilter(owner="search")) == (3, 2, pytest.approx(200 / 3))
    assert counts(acme, entity_filter=EntityFilter(domain="commerce")) == (6, 5, pytest.approx(500 / 6))
    assert counts(acme, entity_filter=EntityFilter(kind=["Template"])) == (5, 0, 0.0)


def test_new_workloads_are_those_created_in_the_window_start_included_end_excluded(acme: Engine) -> None:
    # Created at or after 2026-08-28 12:00: pay-api, search-api, search-ui, platform-svc (exactly at the start);
    # ranker, one second earlier, is not new.
    assert counts(acme, since=WINDOW_START, until=NOW) == (4, 3, 75.0)
    with acme.connect() as connection:
        assert new_workloads(connection, TAGGED, None, 90, NOW).on_golden_path == 3
    # pay-api was created at 2026-10-01 00:00 (in), search-ui at 2026-11-01 00:00 (the end: out).
    october = datetime.fromisoformat("2026-10-01T00:00:00+00:00")
    november = datetime.fromisoformat("2026-11-01T00:00:00+00:00")
    assert counts(acme, since=october, until=november) == (1, 1, 100.0)
    assert counts(acme, since=november) == (1, 0, 0.0)
    assert counts(acme, until=datetime.fromisoformat("2023-01-01T00:00:00+00:00")) == (0, 0, None)


def test_window_bounds_in_any_timezone_mean_the_same_moment(acme: Engine) -> None:
    tokyo = timezone(timedelta(hours=9))
    assert counts(acme, since=WINDOW_START.astimezone(tokyo), until=NOW.astimezone(tokyo)) == (4, 3, 75.0)
    assert counts(acme, since=datetime(2026, 8, 28, 12, 0)) == counts(acme, since=WINDOW_START)  # naive: UTC


def test_creation_time_falls_back_to_when_the_catalogue_first_saw_a_component(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "new.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: fresh\n"
        "spec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"
    )
    before = datetime.now().astimezone()
    ingest(engine, [str(tmp_path)], workers=0)
    after = datetime.now().astimezone()
    assert counts(engine, since=before - timedelta(seconds=1), until=after + timedelta(seconds=1))[0] == 1
    assert counts(engine, until=before - timedelta(seconds=1))[0] == 0


def test_adoption_by_owner_system_and_domain_adds_up_to_the_whole(acme: Engine) -> None:
    assert groups(acme, AdoptionGroup.OWNER) == {
        "group:default/data": (2, 0, "group:default/data"),
        "group:default/payments": (2, 2, "group:default/payments"),
        "group:default/platform": (1, 1, "group:default/platform"),
        "group:default/search": (3, 2, "group:default/search"),
    }
    assert groups(acme, AdoptionGroup.SYSTEM) == {
        NONE_KEY: (1, 0, None),  # legacy
        "system:default/checkout": (3, 3, "system:default/checkout"),
        "system:default/discovery": (3, 2, "system:default/discovery"),
        "system:default/lake": (1, 0, "system:default/lake"),
    }
    assert groups(acme, AdoptionGroup.DOMAIN) == {
        NONE_KEY: (2, 0, None),  # etl (lake has no domain) and legacy (no system)
        "domain:default/commerce": (6, 5, "domain:default/commerce"),
    }
    with acme.connect() as connection:
        overall, _ = adoption(connection, TAGGED, group_by=AdoptionGroup.DOMAIN)
    assert (overall.total, overall.on_golden_path) == (8, 5)


def test_adoption_by_template_and_version(acme: Engine) -> None:
    assert groups(acme, AdoptionGroup.TEMPLATE) == {
        NONE_KEY: (1, 0, None),
        "template:default/model-template": (1, 1, "template:default/model-template"),
        "template:default/pipeline-template": (1, 0, "template:default/pipeline-template"),
        "template:default/retired-template": (1, 0, "template:default/retired-template"),
        "template:default/service-template": (3, 3, "template:default/service-template"),
        "template:default/unversioned-template": (1, 1, "template:default/unversioned-template"),
    }
    by_version = groups(acme, AdoptionGroup.TEMPLATE_VERSION)
    assert {key: value[:2] for key, value in by_version.items()} == {
        NONE_KEY: (1, 0),
        "template:default/model-template@(none)": (1, 1),
        "template:default/pipeline-template@0.5.0": (1, 0),
        "template:default/retired-template@1.0.0": (1, 0),
        "template:default/service-template@2.0.0": (1, 1),
        "template:default/service-template@3.0.0": (2, 2),
        "template:default/unversioned-template@1.0": (1, 1),
    }
    assert by_version["template:default/service-template@3.0.0"][2] == "template:default/service-template"


def test_versions_without_a_template_are_one_group_and_snapshot_once(engine: Engine, tmp_path: Path) -> None:
    # Two components that name a template version but no template; and Templates, which all carry one.
    for name, version in (("a", "1.0.0"), ("b", "2.0.0")):
        (tmp_path / f"{name}.yaml").write_text(
            f"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n  annotations:\n"
            f"    backstage.io/template-version: '{version}'\nspec:\n  type: service\n  lifecycle: production\n"
            "  owner: team-a\n"
        )
    ingest(engine, [str(tmp_path)], workers=0)
    assert groups(engine, AdoptionGroup.TEMPLATE_VERSION) == {NONE_KEY: (2, 0, None)}
    settings = AdoptionSettings(
        trend_scopes={"components": EntityFilter(), "templates": EntityFilter(kind=["Template"])}
    )
    with engine.begin() as connection:
        snapshot_adoption(connection, TAGGED, settings, NOW)
        snapshot_adoption(connection, TAGGED, settings, NOW)
    with engine.connect() as connection:
        (point,) = adoption_trend(connection, TrendSeries("components", "TEMPLATE_VERSION", NONE_KEY), 1, NOW.date())
    assert point.overall.total == 2


def test_golden_paths_count_adopters_other_teams_and_drift(acme: Engine) -> None:
    with acme.connect() as connection:
        found = {path.template_ref: path for path in golden_paths(connection, TAGGED)}
        every = {path.template_ref: path for path in golden_paths(connection, TAGGED, every_template=True)}
        production_search = golden_paths(connection, TAGGED, EntityFilter(owner="search", lifecycle=["production"]))

    def row(ref: str, paths: dict[str, GoldenPathUse] = found) -> tuple[object, ...]:
        p = paths[ref]
        return (p.adopters, p.cross_team_adopters, p.current, p.behind, p.unknown_version, p.golden)

    assert sorted(found) == [
        "template:default/docs-template",
        "template:default/model-template",
        "template:default/service-template",
        "template:default/unversioned-template",
    ]
    assert row("template:default/service-template") == (3, 1, 2, 1, 0, True)  # pay-worker made from 2.0.0 is behind
    assert row("template:default/model-template") == (1, 1, 0, 0, 1, True)  # search-api has no version: unknown
    assert row("template:default/unversioned-template") == (1, 0, 0, 0, 1, True)  # the template has none: unknown
    assert row("template:default/docs-template") == (0, 0, 0, 0, 0, True)
    assert found["template:default/service-template"].version == "3.0.0"
    assert found["template:default/service-template"].owner_ref == "group:default/platform"
    assert row("template:default/pipeline-template", every) == (1, 0, 1, 0, 0, False)
    assert "template:default/retired-template" not in every  # no entity, nothing to list
    assert {p.template_ref: p.adopters for p in production_search if p.adopters} == {
        "template:default/model-template": 1,
        "template:default/unversioned-template": 1,
    }


def test_scaffolded_from_is_a_relation_both_ways(acme: Engine) -> None:
    from catalog.queries import relations_from

    with acme.connect() as connection:
        found = relations_from(connection, ["component:default/pay-worker", "template:default/service-template"])
    assert ("scaffoldedFrom", "template:default/service-template") in found["component:default/pay-worker"]
    assert ("scaffolderOf", "component:default/pay-worker") in found["template:default/service-template"]


def test_a_daily_snapshot_keeps_the_trend_and_a_second_one_replaces_the_day(acme: Engine, tmp_path: Path) -> None:
    settings = AdoptionSettings(
        trend_scopes={"components": EntityFilter(), "production": EntityFilter(lifecycle=["production"])}
    )
    yesterday = NOW - timedelta(days=1)
    with acme.begin() as connection:
        snapshot_adoption(connection, TAGGED, settings, yesterday)
        snapshot_adoption(connection, EVERY_TEMPLATE, settings, NOW)  # first run of the day
        snapshot_adoption(connection, TAGGED, settings, NOW + timedelta(hours=1))  # replaces it
    whole = TrendSeries("components")
    with acme.connect() as connection:
        points = adoption_trend(connection, whole, 90, NOW.date())
        last_day = adoption_trend(connection, whole, 1, NOW.date())
        searching = adoption_trend(
            connection, TrendSeries("components", "OWNER", "group:default/search"), 90, NOW.date()
        )
        production = adoption_trend(connection, TrendSeries("production"), 90, NOW.date())
        commerce = adoption_trend(
            connection, TrendSeries("components", "DOMAIN", "domain:default/commerce"), 90, NOW.date()
        )
    assert [(p.day, p.overall.total, p.overall.on_golden_path) for p in points] == [
        (yesterday.date(), 8, 5),
        (NOW.date(), 8, 5),  # the day's last snapshot (tagged), not its first (every template: 6)
    ]
    assert [p.day for p in last_day] == [NOW.date()]
    # New workloads of the 90 days before each snapshot: yesterday's window also takes in ranker; the one
    # taken an hour after NOW leaves out platform-svc too.
    assert [(p.new.total, p.new.on_golden_path) for p in points] == [(5, 4), (3, 2)]
    assert [(p.overall.total, p.overall.on_golden_path, p.overall.percentage) for p in searching] == [
        (3, 2, pytest.approx(200 / 3))
    ] * 2
    assert [(p.overall.total, p.overall.on_golden_path) for p in production] == [(7, 5)] * 2
    assert [(p.overall.total, p.overall.on_golden_path) for p in commerce] == [(6, 5)] * 2


def test_snapshots_take_long_template_refs_and_count_no_future_workload_as_new(engine: Engine, tmp_path: Path) -> None:
    name = "t" * 490
    future = (NOW + timedelta(days=30)).isoformat()
    (tmp_path / "long.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc\n  annotations:\n"
        f"    backstage.io/source-template: template:default/{name}\n    backstage.io/template-version: 1.0.0\n"
        f"    backstage.io/createdAt: '{future}'\n"
        "spec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"
    )
    ingest(engine, [str(tmp_path)], workers=0)
    with engine.begin() as connection:
        snapshot_adoption(connection, EVERY_TEMPLATE, AdoptionSettings(), NOW)
    with engine.connect() as connection:
        version = TrendSeries("components", "TEMPLATE_VERSION", f"template:default/{name}@1.0.0")
        (point,) = adoption_trend(connection, version, 1, NOW.date())
        (whole,) = adoption_trend(connection, TrendSeries("components"), 1, NOW.date())
    assert (point.overall.total, point.overall.on_golden_path) == (1, 0)  # the template is not in the catalogue
    assert (whole.overall.total, whole.new.total) == (1, 0)  # created after the snapshot: not new yet


def test_a_report_finds_the_snapshot_series_that_measures_its_filter() -> None:
    settings = AdoptionSettings(
        trend_scopes={"components": EntityFilter(), "production": EntityFilter(lifecycle=["production"])}
    )
    assert trend_series(settings, None) == TrendSeries("components")
    assert trend_series(settings, EntityFilter(kind=["component"])) == TrendSeries("components")
    assert trend_series(settings, EntityFilter(lifecycle=["Production"])) == TrendSeries("production")
    assert trend_series(settings, EntityFilter(owner="search")) == TrendSeries(
        "components", "OWNER", "group:default/search"
    )
    assert trend_series(settings, EntityFilter(lifecycle=["production"], system="checkout")) == TrendSeries(
        "production", "SYSTEM", "system:default/checkout"
    )
    assert trend_series(settings, EntityFilter(tag="python")) is None
    assert trend_series(settings, EntityFilter(owner="search", system="checkout")) is None


# --- organisation maturity ------------------------------------------------------------------------


@pytest.fixture
def scored(acme: Engine) -> Scorecard:
    card, problems = parse_scorecard(acme_scorecard(), "acme.yaml")
    assert card is not None, problems
    with acme.begin() as connection:
        store_results(connection, [card], None, NOW)
    return card


def assess(
    engine: Engine, settings: MaturitySettings, entity_filter: EntityFilter | None = None
) -> OrganizationMaturity:
    with engine.connect() as connection:
        return organization_maturity(connection, TAGGED, settings, ["acme"], entity_filter, NOW)


ACME = MaturitySettings(
    scorecard="acme", governance_checks=("risk-tier", "model-card"), retraining_checks=("retraining",)
)


def test_organisation_maturity_measures_every_criterion_by_hand_count(engine: Engine, scored: Scorecard) -> None:
    found = assess(engine, ACME)
    measured = {c.id: (c.value, c.threshold, c.passed) for c in found.criteria}
    assert measured == {
        # 6 of 7 production components have an owner and a system (legacy has no system).
        "inventory": (pytest.approx(600 / 7), 70.0, True),
        # model-template (search) and service-template (payments) are used beyond their owner, platform.
        "cross-team-golden-path": (2.0, 1.0, True),
        # 3 of the 4 components created in the last 90 days.
        "new-workloads-on-golden-paths": (75.0, 40.0, True),
        "golden-paths-in-use": (3.0, 2.0, True),  # docs-template has no adopters
        # pay-api 5, pay-worker 4, search-api 3, ranker 3 of 7 scored production components.
        "scorecard-level-3": (pytest.approx(400 / 7), 50.0, True),
        # 5 of 7 production components (not etl, legacy).
        "production-on-golden-paths": (pytest.approx(500 / 7), 80.0, False),
        # risk tier and model card: pay-api, pay-worker, etl.
        "governance-evidence": (pytest.approx(300 / 7), 90.0, False),
        # The platform team owns the most golden paths (2); search and payments own one each.
        "product-team-golden-paths": (2.0, 2.0, True),
        # pay-api is at level 5; platform-svc retrains on monitoring.
        "self-improving": (pytest.approx(200 / 7), 50.0, False),
    }
    assert (found.level.ordinal, found.level.title) == (3, "Managed")
    assert [c.id for c in found.unlock] == ["production-on-golden-paths", "governance-evidence"]
    # platform-svc: governance area at level 2, delivery at 5: a spread of 3 (the threshold). 1 of 8 scored.
    assert found.lopsided_share == 12.5
    evidence = {c.id: c.evidence for c in found.criteria}
    assert evidence["inventory"] == "6 of 7 production components name an owner and a system"
    assert evidence["governance-evidence"] == "3 of 7 production components scored on acme pass risk-tier, model-card"
    assert "group:default/platform" in evidence["product-team-golden-paths"]


def test_thresholds_and_the_platform_team_are_configurable(engine: Engine, scored: Scorecard) -> None:
    lenient = MaturitySettings(
        scorecard="acme",
        governance_checks=("risk-tier", "model-card"),
        retraining_checks=("retraining",),
        thresholds={"production-on-golden-paths": 70, "governance-evidence": 40, "self-improving": 25},
    )
    assert assess(engine, lenient).level.ordinal == 5
    assert assess(engine, lenient).unlock == []
    # With search named the platform team, only payments and platform own golden paths besides it... 2 teams.
    named = MaturitySettings(**{**lenient.__dict__, "platform_teams": ("group:default/search",)})
    product = next(c for c in assess(engine, named).criteria if c.id == "product-team-golden-paths")
    assert (product.value, product.passed) == (2.0, True)
    both = MaturitySettings(
        **{**lenient.__dict__, "platform_teams": ("group:default/platform", "group:default/search")}
    )
    assessed = assess(engine, both)
    assert assessed.level.ordinal == 4
    assert [c.id for c in assessed.unlock] == ["product-team-golden-paths"]


def test_the_platform_team_is_the_owner_of_the_most_golden_paths_the_first_on_a_tie(
    engine: Engine, scored: Scorecard
) -> None:
    # Owners of golden paths: platform 2, payments 1, search 1. Counting every template, data owns one too.
    every = GoldenPathSettings()
    with engine.connect() as connection:
        found = organization_maturity(connection, every, ACME, ["acme"], None, NOW)
    product = next(c for c in found.criteria if c.id == "product-team-golden-paths")
    assert product.value == 3.0
    assert "group:default/platform, owner of the most golden paths" in product.evidence
    tied = GoldenPathSettings(templates=("template:default/docs-template", "template:default/unversioned-template"))
    with engine.connect() as connection:
        found = organization_maturity(connection, tied, ACME, ["acme"], None, NOW)
    product = next(c for c in found.criteria if c.id == "product-team-golden-paths")
    assert product.value == 1.0  # payments (first by ref) is taken for the platform team; search is the other
    assert product.evidence.startswith("1 teams besides the platform team (group:default/payments, owner of the most")


def test_a_level_needs_every_level_below_it(engine: Engine, scored: Scorecard) -> None:
    # Level 4 and 5 criteria pass but inventory (level 2) does not: the organisation stays at level 1.
    settings = MaturitySettings(
        scorecard="acme",
        governance_checks=("risk-tier", "model-card"),
        retraining_checks=("retraining",),
        thresholds={"inventory": 90, "production-on-golden-paths": 0, "governance-evidence": 0, "self-improving": 0},
    )
    found = assess(engine, settings)
    assert found.level.ordinal == 1
    assert [c.id for c in found.unlock] == ["inventory"]


def test_a_scope_such_as_one_domain_is_assessed_alone(engine: Engine, scored: Scorecard) -> None:
    found = assess(engine, ACME, EntityFilter(domain="commerce"))
    measured = {c.id: c.value for c in found.criteria}
    # commerce's production components: pay-api, pay-worker, search-api, platform-svc, ranker (all on golden paths).
    assert measured["inventory"] == 100.0
    assert measured["production-on-golden-paths"] == 100.0
    assert measured["governance-evidence"] == 40.0  # pay-api, pay-worker
    assert measured["new-workloads-on-golden-paths"] == 75.0


def test_an_empty_scope_measures_nothing_and_stays_at_level_1(engine: Engine, scored: Scorecard) -> None:
    found = assess(engine, ACME, EntityFilter(owner="group:default/nobody"))
    by_id = {c.id: c for c in found.criteria}
    assert by_id["inventory"].value is None and not by_id["inventory"].passed
    assert by_id["inventory"].evidence == "no production components in scope: nothing to measure"
    assert found.level.ordinal == 1
    assert found.lopsided_share is None


def test_without_the_scorecard_its_criteria_fail_and_say_why(acme: Engine) -> None:
    settings = MaturitySettings(scorecard="missing")
    with acme.connect() as connection:
        found = organization_maturity(connection, TAGGED, settings, ["acme"], None, NOW)
        defaulted = organization_maturity(connection, TAGGED, MaturitySettings(), [], None, NOW)
    level_3 = next(c for c in found.criteria if c.id == "scorecard-level-3")
    assert (level_3.value, level_3.passed, level_3.evidence) == (None, False, "no scorecard named 'missing' is loaded")
    assert found.level.ordinal == 2
    assert next(c for c in defaulted.criteria if c.id == "self-improving").evidence == "no scorecard is loaded"
