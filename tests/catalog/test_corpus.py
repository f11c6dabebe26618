"""Real public Backstage descriptors (../shared/corpus), read in place: they ingest as upstream would."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine

from catalog.ingest import ingest
from catalog.validation import validate_entity
from tests.conftest import CORPUS

if not CORPUS.is_dir():
    pytest.skip(f"shared corpus not found at {CORPUS} (expected beside the repository)", allow_module_level=True)

DESCRIPTORS = sorted(
    p for p in CORPUS.rglob("*") if p.suffix in (".yaml", ".yml") and p.name != "validation-vectors.yaml"
)
NOT_YAML_UNTIL_RENDERED = {
    "janus-idp__software-templates/skeletons/catalog-info/catalog-info.yaml",
    "backstage__software-templates/scaffolder-templates/react-ssr-template/skeleton/catalog-info.yaml",
    "backstage__software-templates/scaffolder-templates/docs-template-cookiecutter/skeleton/catalog-info.yaml",
    "backstage__software-templates/scaffolder-templates/springboot-grpc-template/skeleton/catalog-info.yaml",
    "backstage__software-templates/scaffolder-templates/create-react-app/skeleton/catalog-info.yaml",
}
INVALID_COMPONENT = "backstage__backstage/packages/catalog-model/examples/components/invalid-component.yaml"


@pytest.fixture
def ingested(engine: Engine) -> dict[str, list[tuple[int | None, str]]]:
    """Ingest every descriptor file of the corpus; return the errors by file, relative to the corpus."""
    ingest(engine, [str(path) for path in DESCRIPTORS], source="corpus", workers=0)
    errors: dict[str, list[tuple[int | None, str]]] = {}
    with engine.connect() as connection:
        query = sa.text("SELECT location, line, message FROM processing_errors WHERE severity = 'error'")
        for location, line, message in connection.execute(query):
            errors.setdefault(str(Path(location.removeprefix("file:")).relative_to(CORPUS)), []).append((line, message))
    return errors


def _documents(path: Path) -> list[object]:
    return list(yaml.safe_load_all(path.read_text(encoding="utf-8")))


def test_the_five_templated_skeletons_are_parse_errors_not_crashes(
    ingested: dict[str, list[tuple[int | None, str]]],
) -> None:
    parse_errors = {
        name
        for name, problems in ingested.items()
        if any("YAML syntax error" in message for _line, message in problems)
    }
    assert parse_errors == NOT_YAML_UNTIL_RENDERED
    for name in NOT_YAML_UNTIL_RENDERED:
        assert all(line is not None and line >= 1 for line, _message in ingested[name])


def test_the_intentionally_invalid_component_names_its_fields(
    ingested: dict[str, list[tuple[int | None, str]]],
) -> None:
    ((line, message),) = ingested[INVALID_COMPONENT]
    assert line == 1
    assert '"metadata.name" is not valid' in message and 'found "invalid component"' in message
    assert '"metadata.tags.1" is not valid' in message and "go 1.15.3" in message


def test_every_valid_document_of_every_parseable_file_is_in_the_catalogue(
    engine: Engine, ingested: dict[str, list[tuple[int | None, str]]]
) -> None:
    with engine.connect() as connection:
        stored = {(kind, name) for kind, name in connection.execute(sa.text("SELECT kind, name FROM entities"))}
    missing = []
    for path in DESCRIPTORS:
        name = str(path.relative_to(CORPUS))
        if name in NOT_YAML_UNTIL_RENDERED:
            continue
        for document in _documents(path):
            if isinstance(document, dict) and not validate_entity(document) and "$text" not in str(document):
                key = (document["kind"].lower(), document["metadata"]["name"].lower())
                if key not in stored:
                    missing.append((name, key))
    assert missing == []
    assert len(stored) >= 80


def test_a_placeholder_that_cannot_be_read_here_names_the_field(
    ingested: dict[str, list[tuple[int | None, str]]],
) -> None:
    ((_line, demo),) = ingested["backstage__demo/catalog-info.yaml"]
    assert demo.startswith('"spec.definition": Placeholder $text') and "is a URL" in demo
    ((_line, roadie),) = ingested["RoadieHQ__backstage-entity-validator/sample/catalog-info-with-replacement.yml"]
    assert roadie.startswith('"spec.definition": Placeholder $text') and "No such file" in roadie


def test_the_same_component_twice_is_reported_as_a_duplicate(ingested: dict[str, list[tuple[int | None, str]]]) -> None:
    problems = ingested["RoadieHQ__backstage-entity-validator/sample/catalog-info.yml"]
    assert [message for _line, message in problems] == [
        "Duplicate entity component:default/sample-service-5: already provided earlier in this file"
    ]


def test_roadies_invalid_sample_warns_about_the_source_location_it_breaks(engine: Engine) -> None:
    invalid = CORPUS / "RoadieHQ__backstage-entity-validator/sample/invalid-catalog-info.yml"
    ingest(engine, [str(invalid)], workers=0)

    with engine.connect() as connection:
        query = "SELECT severity, entity_ref, message FROM processing_errors WHERE code = 'annotation'"
        ((severity, entity_ref, message),) = connection.execute(sa.text(query)).all()
        stored = connection.execute(sa.text("SELECT ref FROM entities")).scalars().all()
    assert (severity, entity_ref) == ("warning", "component:default/sample-service-5")
    assert message.startswith('"metadata.annotations.backstage.io/source-location" is not a valid location reference')
    assert "prefix it with 'url:'" in message
    assert stored == ["component:default/sample-service-5"]  # upstream keeps it too; plugins fail later
