"""Paper maturity: level 4 or 5 on a scorecard while the delivery events say LOW, or say nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import Engine

from catalog.ingest import ingest
from catalog.queries import EntityFilter
from scorecards.definitions import Level, Scorecard, parse_scorecard
from scorecards.delivery import take_deployments
from scorecards.dora import DORA_2024, LOW, NOT_REPORTED, DoraKeys, parse_profile
from scorecards.golden_paths import GoldenPathSettings
from scorecards.organization import MaturitySettings, organization_maturity
from scorecards.paper_maturity import PaperMaturity, PaperShare, paper_maturity, paper_share
from scorecards.results import store_results

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
GOVERNED, SELF_IMPROVING, MANAGED = (
    Level(4, "governed", "Governed"),
    Level(5, "top", "Self-improving"),
    Level(3, "m", "Managed"),
)
# Monthly deployments, 40% of them failing, a day from commit to production.
SHAKY = DoraKeys(
    deployments=5,
    failures=2,
    deployments_per_week=5 * 7 / 90,
    lead_time_hours=30.0,
    change_failure_rate=0.4,
    recovery_hours=None,
)
STEADY = DoraKeys(
    deployments=20, failures=1, deployments_per_week=20 * 7 / 90, lead_time_hours=5.0, change_failure_rate=0.05
)


def test_a_level_4_component_without_events_is_on_paper() -> None:
    assert paper_maturity(GOVERNED, None, DORA_2024) == PaperMaturity(
        NOT_REPORTED, 90, "level 4 (Governed), but no delivery events were reported in the last 90 days"
    )


def test_a_low_band_names_the_low_keys_with_their_values() -> None:
    assert paper_maturity(SELF_IMPROVING, SHAKY, DORA_2024) == PaperMaturity(
        LOW,
        90,
        "level 5 (Self-improving), but its DORA band over the last 90 days is LOW (dora-2024): change failure rate 40%",
    )
    rare = DoraKeys(deployments=1, deployments_per_week=7 / 90, lead_time_hours=2000.0, change_failure_rate=0.0)
    assert paper_maturity(GOVERNED, rare, DORA_2024, 90) == PaperMaturity(
        LOW,
        90,
        "level 4 (Governed), but its DORA band over the last 90 days is LOW (dora-2024): "
        "deployment frequency 0.08 a week, lead time 2,000.0 hours",
    )


def test_events_that_measure_no_key_are_on_paper_too() -> None:
    staging_only = DoraKeys()  # events in the window, none of them a production deployment or a resolved incident
    flag = paper_maturity(GOVERNED, staging_only, DORA_2024)
    assert flag == PaperMaturity(
        NOT_REPORTED, 90, "level 4 (Governed), but none of the DORA keys could be measured over the last 90 days"
    )


def test_a_level_borne_out_or_below_governed_is_not_flagged() -> None:
    assert paper_maturity(GOVERNED, STEADY, DORA_2024) is None
    assert paper_maturity(SELF_IMPROVING, STEADY, DORA_2024) is None
    assert paper_maturity(MANAGED, None, DORA_2024) is None
    assert paper_maturity(MANAGED, SHAKY, DORA_2024) is None


def test_the_profile_decides_what_is_low() -> None:
    lenient = parse_profile(
        "lenient", {"changeFailureRate": {"thresholds": {"elite": 0.1, "high": 0.3, "medium": 0.5}}}
    )
    assert paper_maturity(GOVERNED, SHAKY, lenient) is None  # 40% is medium under this profile


# --- over stored results ----------------------------------------------------------------------


def annotated_card() -> Scorecard:
    """Levels from annotations alone (no DORA check): `level: N` reaches level N."""
    checks = [
        {
            "id": f"level-{n}",
            "title": f"Level {n}",
            "level": f"l{n}",
            "area": "all",
            "rule": {"fact": 'entity.metadata.annotations["example.com/level"]', "op": "in", "value": levels},
            "remediation": "Climb.",
        }
        for n, levels in ((2, ["2", "3", "4", "5"]), (3, ["3", "4", "5"]), (4, ["4", "5"]), (5, ["5"]))
    ]
    definition: dict[str, Any] = {
        "apiVersion": "stairway.dev/v1alpha1",
        "kind": "Scorecard",
        "metadata": {"name": "claims"},
        "spec": {
            "filter": {"kind": ["Component"]},
            "levels": [{"id": f"l{n}"} for n in range(1, 6)],
            "areas": [{"id": "all"}],
            "checks": checks,
        },
    }
    card, problems = parse_scorecard(definition, "claims.yaml")
    assert card is not None and not problems
    return card


def component(name: str, level: int, lifecycle: str = "production") -> dict[str, Any]:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name, "annotations": {"example.com/level": str(level)}},
        "spec": {"type": "service", "lifecycle": lifecycle, "owner": "team-a", "system": "shop"},
    }


def monthly(ref: str, failing: int, count: int = 3) -> list[dict[str, Any]]:
    """`count` deployments a month apart in the last 90 days, the first `failing` of them failed."""
    return [
        {
            "id": f"{ref}-{n}",
            "entityRef": ref,
            "finishedAt": (NOW - timedelta(days=1 + 29 * n)).isoformat(),
            "status": "failure" if n < failing else "success",
            "leadTimeSeconds": 3600,
        }
        for n in range(count)
    ]


@pytest.fixture
def claims(engine: Engine, tmp_path: Path) -> Engine:
    """shaky (5, 2 of 3 deployments failed), silent (4, no events), steady (5, daily with no failure), junior
    (3, shaky too) and prototype (4, experimental: outside the production scope, no events)."""
    path = tmp_path / "catalog.yaml"
    entities = [component("shaky", 5), component("silent", 4), component("steady", 5), component("junior", 3)]
    path.write_text(yaml.safe_dump_all([*entities, component("prototype", 4, "experimental")]), encoding="utf-8")
    assert ingest(engine, [str(path)], workers=0).errors == 0
    daily = [
        {
            "id": f"steady-{n}",
            "entityRef": "component:steady",
            "finishedAt": (NOW - timedelta(days=n, hours=1)).isoformat(),
            "status": "success",
            "leadTimeSeconds": 1800,
        }
        for n in range(60)
    ]
    with engine.begin() as connection:
        take_deployments(connection, monthly("component:shaky", 2) + monthly("component:junior", 2) + daily, NOW)
        store_results(connection, [annotated_card()], None, NOW)
    return engine


def test_the_share_of_claimed_levels_on_paper(claims: Engine) -> None:
    with claims.connect() as connection:
        everything = paper_share(connection, "claims", EntityFilter(), NOW, DORA_2024)
        production = paper_share(connection, "claims", EntityFilter(lifecycle=["production"]), NOW, DORA_2024)
    # shaky, silent, steady and prototype claim 4 or 5; all but steady are on paper.
    assert everything == PaperShare(claimed=4, on_paper=3, window_days=90)
    assert everything.share == 75.0
    assert production == PaperShare(claimed=3, on_paper=2, window_days=90)
    assert production.share == pytest.approx(200 / 3)


def test_organisation_maturity_reports_the_share(claims: Engine) -> None:
    settings = MaturitySettings(scorecard="claims")
    with claims.connect() as connection:
        found = organization_maturity(connection, GoldenPathSettings(), settings, ["claims"], None, NOW)
        missing = organization_maturity(connection, GoldenPathSettings(), MaturitySettings(), [], None, NOW)
        later = organization_maturity(
            connection, GoldenPathSettings(), settings, ["claims"], None, NOW + timedelta(days=200)
        )
    assert found.paper == PaperShare(claimed=4, on_paper=3, window_days=90)
    assert missing.paper is None  # no scorecard loaded: nothing to claim a level on
    assert later.paper == PaperShare(claimed=4, on_paper=4, window_days=90)  # every event has left the window


def test_no_component_at_level_4_has_no_share(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(component("junior", 3)), encoding="utf-8")
    assert ingest(engine, [str(path)], workers=0).errors == 0
    with engine.begin() as connection:
        store_results(connection, [annotated_card()], None, NOW)
        found = paper_share(connection, "claims", EntityFilter(), NOW, DORA_2024)
    assert found == PaperShare(claimed=0, on_paper=0, window_days=90)
    assert found.share is None
