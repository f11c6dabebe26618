"""The `stairway` command, run in-process (and once as a real process): ingest, errors, schema, migrate."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine

from catalog.database import alembic_config, create_engine, newest_revision
from service.cli import main
from service.graphql.schema import build_schema
from tests.conftest import EXAMPLES, REPO
from tests.service.conftest import write

SUMMARY = re.compile(
    r"^(?P<added>\d+) added, (?P<updated>\d+) updated, (?P<unchanged>\d+) unchanged, (?P<removed>\d+) removed, "
    r"(?P<errors>\d+) errors, (?P<warnings>\d+) warnings; (?P<files>\d+) files in \d+\.\d\ds"
    r"(?:; (?P<scored>\d+) entities scored on (?P<scorecards>\d+) scorecards? in \d+\.\d\ds"
    r"; (?P<on_golden_path>\d+) of (?P<components>\d+) components on a golden path)?$"
)
ERROR_LINE = re.compile(
    r"^(?P<path>/[^:]+):(?P<line>\d+): (?P<severity>error|warning)(?: \[(?P<ref>[^\]]+)\])?: "
    r"(?P<message>.+)$"
)


def entity_refs(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(sa.text("SELECT ref FROM entities ORDER BY ref")).scalars())


def summary_of(output: str) -> dict[str, int]:
    lines = output.splitlines()
    assert len(lines) == 1, f"expected one summary line, got {lines}"
    match = SUMMARY.match(lines[0])
    assert match, lines[0]
    return {key: int(value) for key, value in match.groupdict().items() if value is not None}


def test_ingest_prints_one_summary_line(cli: Path, engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(EXAMPLES)]) == 0
    summary = summary_of(capsys.readouterr().out)
    stored = entity_refs(engine)
    assert summary["added"] == len(stored) > 0
    assert (summary["updated"], summary["unchanged"], summary["removed"], summary["errors"]) == (0, 0, 0, 0)
    assert summary["warnings"] == 1  # the deliberately unresolved dependency
    assert (summary["scored"], summary["scorecards"]) == (10, 1)  # its models, services and pipelines
    # Without a configuration every Template is a golden path: 7 of the 13 components started on one.
    assert (summary["on_golden_path"], summary["components"]) == (7, 13)
    assert "component:default/clickstream-etl" in stored
    assert not (cli / "stairway.db").exists(), "used the default database instead of STAIRWAY_DATABASE_URL"


def test_a_second_ingest_changes_nothing(cli: Path, engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(EXAMPLES)]) == 0
    first = summary_of(capsys.readouterr().out)
    assert main(["ingest", str(EXAMPLES)]) == 0
    second = summary_of(capsys.readouterr().out)
    assert (second["added"], second["updated"], second["removed"]) == (0, 0, 0)
    assert second["unchanged"] == first["added"]
    assert second["files"] == first["files"]
    assert len(entity_refs(engine)) == first["added"]


@pytest.mark.parametrize("paths", [["/no/such/path"], [str(EXAMPLES), "/no/such/path"]])
def test_ingest_of_a_missing_path_exits_2_and_changes_nothing(
    cli: Path, engine: Engine, capsys: pytest.CaptureFixture[str], tmp_path: Path, paths: list[str]
) -> None:
    write(
        tmp_path / "small" / "team.yaml",
        """\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: small-team
spec:
  type: team
  children: []
""",
    )
    assert main(["ingest", str(tmp_path / "small")]) == 0
    capsys.readouterr()
    before = entity_refs(engine)

    assert main(["ingest", *paths]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "/no/such/path" in err and "no such file or folder" in err
    assert entity_refs(engine) == before == ["group:default/small-team"]


def test_errors_lists_path_line_severity_and_message(
    cli: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "bad"
    broken = write(folder / "broken.yaml", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: [oops\n")
    invalid = write(
        folder / "invalid.yaml",
        """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: no-owner
spec:
  type: service
  lifecycle: production
""",
    )
    assert main(["ingest", str(folder)]) == 0
    assert summary_of(capsys.readouterr().out)["errors"] == 2

    assert main(["errors"]) == 0
    out, err = capsys.readouterr()
    lines = [ERROR_LINE.match(line) for line in out.splitlines()]
    assert all(lines), out
    found = {(m["path"], int(m["line"]), m["severity"], m["ref"]): m["message"] for m in lines if m}
    assert set(found) == {
        (str(broken), 4, "error", None),
        (str(invalid), 1, "error", "component:default/no-owner"),
    }
    assert "spec.owner" in found[(str(invalid), 1, "error", "component:default/no-owner")]
    assert "2 processing problems" in err


def test_errors_by_severity(cli: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(EXAMPLES)]) == 0
    capsys.readouterr()
    assert main(["errors", "--severity", "error"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["errors", "--severity", "warning"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    match = ERROR_LINE.match(line)
    assert match and match["severity"] == "warning"
    assert match["path"] == os.path.join(os.path.abspath(str(EXAMPLES)), "components/clickstream-etl/catalog-info.yaml")
    assert "resource:default/legacy-clickstream-db" in match["message"]


def test_commands_close_their_connections(cli: Path, engines: list[Engine], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(EXAMPLES)]) == 0
    assert main(["errors"]) == 0
    capsys.readouterr()
    assert len(engines) == 2
    assert [engine.pool.checkedin() for engine in engines] == [0, 0]


def test_schema_prints_the_sdl(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    assert "type Query" in out
    assert out == build_schema().as_str() + "\n"


def test_the_module_runs_as_a_program(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("STAIRWAY_")}
    env["PYTHONPATH"] = str(REPO)
    env["STAIRWAY_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "ingest", str(EXAMPLES)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary = summary_of(result.stdout)
    assert summary["added"] > 0 and summary["errors"] == 0
    assert (tmp_path / "cli.db").exists()
    assert not (tmp_path / "stairway.db").exists()


def test_migrate_brings_the_schema_up_to_date_once(
    cli: Path, database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    head = newest_revision()
    engine = create_engine(database)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")  # as an install of an older Stairway left it
    engine.dispose()
    assert main(["migrate", "--check"]) == 1
    assert capsys.readouterr().out == f"schema at 0002; this version needs {head}\n"
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out == f"schema migrated from 0002 to {head}\n"
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out == f"schema already at {head}\n"
    assert main(["migrate", "--check"]) == 0
    assert capsys.readouterr().out == f"schema at {head}; this version needs {head}\n"
