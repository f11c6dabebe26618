"""The scorecard commands as a platform engineer runs them: score, evaluate, facts submit, lint, dry-run."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine

from service.cli import main
from tests.conftest import EXAMPLES, REPO

F_SETPIPE_SZ = 1031  # Linux: set a pipe's capacity
DEFAULT = EXAMPLES.parent / "scorecards" / "ai-platform-maturity.yaml"


@pytest.fixture
def scored(cli: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The example catalogue ingested (and scored) and its example facts and delivery events submitted."""
    assert main(["ingest", str(EXAMPLES)]) == 0
    assert main(["facts", "submit", str(EXAMPLES.parent / "facts.json")]) == 0
    assert main(["events", "submit", str(EXAMPLES.parent / "deliveries.json"), "--shift-to-now"]) == 0
    capsys.readouterr()
    return cli


def test_ingest_stores_a_result_per_component_the_scorecard_applies_to(scored: Path, engine: Engine) -> None:
    with engine.connect() as connection:
        rows = dict(connection.execute(sa.text("SELECT entity_ref, level FROM scorecard_results")).all())
    assert len(rows) == 10
    assert rows["component:default/fraud-detection-model"] == 5  # raised by the submitted facts
    assert rows["component:default/clickstream-etl"] == 1


def test_score_prints_the_checks_and_the_way_up(scored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "Component:churn-prediction-model"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0] == "component:default/churn-prediction-model on ai-platform-maturity: level 1 Ad-hoc (next: Repeatable)"
    )
    assert out[1] == "floor Ad-hoc, spread 4, lopsided"
    assert out[2].split() == ["LEVEL", "AREA", "CHECK", "STATUS", "REASON"]
    docs = next(line for line in out if " has-docs " in line)
    assert docs.split()[:4] == ["Repeatable", "developer-experience", "has-docs", "FAILED"]
    assert docs.endswith('metadata.annotations["backstage.io/techdocs-ref"] is absent')
    assert out[out.index("To reach Repeatable:") + 1].startswith("  1. ")


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["score", "component:nope"], "no entity component:default/nope"),
        (["score", "nope"], "had missing or empty kind"),
        (["score", "component:ranking-model", "--scorecard", "other"], "no scorecard named 'other'"),
    ],
)
def test_score_refuses_what_it_cannot_find(
    scored: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], words: str
) -> None:
    assert main(arguments) == 2
    assert words in capsys.readouterr().err


def test_a_file_of_facts_with_a_bad_submission_takes_the_others(cli: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(EXAMPLES)]) == 0
    facts = cli / "facts.json"
    facts.write_text(
        '[{"entityRef": "component:ranking-model", "source": "ci", "facts": {"sbom": true}},'
        ' {"entityRef": "component:nope", "source": "ci", "facts": {"sbom": true}}]',
        encoding="utf-8",
    )
    assert main(["facts", "submit", str(facts)]) == 1
    captured = capsys.readouterr()
    assert "component:default/ranking-model: 1 facts from ci" in captured.out
    assert "submission 2: entityRef: no entity component:default/nope in the catalogue" in captured.err


def test_lint_passes_the_default_and_names_file_check_and_field_of_errors(
    cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["scorecards", "lint", str(DEFAULT)]) == 0
    assert capsys.readouterr().err.strip() == "1 scorecards, 0 errors, 0 warnings"

    definition = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))
    definition["spec"]["checks"][3]["area"] = "security"
    definition["spec"]["checks"] = [c for c in definition["spec"]["checks"] if c["id"] != "slo-met"]
    broken = cli / "broken.yaml"
    broken.write_text(yaml.safe_dump(definition), encoding="utf-8")
    assert main(["scorecards", "lint", str(broken)]) == 1
    captured = capsys.readouterr()
    assert (
        f"{broken}: check 'data-quality-monitored': spec.checks.3.area: error: unknown area 'security'" in captured.out
    )
    assert "0 scorecards, 1 errors, 0 warnings" in captured.err

    definition["spec"]["checks"][3]["area"] = "data"
    broken.write_text(yaml.safe_dump(definition), encoding="utf-8")
    assert main(["scorecards", "lint", str(broken)]) == 0
    captured = capsys.readouterr()
    assert "warning: area 'observability' has no check at level 'self-improving'" in captured.out


def test_dry_run_shows_how_levels_would_move_and_stores_nothing(
    scored: Path, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    definition = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))
    definition["spec"]["checks"].append(  # a stricter floor: nobody declares a cost centre yet
        {
            "id": "cost-centre",
            "title": "Has a cost centre",
            "level": "repeatable",
            "area": "governance",
            "rule": {"fact": "entity.spec.costCentre", "op": "exists"},
            "remediation": "Set spec.costCentre.",
        }
    )
    candidate = scored / "candidate.yaml"
    candidate.write_text(yaml.safe_dump(definition), encoding="utf-8")
    with engine.connect() as connection:
        before = connection.execute(
            sa.text("SELECT entity_ref, level, evaluated_at FROM scorecard_results ORDER BY 1")
        ).all()

    assert main(["scorecards", "dry-run", str(candidate)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "ai-platform-maturity from the file, replacing the live definition; nothing is stored"
    assert out[1].split() == ["LEVEL", "LIVE", "FILE", "CHANGE"]
    ad_hoc = out[2].split()
    assert ad_hoc[:2] == ["1", "Ad-hoc"] and ad_hoc[3] == "10"  # everyone falls to the floor
    assert int(ad_hoc[2]) + int(ad_hoc[4]) == 10 and int(ad_hoc[4]) > 0
    assert (
        out[-1]
        == f"0 entities up, {ad_hoc[4].lstrip('+')} down, {ad_hoc[2]} unchanged, 0 newly scored, 0 no longer scored"
    )
    with engine.connect() as connection:
        assert (
            connection.execute(
                sa.text("SELECT entity_ref, level, evaluated_at FROM scorecard_results ORDER BY 1")
            ).all()
            == before
        )


def test_evaluate_rescores_everything_and_snapshots_adoption(
    scored: Path, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM scorecard_results"))
        connection.execute(sa.text("DELETE FROM adoption_history"))
    assert main(["evaluate"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("10 entities scored on 1 scorecard in ")
    assert out.endswith("; 7 of 13 components on a golden path\n")
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM scorecard_results")).scalar_one() == 10
        whole = "SELECT total, on_golden_path FROM adoption_history WHERE group_by = 'ALL'"
        assert connection.execute(sa.text(whole)).all() == [(13, 7)]


def test_a_reader_that_stops_early_gets_no_traceback(scored: Path) -> None:
    # Like `stairway score REF | head -c 100`: a one-page pipe, so the table (about 4.5 KB) cannot
    # all be written before the reader goes.
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, F_SETPIPE_SZ, 4096)
    command = [sys.executable, "-m", "service.cli", "score", "component:churn-prediction-model"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(command, stdout=write_end, stderr=subprocess.PIPE, env=env) as process:
        os.close(write_end)
        first = os.read(read_end, 100)
        os.close(read_end)
        assert process.stderr is not None
        errors = process.stderr.read().decode()
        code = process.wait()
    assert first.startswith(b"component:default/churn-prediction-model on ai-platform-maturity")
    assert (code, errors) == (141, "")  # 128 + SIGPIPE, as a shell reports a command its pipe closed on
