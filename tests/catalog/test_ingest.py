"""Ingesting folders of descriptors into a real database: what a platform engineer sees afterwards."""

from __future__ import annotations

import os
import textwrap
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from catalog import ingest as ingest_module
from catalog import store as store_module
from catalog.database import create_engine, migrate
from catalog.ingest import IngestError, ingest
from catalog.workers import PARALLEL_THRESHOLD, default_workers
from tests.conftest import EXAMPLES, StatementCounter


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def component(name: str, owner: str = "team-a", **spec: object) -> str:
    extra = "".join(f"  {key}: {orjson.dumps(value).decode()}\n" for key, value in spec.items())
    return (
        "apiVersion: backstage.io/v1alpha1\nkind: Component\n"
        f"metadata:\n  name: {name}\n  description: the {name} service\n"
        f"spec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n{extra}"
    )


GROUP = (
    "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\nspec:\n  type: team\n  children: []\n"
)


def rows(engine: Engine, sql: str, **params: object) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(sql), params)]


def refs(engine: Engine) -> set[str]:
    return {str(ref) for (ref,) in rows(engine, "SELECT ref FROM entities")}


def problems(engine: Engine, severity: str = "error") -> list[tuple[object, ...]]:
    return rows(
        engine,
        "SELECT location, line, entity_ref, message FROM processing_errors WHERE severity = :s ORDER BY location, line",
        s=severity,
    )


def test_the_example_catalogue_ingests_every_kind(engine: Engine) -> None:
    summary = ingest(engine, [str(EXAMPLES)], workers=0)

    kinds = Counter(str(kind) for (kind,) in rows(engine, "SELECT kind FROM entities"))
    assert kinds == {
        "location": 1,
        "group": 9,
        "user": 10,
        "domain": 3,
        "system": 5,
        "template": 3,
        "component": 13,
        "api": 5,
        "resource": 5,
    }
    assert (summary.added, summary.errors, summary.warnings) == (54, 0, 1)
    (warning,) = problems(engine, "warning")
    assert warning[2] == "component:default/clickstream-etl"
    assert "resource:default/legacy-clickstream-db" in str(warning[3])


def test_re_ingesting_unchanged_files_writes_no_row(engine: Engine, statements: StatementCounter) -> None:
    ingest(engine, [str(EXAMPLES)], workers=0)
    statements.reset()

    summary = ingest(engine, [str(EXAMPLES)], workers=0)

    assert (summary.added, summary.updated, summary.removed, summary.unchanged) == (0, 0, 0, 54)
    assert statements.writes() == []


def test_a_change_to_a_placeholder_file_alone_is_seen(engine: Engine, tmp_path: Path) -> None:
    descriptor = component("ledger").replace(
        "  description: the ledger service\n", "  description: {$text: ./about.txt}\n"
    )
    write(tmp_path / "catalog-info.yaml", descriptor)
    write(tmp_path / "about.txt", "Moves money.")
    ingest(engine, [str(tmp_path / "catalog-info.yaml")], workers=0)
    write(tmp_path / "about.txt", "Moves money, fast.")

    summary = ingest(engine, [str(tmp_path / "catalog-info.yaml")], workers=0)

    assert summary.updated == 1
    (body,) = rows(engine, "SELECT body FROM entities WHERE ref = 'component:default/ledger'")[0]
    assert orjson.loads(str(body))["metadata"]["description"] == "Moves money, fast."


def test_a_placeholder_file_that_appears_and_then_changes_is_seen_each_time(engine: Engine, tmp_path: Path) -> None:
    descriptor = component("ledger").replace(
        "  description: the ledger service\n", "  description: {$text: ./about.txt}\n"
    )
    path = str(write(tmp_path / "catalog-info.yaml", descriptor))
    assert ingest(engine, [path], workers=0).errors == 1  # about.txt is missing
    write(tmp_path / "about.txt", "Moves money.")
    assert ingest(engine, [path], workers=0).errors == 0  # only its problems changed: it stays one to read again
    write(tmp_path / "about.txt", "Moves money, fast.")

    summary = ingest(engine, [path], workers=0)

    assert summary.updated == 1
    (body,) = rows(engine, "SELECT body FROM entities WHERE ref = 'component:default/ledger'")[0]
    assert orjson.loads(str(body))["metadata"]["description"] == "Moves money, fast."


def test_a_changed_entity_is_updated_and_keeps_its_first_seen_time(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "group.yaml", GROUP)
    descriptor = write(tmp_path / "svc" / "catalog-info.yaml", component("orders"))
    monkeypatch.setattr(ingest_module, "utc_now", lambda: datetime(2026, 1, 1, tzinfo=UTC))
    ingest(engine, [str(tmp_path)], workers=0)
    descriptor.write_text(component("orders").replace("the orders service", "order intake"), encoding="utf-8")
    monkeypatch.setattr(ingest_module, "utc_now", lambda: datetime(2026, 2, 1, tzinfo=UTC))

    summary = ingest(engine, [str(tmp_path)], workers=0)

    assert (summary.added, summary.updated, summary.unchanged) == (0, 1, 1)
    ((description, first_seen, updated),) = rows(
        engine, "SELECT description, first_seen_at, updated_at FROM entities WHERE ref = 'component:default/orders'"
    )
    assert description == "order intake"
    assert str(first_seen).startswith("2026-01-01") and str(updated).startswith("2026-02-01")


def test_entities_a_file_no_longer_provides_are_removed_with_their_relations(engine: Engine, tmp_path: Path) -> None:
    write(tmp_path / "group.yaml", GROUP)
    write(tmp_path / "a.yaml", component("alpha") + "---\n" + component("beta", dependsOn=["component:alpha"]))
    ingest(engine, [str(tmp_path)], workers=0)
    write(tmp_path / "a.yaml", component("alpha"))

    summary = ingest(engine, [str(tmp_path)], workers=0)

    assert summary.removed == 1
    assert refs(engine) == {"group:default/team-a", "component:default/alpha"}
    assert rows(engine, "SELECT source_ref FROM relations WHERE source_ref = 'component:default/beta'") == []


def test_a_deleted_file_removes_its_entities_and_its_errors(engine: Engine, tmp_path: Path) -> None:
    write(tmp_path / "group.yaml", GROUP)
    broken = write(tmp_path / "broken.yaml", "a: [unclosed\n")
    ingest(engine, [str(tmp_path)], workers=0)
    assert problems(engine)
    broken.unlink()
    (tmp_path / "group.yaml").unlink()
    write(tmp_path / "svc.yaml", component("svc"))

    summary = ingest(engine, [str(tmp_path)], workers=0)

    assert refs(engine) == {"component:default/svc"}
    assert problems(engine) == []
    assert (summary.removed, summary.errors, summary.warnings) == (1, 0, 1)


def test_an_entity_moved_to_another_file_keeps_its_identity(engine: Engine, tmp_path: Path) -> None:
    write(tmp_path / "group.yaml", GROUP)
    old = write(tmp_path / "old.yaml", component("svc"))
    ingest(engine, [str(tmp_path)], workers=0)
    ((uid, first_seen),) = rows(engine, "SELECT uid, first_seen_at FROM entities WHERE name = 'svc'")
    old.unlink()
    new = write(tmp_path / "new.yaml", component("svc"))

    summary = ingest(engine, [str(tmp_path)], workers=0)

    assert (summary.added, summary.updated, summary.removed) == (0, 1, 0)
    ((location, uid_after, first_seen_after),) = rows(
        engine, "SELECT location, uid, first_seen_at FROM entities WHERE name = 'svc'"
    )
    assert (location, uid_after, first_seen_after) == (f"file:{new}", uid, first_seen)


def test_locations_follow_globs_and_visit_each_file_once(engine: Engine, tmp_path: Path) -> None:
    location = (
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: {name}\nspec:\n  targets: {targets}\n"
    )
    write(
        tmp_path / "all.yaml", location.format(name="root", targets='["./teams.yaml", "./repos/**/catalog-info.yaml"]')
    )
    write(tmp_path / "teams.yaml", GROUP + "---\n" + location.format(name="back", targets='["./all.yaml"]'))
    for name in ("a", "b", "c"):
        write(tmp_path / "repos" / name / "catalog-info.yaml", component(f"svc-{name}"))
    write(tmp_path / "repos" / "notes.yaml", component("not-targeted"))

    summary = ingest(engine, [str(tmp_path / "all.yaml")], workers=0)

    assert refs(engine) == {
        "location:default/root",
        "location:default/back",
        "group:default/team-a",
        "component:default/svc-a",
        "component:default/svc-b",
        "component:default/svc-c",
    }
    assert (summary.files, summary.errors) == (5, 0)


def test_a_location_file_that_stops_parsing_keeps_the_files_it_led_to(engine: Engine, tmp_path: Path) -> None:
    location = (
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: root\nspec:\n  targets: [./a.yaml]\n"
    )
    write(tmp_path / "all.yaml", location)
    write(tmp_path / "a.yaml", component("svc-a"))
    ingest(engine, [str(tmp_path / "all.yaml")], workers=0)
    write(tmp_path / "all.yaml", "key: [unclosed\n---\n" + location)  # the Location itself is unreadable now

    summary = ingest(engine, [str(tmp_path / "all.yaml")], workers=0)

    assert refs(engine) == {"location:default/root", "component:default/svc-a"}
    assert summary.removed == 0 and summary.errors == 1


def test_location_annotations_name_the_file_and_the_registered_origin(engine: Engine, tmp_path: Path) -> None:
    write(
        tmp_path / "all.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: root\n"
        "spec:\n  target: ./svc/catalog-info.yaml\n",
    )
    descriptor = write(tmp_path / "svc" / "catalog-info.yaml", component("svc"))

    ingest(engine, [str(tmp_path / "all.yaml")], workers=0)

    ((body,),) = rows(engine, "SELECT body FROM entities WHERE name = 'svc'")
    annotations = orjson.loads(str(body))["metadata"]["annotations"]
    assert annotations["backstage.io/managed-by-location"] == f"file:{descriptor}"
    assert annotations["backstage.io/managed-by-origin-location"] == f"file:{tmp_path / 'all.yaml'}"


def test_targets_that_climb_out_of_the_root_are_refused(engine: Engine, tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(tmp_path / "outside.yaml", component("secret"))
    write(
        root / "all.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: root\n"
        "spec:\n  targets: [../outside.yaml, ./svc.yaml]\n",
    )
    write(root / "svc.yaml", GROUP + "---\n" + component("svc"))

    summary = ingest(engine, [str(root / "all.yaml")], workers=0)

    assert "component:default/secret" not in refs(engine)
    assert "component:default/svc" in refs(engine)
    ((location, _line, entity_ref, message),) = problems(engine)
    assert (location, entity_ref) == (f"file:{root / 'all.yaml'}", "location:default/root")
    assert "outside the ingested root" in str(message)
    assert summary.errors == 1


def test_a_symlink_out_of_the_root_is_not_read(engine: Engine, tmp_path: Path) -> None:
    root = tmp_path / "root"
    secret = write(tmp_path / "elsewhere" / "catalog-info.yaml", component("secret"))
    write(root / "group.yaml", GROUP)
    os.symlink(secret, root / "linked.yaml")
    write(
        root / "all.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: root\nspec:\n  target: ./*.yaml\n",
    )

    ingest(engine, [str(root / "all.yaml")], workers=0)

    assert "component:default/secret" not in refs(engine)
    assert any("outside the ingested root" in str(message) for *_rest, message in problems(engine))


def test_a_duplicate_ref_from_a_second_location_is_an_error_and_the_first_stays(engine: Engine, tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", GROUP + "---\n" + component("svc"))
    write(tmp_path / "b.yaml", component("svc", owner="someone-else"))

    ingest(engine, [str(tmp_path)], workers=0)

    ((owner,),) = rows(engine, "SELECT owner_ref FROM entities WHERE ref = 'component:default/svc'")
    assert owner == "group:default/team-a"
    ((location, line, entity_ref, message),) = problems(engine)
    assert (location, line, entity_ref) == (f"file:{tmp_path / 'b.yaml'}", 1, "component:default/svc")
    assert f"already provided by file:{tmp_path / 'a.yaml'}" in str(message)


def test_each_bad_input_is_an_error_and_everything_else_ingests(engine: Engine, tmp_path: Path) -> None:
    write(tmp_path / "good.yaml", GROUP + "---\n" + component("good"))
    write(tmp_path / "syntax.yaml", "apiVersion: v1\nkind: x: y\n")
    write(tmp_path / "list.yaml", "- just\n- a list\n")
    write(tmp_path / "invalid.yaml", component("Bad Name"))
    write(tmp_path / "no-owner.yaml", component("ownerless").replace("  owner: team-a\n", ""))
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(7)
    )
    write(tmp_path / "bomb.yaml", bomb)
    (tmp_path / "latin1.yaml").write_bytes("metadata:\n  name: caf\xe9\n".encode("latin-1"))
    write(tmp_path / "huge.yaml", component("huge") + "  note: " + "x" * 6000 + "\n")

    summary = ingest(engine, [str(tmp_path)], workers=0, max_bytes=4096)

    assert refs(engine) == {"group:default/team-a", "component:default/good"}
    found = {
        Path(str(location).removeprefix("file:")).name: (line, str(message))
        for location, line, _r, message in problems(engine)
    }
    assert set(found) == {
        "syntax.yaml",
        "list.yaml",
        "invalid.yaml",
        "no-owner.yaml",
        "bomb.yaml",
        "latin1.yaml",
        "huge.yaml",
    }
    assert found["syntax.yaml"][0] == 2 and "YAML syntax error" in found["syntax.yaml"][1]
    assert "must be a mapping" in found["list.yaml"][1]
    assert '"metadata.name"' in found["invalid.yaml"][1] and "Bad Name" in found["invalid.yaml"][1]
    assert '"spec.owner"' in found["no-owner.yaml"][1]
    assert "alias bomb" in found["bomb.yaml"][1]
    assert "not valid UTF-8" in found["latin1.yaml"][1] and found["latin1.yaml"][0] == 2
    assert "over the limit of 4,096 bytes" in found["huge.yaml"][1]
    assert summary.errors == 7


def test_a_relation_to_a_missing_entity_is_kept_and_warned_until_it_appears(engine: Engine, tmp_path: Path) -> None:
    write(tmp_path / "svc.yaml", component("svc", dependsOn=["resource:orders-db"]))
    write(tmp_path / "group.yaml", GROUP)
    ingest(engine, [str(tmp_path)], workers=0)
    assert rows(
        engine, "SELECT type, target_ref FROM relations WHERE source_ref = 'component:default/svc' ORDER BY type"
    ) == [("dependsOn", "resource:default/orders-db"), ("ownedBy", "group:default/team-a")]
    ((_location, _line, entity_ref, message),) = problems(engine, "warning")
    assert entity_ref == "component:default/svc" and "resource:default/orders-db" in str(message)

    write(
        tmp_path / "db.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata:\n  name: orders-db\n"
        "spec:\n  type: database\n  owner: team-a\n",
    )
    ingest(engine, [str(tmp_path)], workers=0)

    assert problems(engine, "warning") == []


def test_unresolved_warnings_follow_entities_of_other_sources_and_no_others_are_rewritten(
    engine: Engine, tmp_path: Path
) -> None:
    def warnings() -> set[tuple[object, ...]]:
        return set(
            rows(engine, "SELECT id, entity_ref, message FROM processing_errors WHERE code = 'unresolved-relation'")
        )

    for index in range(5):
        write(tmp_path / "a" / f"svc-{index}.yaml", component(f"svc-{index}", dependsOn=[f"resource:db-{index}"]))
    ingest(engine, [str(tmp_path / "a")], source="services", workers=0)
    before = warnings()  # each service's dependsOn, and its owner team-a, which no source has yet
    assert len(before) == 10
    write(
        tmp_path / "b" / "db.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata:\n  name: db-0\n"
        "spec:\n  type: database\n  owner: team-a\n",
    )

    ingest(engine, [str(tmp_path / "b")], source="databases", workers=0)

    after = warnings()
    resolved = {(ref, message) for _id, ref, message in before if "resource:default/db-0" in str(message)}
    assert len(resolved) == 1  # resolved by another source's entity
    own = (
        "resource:default/db-0",
        "Relation ownedBy to group:default/team-a is unresolved: no such entity in the catalogue",
    )
    assert {(ref, message) for _id, ref, message in after} == {(ref, m) for _id, ref, m in before} - resolved | {own}
    untouched = {row for row in before if row[1] != "component:default/svc-0"}
    assert untouched <= after  # the same rows: not deleted and written again

    write(tmp_path / "b" / "db.yaml", GROUP)  # db-0 goes again: svc-0's relation is unresolved again
    ingest(engine, [str(tmp_path / "b")], source="databases", workers=0)
    # team-a has come, and db-0 has gone: the owners resolve, svc-0's dependsOn is unresolved again.
    assert {(ref, message) for _id, ref, message in warnings()} == {
        (ref, m) for _id, ref, m in before if "team-a" not in str(m)
    }


def test_sources_own_their_entities(engine: Engine, tmp_path: Path) -> None:
    write(tmp_path / "a" / "catalog-info.yaml", GROUP + "---\n" + component("shared"))
    write(tmp_path / "b" / "catalog-info.yaml", component("shared") + "---\n" + component("only-b"))
    ingest(engine, [str(tmp_path / "a")], source="team-a-repos", workers=0)

    summary = ingest(engine, [str(tmp_path / "b")], source="team-b-repos", workers=0)

    assert summary.added == 1
    assert refs(engine) == {"group:default/team-a", "component:default/shared", "component:default/only-b"}
    (problem,) = problems(engine)
    assert "already provided by source 'team-a-repos'" in str(problem[3])
    ingest(engine, [str(tmp_path / "a")], source="team-a-repos", workers=0)
    assert "component:default/only-b" in refs(engine)


def test_a_path_that_does_not_exist_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    write(tmp_path / "group.yaml", GROUP)
    ingest(engine, [str(tmp_path)], workers=0)

    with pytest.raises(IngestError, match="no such file or folder"):
        ingest(engine, [str(tmp_path / "missing")], workers=0)

    assert refs(engine) == {"group:default/team-a"}


def test_worker_processes_ingest_the_same_catalogue(engine: Engine, tmp_path: Path) -> None:
    write(tmp_path / "group.yaml", GROUP)
    for index in range(PARALLEL_THRESHOLD + 20):
        write(tmp_path / "repos" / f"r{index}" / "catalog-info.yaml", component(f"svc-{index}"))

    summary = ingest(engine, [str(tmp_path)], workers=2)

    assert (summary.added, summary.errors, summary.warnings) == (PARALLEL_THRESHOLD + 21, 0, 0)
    assert len(rows(engine, "SELECT 1 FROM relations WHERE type = 'ownedBy'")) == PARALLEL_THRESHOLD + 20


def test_annotation_warnings_survive_unchanged_re_ingests_and_clear_when_fixed(engine: Engine, tmp_path: Path) -> None:
    annotated = component("svc").replace(
        "metadata:\n", "metadata:\n  annotations:\n    backstage.io/source-location: https://git.example/svc\n"
    )
    descriptor = write(tmp_path / "svc.yaml", annotated)
    write(tmp_path / "group.yaml", GROUP)
    ingest(engine, [str(tmp_path)], workers=0)
    write(tmp_path / "db.yaml", component("other", dependsOn=["resource:missing-db"]))  # unresolved: recomputed

    ingest(engine, [str(tmp_path)], workers=0)

    codes = sorted(str(code) for (code,) in rows(engine, "SELECT code FROM processing_errors"))
    assert codes == ["annotation", "unresolved-relation"]
    descriptor.write_text(annotated.replace("https://", "url:https://"), encoding="utf-8")
    ingest(engine, [str(tmp_path)], workers=0)
    assert [code for (code,) in rows(engine, "SELECT code FROM processing_errors")] == ["unresolved-relation"]


def indexes(engine: Engine) -> set[str]:
    inspector = sa.inspect(engine)
    return {
        str(index["name"])
        for table in ("entities", "relations", "entity_tags")
        for index in inspector.get_indexes(table)
    }


def test_a_first_ingest_that_fails_changes_nothing_not_even_indexes(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "group.yaml", GROUP)
    before = indexes(engine)

    def fail(_self: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store_module.CatalogWriter, "_remove_orphans", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest(engine, [str(tmp_path)], workers=0)
    monkeypatch.undo()

    assert indexes(engine) == before
    assert refs(engine) == set()
    assert ingest(engine, [str(tmp_path)], workers=0).added == 1


def test_a_file_that_stops_parsing_keeps_its_entities_until_it_is_fixed(engine: Engine, tmp_path: Path) -> None:
    write(tmp_path / "group.yaml", GROUP)
    descriptor = write(tmp_path / "svc.yaml", component("svc"))
    ingest(engine, [str(tmp_path)], workers=0)
    ((uid, first_seen),) = rows(engine, "SELECT uid, first_seen_at FROM entities WHERE name = 'svc'")
    descriptor.write_text(component("svc") + "  broken: [\n", encoding="utf-8")

    broken = ingest(engine, [str(tmp_path)], workers=0)
    descriptor.write_text(component("svc"), encoding="utf-8")
    fixed = ingest(engine, [str(tmp_path)], workers=0)

    assert (broken.removed, broken.errors, fixed.added, fixed.errors) == (0, 1, 0, 0)
    assert rows(engine, "SELECT uid, first_seen_at FROM entities WHERE name = 'svc'") == [(uid, first_seen)]


def test_a_symlink_loop_inside_the_folder_is_walked_once(engine: Engine, tmp_path: Path) -> None:
    write(tmp_path / "cat" / "sub" / "svc.yaml", GROUP + "---\n" + component("svc"))
    os.symlink(tmp_path / "cat", tmp_path / "cat" / "sub" / "up")
    os.symlink(".", tmp_path / "cat" / "self")

    summary = ingest(engine, [str(tmp_path / "cat")], workers=0)

    assert refs(engine) == {"group:default/team-a", "component:default/svc"}
    assert summary.errors == 0


@pytest.mark.parametrize("argument", ["typo/**/*.yaml", "empty", "empty/*.yaml"])
def test_an_argument_that_matches_nothing_is_refused_and_changes_nothing(
    engine: Engine, tmp_path: Path, argument: str
) -> None:
    write(tmp_path / "group.yaml", GROUP)
    ingest(engine, [str(tmp_path)], workers=0)
    (tmp_path / "empty").mkdir()

    with pytest.raises(IngestError, match="nothing was ingested"):
        ingest(engine, [str(tmp_path / argument)], workers=0)

    assert refs(engine) == {"group:default/team-a"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "t" * 300}, '"spec.type" is longer than 255 characters'),
        ({"owner": "group:" + "o" * 600}, "is longer than 512 characters"),
        # 300 characters but 600 bytes: over the limit PostgreSQL's index entries are sized for.
        ({"owner": "group:" + "ö" * 300}, "is longer than 512 characters"),
    ],
)
def test_values_too_large_for_the_columns_are_an_error_for_that_entity_only(
    engine: Engine, tmp_path: Path, spec: dict[str, str], message: str
) -> None:
    write(tmp_path / "group.yaml", GROUP)
    write(tmp_path / "big.yaml", component("big", **spec))

    summary = ingest(engine, [str(tmp_path)], workers=0)

    assert refs(engine) == {"group:default/team-a"}
    (problem,) = problems(engine)
    assert message in str(problem[3])
    assert summary.errors == 1


def test_nul_characters_and_huge_names_become_errors_not_a_failed_ingest(engine: Engine, tmp_path: Path) -> None:
    write(tmp_path / "group.yaml", GROUP)
    write(tmp_path / "nul.yaml", component("nul").replace("  description: the nul service", '  title: "a\\0b"'))
    write(tmp_path / "tag.yaml", component("tagged").replace("metadata:\n", 'metadata:\n  tags: ["bad\\0tag"]\n'))
    write(tmp_path / "long.yaml", component("n" * 600))

    summary = ingest(engine, [str(tmp_path)], workers=0)

    assert refs(engine) == {"group:default/team-a"}
    assert summary.errors == 3
    found = {str(message) for *_rest, message in problems(engine)}
    assert any('"metadata.title" contains a NUL character' in message for message in found)
    assert all("\x00" not in message for message in found)
    assert all(len(str(entity_ref or "")) <= 512 for _l, _n, entity_ref, _m in problems(engine))


def test_an_optional_location_target_may_be_missing(engine: Engine, tmp_path: Path) -> None:
    write(
        tmp_path / "all.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: root\n"
        "spec:\n  presence: optional\n  targets: [./missing.yaml, ./svc.yaml]\n",
    )
    write(tmp_path / "svc.yaml", GROUP)

    summary = ingest(engine, [str(tmp_path / "all.yaml")], workers=0)

    assert (summary.added, summary.errors) == (2, 0)
    write(tmp_path / "missing.yaml", component("late"))
    assert ingest(engine, [str(tmp_path / "all.yaml")], workers=0).added == 1


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'catalogue.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def journal_mode(engine: Engine) -> str:
    with engine.connect() as connection:
        return str(connection.exec_driver_sql("PRAGMA journal_mode").scalar())


def log_bytes(tmp_path: Path) -> int:
    log = tmp_path / "catalogue.db-wal"
    return log.stat().st_size if log.exists() else 0


def test_a_first_load_into_sqlite_skips_the_write_ahead_log_and_leaves_wal_mode_on(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    catalogue = tmp_path / "catalogue"
    write(catalogue / "all.yaml", GROUP + "---\n" + component("svc"))

    first = ingest(sqlite_engine, [str(catalogue)], workers=0)
    assert (first.added, log_bytes(tmp_path), journal_mode(sqlite_engine)) == (2, 0, "wal")

    write(catalogue / "all.yaml", GROUP + "---\n" + component("svc", lifecycle="experimental"))
    second = ingest(sqlite_engine, [str(catalogue)], workers=0)
    assert second.updated == 1
    assert log_bytes(tmp_path) > 0  # later ingests write through the log, so readers never wait


def test_a_first_load_while_a_reader_holds_the_file_stays_in_wal_mode(sqlite_engine: Engine, tmp_path: Path) -> None:
    catalogue = tmp_path / "catalogue"
    write(catalogue / "all.yaml", GROUP + "---\n" + component("svc"))
    reader = create_engine(f"sqlite:///{tmp_path / 'catalogue.db'}")
    with reader.connect() as held:  # e.g. `stairway serve` on the same file
        assert held.exec_driver_sql("SELECT count(*) FROM entities").scalar() == 0
        held.commit()

        summary = ingest(sqlite_engine, [str(catalogue)], workers=0)

        assert held.exec_driver_sql("SELECT count(*) FROM entities").scalar() == 2
    reader.dispose()
    assert (summary.added, journal_mode(sqlite_engine)) == (2, "wal")
    assert log_bytes(tmp_path) > 0


def test_a_failed_first_load_into_sqlite_leaves_wal_mode_on(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "catalogue" / "group.yaml", GROUP)

    def fail(_self: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store_module.CatalogWriter, "_remove_orphans", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest(sqlite_engine, [str(tmp_path / "catalogue")], workers=0)

    assert (refs(sqlite_engine), journal_mode(sqlite_engine)) == (set(), "wal")


def test_a_large_ingest_gives_postgresql_fresh_statistics(engine: Engine, tmp_path: Path) -> None:
    groups = "".join(
        f"---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-{i}\nspec:\n  type: team\n"
        "  children: []\n"
        for i in range(1000)
    )
    write(tmp_path / "groups.yaml", groups)
    ingest(engine, [str(tmp_path)], workers=0)
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            # Without ANALYZE a new table has no row estimate (-1) until autovacuum comes by.
            estimate = connection.execute(sa.text("SELECT reltuples FROM pg_class WHERE oid = 'entities'::regclass"))
            assert estimate.scalar_one() == 1000
        else:  # SQLite plans stay as tuned: no statistics tables
            tables = connection.execute(sa.text("SELECT name FROM sqlite_master WHERE name LIKE 'sqlite_stat%'"))
            assert tables.all() == []


@pytest.mark.parametrize(
    ("environ", "files", "expected"),
    [
        ({"STAIRWAY_WORKERS": "3"}, {"cpu.max": "200000 100000"}, lambda cpus: 3),
        ({"STAIRWAY_WORKERS": "0"}, {"cpu.max": "max 100000"}, lambda cpus: 0),  # parse in the process itself
        ({}, {"cpu.max": "150000 100000"}, lambda cpus: min(cpus, 2)),  # limited to 1.5 CPUs: two workers
        ({}, {"cpu.max": "50000 100000"}, lambda cpus: 1),
        ({}, {"cpu.max": "max 100000"}, lambda cpus: cpus),  # no limit: every CPU the process may run on
        ({}, {"cpu/cpu.cfs_quota_us": "100000", "cpu/cpu.cfs_period_us": "100000"}, lambda cpus: 1),  # cgroup v1
        ({}, {"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}, lambda cpus: cpus),
        ({}, {}, lambda cpus: cpus),  # no cgroup files: likewise
    ],
)
def test_parser_processes_follow_the_setting_else_the_cpu_limit(
    tmp_path: Path, environ: dict[str, str], files: dict[str, str], expected: Callable[[int], int]
) -> None:
    for name, text in files.items():
        write(tmp_path / name, text + "\n")
    assert default_workers(environ, tmp_path) == expected(len(os.sched_getaffinity(0)))


def test_a_worker_count_that_is_not_a_number_is_refused_saying_so() -> None:
    with pytest.raises(ValueError, match="STAIRWAY_WORKERS must be a whole number of processes, not 'many'"):
        default_workers({"STAIRWAY_WORKERS": "many"})
