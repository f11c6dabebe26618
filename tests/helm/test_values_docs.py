"""values.yaml is documented, typed by values.schema.json, and README.md's values table is current."""

from __future__ import annotations

import importlib.util
import json
import sys
from types import ModuleType
from typing import Any

import helm_python
import pytest
import yaml

from tests.helm.conftest import CHART, POSTGRES, Render

VALUES_YAML = (CHART / "values.yaml").read_text(encoding="utf-8")
SCHEMA = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))


def _values_table() -> ModuleType:
    spec = importlib.util.spec_from_file_location("stairway_values_table", CHART / "values_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


values_table = _values_table()


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SCHEMA["definitions"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _schema_at(path: tuple[str, ...]) -> dict[str, Any]:
    """The schema of the value at that path, or of the free-form object (e.g. `config`) holding it."""
    schema = SCHEMA
    for key in path:
        if "properties" not in schema:
            break
        schema = _resolve(schema["properties"][key])
    return schema


def test_readme_values_table_is_current() -> None:
    readme = (CHART / "README.md").read_text(encoding="utf-8")
    assert values_table.with_table(readme, VALUES_YAML) == readme, "run: python helm/stairway/values_table.py"


def test_every_value_is_described() -> None:
    docs = values_table.documented(VALUES_YAML)
    assert values_table.undocumented(yaml.safe_load(VALUES_YAML), docs) == []
    assert all(doc.description for doc in docs.values())


def test_the_table_lists_each_documented_value_with_its_default() -> None:
    table = values_table.table("# -- How many.\ncount: 3\nnested:\n  # -- (int) Maybe | none.\n  limit: ''\n")
    assert table.splitlines()[2:] == [
        "| count | int | `3` | How many. |",
        '| nested.limit | int | `""` | Maybe \\| none. |',
    ]


def test_the_schema_types_every_value() -> None:
    for leaf in values_table.leaves(yaml.safe_load(VALUES_YAML)):
        schema = _schema_at(leaf)
        assert {"type", "enum", "anyOf", "allOf"} & set(schema), ".".join(leaf)


def test_the_schema_refuses_unknown_keys_at_the_top_and_in_the_charts_own_objects(render: Render) -> None:
    assert SCHEMA["additionalProperties"] is False
    for typo in ({"replicas": 2}, {"image": {"tags": "1.0"}}, {"networkPolicy": {"enable": True}}):
        with pytest.raises(helm_python.HelmValuesError, match=r"additional properties .* not allowed"):
            render({**POSTGRES, **typo})


def test_the_default_values_pass_the_schema(chart: helm_python.Chart) -> None:
    chart.validate_schema(POSTGRES)
