"""Provenance: the template a component started from, its template version and creation time, read
at ingest into columns (and, for databases made before, by migration 0003)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine

from catalog.database import alembic_config, migrate
from catalog.ingest import ingest
from catalog.processing import ANNOTATION, WARNING, FileTask, process_file
from catalog.provenance import read_provenance
from tests.catalog.test_processing import component, write

SOURCE_TEMPLATE = "backstage.io/source-template"


def provenance_of(annotations: dict[str, object], spec: dict[str, object] | None = None, keys: tuple[str, ...] = ()):
    return read_provenance({"annotations": annotations}, spec or {}, keys, "payments")


def test_the_source_template_annotation_names_the_template() -> None:
    found = provenance_of(
        {
            SOURCE_TEMPLATE: "template:default/python-service",
            "backstage.io/template-version": "2.1.0",
            "backstage.io/createdAt": "2026-06-14T09:30:00+02:00",
        }
    )
    assert found.template_ref == "template:default/python-service"
    assert found.template_version == "2.1.0"
    assert found.created_at == datetime(2026, 6, 14, 7, 30, tzinfo=UTC)
    assert (found.from_spec, found.problems) == (False, ())


def test_spec_scaffolded_from_and_configured_annotations_come_after_it_in_order() -> None:
    # A short ref means a Template in the entity's own namespace.
    assert provenance_of({}, {"scaffoldedFrom": "ml-model"}).template_ref == "template:payments/ml-model"
    assert provenance_of({}, {"scaffoldedFrom": "ml-model"}).from_spec
    both = provenance_of({SOURCE_TEMPLATE: "template:default/a"}, {"scaffoldedFrom": "template:default/b"})
    assert (both.template_ref, both.from_spec) == ("template:default/a", False)
    keys = ("acme.io/template", "acme.io/old-template")
    assert provenance_of({"acme.io/old-template": "default/c"}, keys=keys).template_ref == "template:default/c"
    assert provenance_of({"acme.io/template": "d", "acme.io/old-template": "e"}, keys=keys).template_ref == (
        "template:payments/d"
    )
    assert provenance_of({"acme.io/template": "d"}).template_ref is None  # not configured: not read


def test_unreadable_provenance_is_a_problem_and_the_rest_is_kept() -> None:
    found = provenance_of(
        {SOURCE_TEMPLATE: "template:", "backstage.io/createdAt": "last tuesday", "backstage.io/template-version": 3},
        {"scaffoldedFrom": "template:default/fallback"},
    )
    assert found.template_ref == "template:default/fallback"  # the next candidate
    assert found.template_version == "3"
    assert found.created_at is None
    assert list(found.problems) == [
        'annotation "backstage.io/source-template" is not a template reference: '
        'Entity reference "template:" was not on the form [<kind>:][<namespace>/]<name>',
        "annotation \"backstage.io/createdAt\" is not an ISO 8601 timestamp: 'last tuesday'",
    ]
    too_long = provenance_of({SOURCE_TEMPLATE: "x" * 600, "backstage.io/template-version": "v" * 300})
    assert (too_long.template_ref, too_long.template_version) == (None, None)
    assert len(too_long.problems) == 2
    assert provenance_of({"backstage.io/createdAt": "2026-06-14"}).created_at == datetime(2026, 6, 14, tzinfo=UTC)
    # Valid ISO 8601, but before year 1 (or after 9999) once in UTC: unreadable, not a crash.
    for moment in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        found = provenance_of({"backstage.io/createdAt": moment})
        assert (found.created_at, len(found.problems)) == (None, 1)


def test_a_processed_component_carries_its_provenance_and_warnings(tmp_path: Path) -> None:
    annotations = (
        "  annotations:\n"
        "    backstage.io/source-template: template:default/python-service\n"
        '    backstage.io/template-version: "2.1.0"\n'
        "    backstage.io/createdAt: someday\n"
    )
    path = write(tmp_path / "catalog-info.yaml", component("svc", extra_metadata=annotations))
    result = process_file(FileTask(str(path), str(tmp_path), str(path)))
    (row,) = result.entities
    assert (row.template_ref, row.template_version, row.created_at) == (
        "template:default/python-service",
        "2.1.0",
        None,
    )
    (problem,) = result.problems
    assert (problem.code, problem.severity, problem.entity_ref) == (ANNOTATION, WARNING, "component:default/svc")
    assert "backstage.io/createdAt" in problem.message


def test_an_unreadable_creation_time_is_a_warning_and_the_catalogue_ingests(engine: Engine, tmp_path: Path) -> None:
    early = '  annotations:\n    backstage.io/createdAt: "0001-01-01T00:00:00+01:00"\n'
    write(tmp_path / "a.yaml", component("early", extra_metadata=early))
    write(tmp_path / "b.yaml", component("fine"))
    write(
        tmp_path / "team.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\n"
        "spec:\n  type: team\n  children: []\n",
    )
    summary = ingest(engine, [str(tmp_path)], workers=0)
    assert (summary.added, summary.errors, summary.warnings) == (3, 0, 1)
    assert stored_provenance(engine, "component:default/early") == (None, None, None)


def stored_provenance(engine: Engine, ref: str) -> tuple[object, ...]:
    with engine.connect() as connection:
        row = connection.execute(
            sa.text("SELECT template_ref, template_version, created_at FROM entities WHERE ref = :ref"), {"ref": ref}
        ).one()
    created = row[2]
    if isinstance(created, str):
        created = datetime.fromisoformat(created)
    if isinstance(created, datetime):
        created = created.replace(tzinfo=UTC) if created.tzinfo is None else created.astimezone(UTC)
    return row[0], row[1], created


def test_ingest_stores_provenance_and_rereads_it_when_the_annotation_keys_change(
    engine: Engine, tmp_path: Path
) -> None:
    annotations = '  annotations:\n    acme.io/template: ml-model\n    backstage.io/createdAt: "2026-01-02T03:04:05Z"\n'
    write(tmp_path / "catalog-info.yaml", component("svc", extra_metadata=annotations))
    ingest(engine, [str(tmp_path)], workers=0)
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert stored_provenance(engine, "component:default/svc") == (None, None, created)

    summary = ingest(engine, [str(tmp_path)], workers=0, provenance_keys=["acme.io/template"])
    assert summary.updated == 1  # the same file, read again under the new keys
    assert stored_provenance(engine, "component:default/svc") == ("template:default/ml-model", None, created)
    assert ingest(engine, [str(tmp_path)], workers=0, provenance_keys=["acme.io/template"]).unchanged == 1

    ingest(engine, [str(tmp_path)], workers=0)
    assert stored_provenance(engine, "component:default/svc") == (None, None, created)


def test_migration_0003_reads_the_provenance_of_entities_stored_before_it(engine: Engine) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")  # the schema as a database made before 0003 has it
    body = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": "old",
            "namespace": "default",
            "annotations": {"backstage.io/template-version": "1.0.0", "backstage.io/createdAt": "2025-05-05T05:05:05Z"},
        },
        "spec": {"type": "service", "lifecycle": "production", "owner": "team-a", "scaffoldedFrom": "python-service"},
    }
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO entities (uid, ref, kind, namespace, name, body, content_hash, source, location, "
                "first_seen_at, updated_at) VALUES ('u1', 'component:default/old', 'component', 'default', 'old', "
                ":body, 'h', 'local', 'file:/x.yaml', :now, :now)"
            ),
            {"body": orjson.dumps(body).decode(), "now": now},
        )
    migrate(engine)
    assert stored_provenance(engine, "component:default/old") == (
        "template:default/python-service",
        "1.0.0",
        datetime(2025, 5, 5, 5, 5, 5, tzinfo=UTC),
    )
    with engine.connect() as connection:
        relations = connection.execute(sa.text("SELECT source_ref, type, target_ref FROM relations")).all()
    assert relations == [("component:default/old", "scaffoldedFrom", "template:default/python-service")]
