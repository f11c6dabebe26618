"""`stairway events submit FILE [--shift-to-now]`: delivery events from a file, as `make run` loads the
example history, and what a refused one says."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.cli import main
from service.events_cli import shift_to
from tests.conftest import EXAMPLES

DELIVERIES = EXAMPLES.parent / "deliveries.json"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_shifting_moves_every_timestamp_by_the_same_amount_the_newest_to_now() -> None:
    document: dict[str, Any] = {
        "deployments": [
            {
                "id": "d1",
                "finishedAt": "2026-01-10T10:00:00Z",
                "commits": [{"sha": "abc1234", "committedAt": "2026-01-10T08:30:00+01:00"}],
            },
            {"id": "d2", "finishedAt": "yesterday"},  # left for the event checks to refuse
            {"id": "d3", "finishedAt": "2026-01-10T10:00:00"},  # no offset: not an instant, left as it is
        ],
        "incidents": [{"id": "i1", "openedAt": "2026-01-11T09:00:00Z", "resolvedAt": "2026-01-11T12:00:00Z"}],
    }
    shift_to(document, NOW)
    assert document == {
        "deployments": [
            {
                "id": "d1",
                "finishedAt": "2026-11-25T10:00:00Z",  # 26 hours before the newest, as before
                "commits": [{"sha": "abc1234", "committedAt": "2026-11-25T07:30:00Z"}],
            },
            {"id": "d2", "finishedAt": "yesterday"},
            {"id": "d3", "finishedAt": "2026-01-10T10:00:00"},
        ],
        "incidents": [{"id": "i1", "openedAt": "2026-11-26T09:00:00Z", "resolvedAt": "2026-11-26T12:00:00Z"}],
    }


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        return (
            connection.execute(sa.text("SELECT count(*) FROM deployments")).scalar_one(),
            connection.execute(sa.text("SELECT count(*) FROM incidents")).scalar_one(),
        )


def test_the_example_history_is_taken_and_scored(cli: Path, engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(EXAMPLES)]) == 0
    capsys.readouterr()
    assert main(["events", "submit", str(DELIVERIES), "--shift-to-now"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [
        "deployments: 44 received, 44 created, 0 updated, 0 unchanged",
        "incidents: 2 received, 2 created, 0 updated, 0 unchanged",
    ]
    assert out[2].startswith("10 entities scored on 1 scorecard in ")
    assert counts(engine) == (44, 2)
    with engine.connect() as connection:
        level = connection.execute(
            sa.text("SELECT level FROM scorecard_results WHERE entity_ref = 'component:default/ranking-model'")
        ).scalar_one()
    assert level == 2  # its lead time is measured now; without the example facts its level 3 checks fail
    # Without shifting, the same file again: every timestamp differs from the shifted ones, so all update.
    assert main(["events", "submit", str(DELIVERIES)]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == [
        "deployments: 44 received, 0 created, 44 updated, 0 unchanged",
        "incidents: 2 received, 0 created, 2 updated, 0 unchanged",
    ]


def test_a_refused_event_is_named_by_its_place_in_the_file(
    cli: Path, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", str(EXAMPLES)]) == 0
    capsys.readouterr()
    finished = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    good = [
        {"id": f"d{n}", "entityRef": "component:ranking-model", "finishedAt": finished, "status": "success"}
        for n in range(1_003)
    ]
    good[1_002]["status"] = "maybe"
    path = cli / "events.json"
    path.write_text(json.dumps({"deployments": good}), encoding="utf-8")
    assert main(["events", "submit", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "deployments: 1000 received, 1000 created, 0 updated, 0 unchanged\n"
    assert captured.err == f'stairway: {path}: deployments[1002].status: must be "success" or "failure"\n'
    assert counts(engine) == (1_000, 0)  # the first batch is kept


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("[]", 'expected {"deployments": [...], "incidents": [...]}, got (not an object)'),
        ('{"deploys": []}', "got deploys"),
        ('{"deployments": {}}', "deployments must be an array of events"),
        ("{", "unexpected end of data"),
    ],
)
def test_a_file_it_cannot_read_is_refused_with_exit_2(
    cli: Path, capsys: pytest.CaptureFixture[str], content: str, words: str
) -> None:
    path = cli / "events.json"
    path.write_text(content, encoding="utf-8")
    assert main(["events", "submit", str(path)]) == 2
    captured = capsys.readouterr()
    assert words in captured.err
