"""Paper maturity as a portal reads it, over the example catalogue with `make run`'s facts and events: the
ranking model claims level 4 while 40% of its deployments fail; the fraud detection model's delivery
bears its level 5 out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from catalog.tables import utc_now
from scorecards.definitions import load_scorecards
from scorecards.exemptions import create_exemption
from tests.conftest import EXAMPLES
from tests.service.conftest import TestClient, data, report_examples

RESULT = """query ($ref: String!) { entity(ref: $ref) { scorecards {
    level { ordinal } paperMaturity { band windowDays reason } } } }"""
MATURITY = """query ($filter: EntityFilter) { organizationMaturity(filter: $filter) {
    paperMaturity { claimed onPaper share windowDays } } }"""


@pytest.fixture
def reported(examples: Engine) -> Engine:
    scorecards, problems = load_scorecards([str(EXAMPLES.parent / "scorecards")])
    assert not problems
    with examples.begin() as connection:
        report_examples(connection, scorecards, utc_now())
    return examples


def scorecard(client: TestClient, ref: str) -> dict[str, object]:
    found = data(client, RESULT, ref=ref)["entity"]["scorecards"]
    assert len(found) == 1
    return found[0]


def test_a_governed_component_failing_40_percent_is_mature_on_paper(reported: Engine, client: TestClient) -> None:
    assert scorecard(client, "component:ranking-model") == {
        "level": {"ordinal": 4},
        "paperMaturity": {
            "band": "LOW",
            "windowDays": 90,
            "reason": "level 4 (Governed), but its DORA band over the last 90 days is LOW (dora-2024): "
            "change failure rate 40%",
        },
    }
    assert scorecard(client, "component:fraud-detection-model") == {"level": {"ordinal": 5}, "paperMaturity": None}
    assert scorecard(client, "component:recommendation-api")["paperMaturity"] is None  # level 3 claims nothing


def test_organisation_maturity_reports_the_share_on_paper(reported: Engine, client: TestClient) -> None:
    found = data(client, MATURITY)["organizationMaturity"]["paperMaturity"]
    assert found == {"claimed": 2, "onPaper": 1, "share": 50.0, "windowDays": 90}
    recommendations = data(client, MATURITY, filter={"owner": "group:default/recommendations"})
    assert recommendations["organizationMaturity"]["paperMaturity"] == {
        "claimed": 1,
        "onPaper": 1,
        "share": 100.0,
        "windowDays": 90,
    }
    none_claimed = data(client, MATURITY, filter={"owner": "group:default/data-engineering"})
    assert none_claimed["organizationMaturity"]["paperMaturity"] == {
        "claimed": 0,
        "onPaper": 0,
        "share": None,
        "windowDays": 90,
    }


def test_an_exempted_delivery_check_without_recent_events_is_on_paper(examples: Engine, client: TestClient) -> None:
    scorecards, _problems = load_scorecards([str(EXAMPLES.parent / "scorecards")])
    now = utc_now()
    with examples.begin() as connection:
        report_examples(connection, scorecards, now, deliveries_end=now - timedelta(days=120))
    assert scorecard(client, "component:ranking-model") == {"level": {"ordinal": 3}, "paperMaturity": None}
    # Exempt from its lead-time check, it is back at level 4: on paper, with no events in the window.
    with examples.begin() as connection:
        create_exemption(
            connection,
            scorecards,
            entity_ref="component:ranking-model",
            scorecard="ai-platform-maturity",
            check="fast-feedback",
            reason="moving to the new pipeline",
            expires_at=now + timedelta(days=30),
            now=now,
        )
    assert scorecard(client, "component:ranking-model") == {
        "level": {"ordinal": 4},
        "paperMaturity": {
            "band": "NOT_REPORTED",
            "windowDays": 90,
            "reason": "level 4 (Governed), but no delivery events were reported in the last 90 days",
        },
    }
