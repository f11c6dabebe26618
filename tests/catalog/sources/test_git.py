"""A git source against a real repository made in a temporary folder, fetched over file://."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from catalog.sources.definitions import GitSource, Schedule
from catalog.sources.status import FAILED, OK, source_states
from catalog.tables import ENTITIES, utc_now
from tests.catalog.sources.conftest import Refresh
from tests.conftest import StatementCounter


def component(name: str, owner: str = "team-a") -> str:
    return (
        "apiVersion: backstage.io/v1alpha1\nkind: Component\n"
        f"metadata:\n  name: {name}\nspec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n"
    )


class Repository:
    """A real git repository the tests commit to."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.git("init", "--quiet", "--initial-branch", "main")

    def git(self, *arguments: str) -> None:
        identity = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]
        subprocess.run(["git", *identity, "-C", str(self.path), *arguments], check=True, capture_output=True)

    def commit(self, files: dict[str, str | None], message: str = "change") -> None:
        """Write (or, for None, delete) files and commit them."""
        for name, text in files.items():
            path = self.path / name
            if text is None:
                path.unlink()
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
        self.git("add", "--all")
        self.git("commit", "--quiet", "--message", message)

    @property
    def url(self) -> str:
        return self.path.as_uri()


@pytest.fixture
def repository(tmp_path: Path) -> Repository:
    (tmp_path / "upstream").mkdir()
    repo = Repository(tmp_path / "upstream")
    repo.commit(
        {
            "catalog-info.yaml": component("payments"),
            "services/ledger/catalog-info.yaml": component("ledger"),
            "docs/mkdocs.yml": "site_name: not a descriptor\n",
        }
    )
    return repo


def source_for(repository: Repository, **options: object) -> GitSource:
    return GitSource(name="monorepo", url=repository.url, schedule=Schedule(frequency=None), **options)  # type: ignore[arg-type]


def refs(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        query = sa.select(ENTITIES.c.ref).where(ENTITIES.c.source == "monorepo")
        return sorted(connection.execute(query).scalars())


def test_the_branch_tip_is_fetched_and_its_descriptors_read(
    engine: Engine, refresh: Refresh, repository: Repository
) -> None:
    outcome = refresh(source_for(repository))
    assert outcome.status == OK, outcome.error
    assert refs(engine) == ["component:default/ledger", "component:default/payments"]
    assert outcome.summary.added == 2 and outcome.summary.errors == 0


def test_an_unchanged_repository_writes_nothing(
    engine: Engine, refresh: Refresh, repository: Repository, statements: StatementCounter
) -> None:
    refresh(source_for(repository))
    statements.reset()
    outcome = refresh(source_for(repository))
    assert outcome.status == OK and outcome.summary.unchanged == 2
    assert statements.writes_except("source_status") == []


def test_commits_update_add_and_remove(engine: Engine, refresh: Refresh, repository: Repository) -> None:
    refresh(source_for(repository))
    repository.commit(
        {
            "catalog-info.yaml": component("payments", owner="team-b"),
            "services/ledger/catalog-info.yaml": None,
            "services/fx/catalog-info.yaml": component("fx"),
        }
    )
    outcome = refresh(source_for(repository))
    s = outcome.summary
    assert (s.added, s.updated, s.removed) == (1, 1, 1)
    assert refs(engine) == ["component:default/fx", "component:default/payments"]


def test_paths_choose_the_files_and_a_branch_other_than_the_default(
    engine: Engine, refresh: Refresh, repository: Repository
) -> None:
    repository.git("checkout", "--quiet", "-b", "next")
    repository.commit({"services/next/catalog-info.yaml": component("next-thing")})
    repository.git("checkout", "--quiet", "main")
    outcome = refresh(source_for(repository, branch="next", paths=("services/**/catalog-info.yaml",)))
    assert outcome.status == OK
    assert refs(engine) == ["component:default/ledger", "component:default/next-thing"]


def test_a_remote_that_cannot_be_fetched_keeps_the_catalogue(
    engine: Engine, refresh: Refresh, repository: Repository, tmp_path: Path
) -> None:
    refresh(source_for(repository))
    broken = GitSource(name="monorepo", url=(tmp_path / "gone").as_uri(), schedule=Schedule(frequency=None))
    outcome = refresh(broken)
    assert outcome.status == FAILED and "git could not fetch" in (outcome.error or "")
    assert refs(engine) == ["component:default/ledger", "component:default/payments"]
    with engine.connect() as connection:
        (state,) = source_states(connection, (broken,), utc_now())
    assert state.status == FAILED and state.entity_count == 2 and state.last_success_at is not None


def test_a_missing_branch_is_named_in_the_error(engine: Engine, refresh: Refresh, repository: Repository) -> None:
    outcome = refresh(source_for(repository, branch="no-such-branch"))
    assert outcome.status == FAILED
    assert "no-such-branch" in (outcome.error or "") and refs(engine) == []


def test_globs_that_match_nothing_fail_instead_of_emptying_the_source(
    engine: Engine, refresh: Refresh, repository: Repository
) -> None:
    refresh(source_for(repository))
    outcome = refresh(source_for(repository, paths=("nowhere/*.yaml",)))
    assert outcome.status == FAILED and "nowhere/*.yaml" in (outcome.error or "")
    assert refs(engine) == ["component:default/ledger", "component:default/payments"]
