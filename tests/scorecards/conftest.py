"""A small scorecard definition tests can change one field of."""

from __future__ import annotations

import copy
from typing import Any

import pytest


def small_definition() -> dict[str, Any]:
    return {
        "apiVersion": "stairway.dev/v1alpha1",
        "kind": "Scorecard",
        "metadata": {"name": "small", "title": "Small"},
        "spec": {
            "filter": {"kind": ["Component"]},
            "levels": [
                {"id": "ad-hoc"},
                {"id": "repeatable"},
                {"id": "managed"},
                {"id": "governed"},
                {"id": "self-improving"},
            ],
            "areas": [{"id": "data"}, {"id": "serving"}, {"id": "training"}],
            "lopsidedThreshold": 2,
            "checks": [
                {
                    "id": "owned",
                    "title": "Owned",
                    "level": "repeatable",
                    "area": "data",
                    "rule": {"fact": "entity.spec.owner", "op": "exists"},
                    "remediation": "Set an owner.",
                },
                {
                    "id": "serving-api",
                    "title": "API",
                    "level": "repeatable",
                    "area": "serving",
                    "rule": {"fact": "entity.spec.providesApis", "op": "exists"},
                    "remediation": "Declare an API.",
                },
                {
                    "id": "validated",
                    "title": "Validated",
                    "level": "managed",
                    "area": "data",
                    "rule": {"fact": "facts.ci.dataValidation", "op": "equals", "value": True, "maxAge": "P30D"},
                    "remediation": "Validate data.",
                },
                {
                    "id": "served",
                    "title": "Served",
                    "level": "managed",
                    "area": "serving",
                    "rule": {"fact": 'entity.metadata.annotations["stairway.dev/serving-platform"]', "op": "exists"},
                    "remediation": "Serve it.",
                },
                {
                    "id": "lineage",
                    "title": "Lineage",
                    "level": "governed",
                    "area": "data",
                    "rule": {"fact": 'entity.metadata.annotations["stairway.dev/data-lineage"]', "op": "exists"},
                    "remediation": "Record lineage.",
                },
                {
                    "id": "canary",
                    "title": "Canary",
                    "level": "governed",
                    "area": "serving",
                    "rule": {
                        "fact": 'entity.metadata.annotations["stairway.dev/rollout"]',
                        "op": "equals",
                        "value": "canary",
                    },
                    "remediation": "Roll out by canary.",
                },
                {
                    "id": "quality",
                    "title": "Quality",
                    "level": "self-improving",
                    "area": "data",
                    "rule": {"fact": "facts.monitoring.quality", "op": "gte", "value": 0.9},
                    "remediation": "Watch quality.",
                },
                {
                    "id": "rollback",
                    "title": "Rollback",
                    "level": "self-improving",
                    "area": "serving",
                    "rule": {"fact": "facts.deploy.rollback", "op": "equals", "value": True},
                    "remediation": "Roll back.",
                },
                {
                    "id": "tracked",
                    "title": "Tracked",
                    "level": "repeatable",
                    "area": "training",
                    "filter": {"type": "model"},
                    "rule": {"fact": 'entity.metadata.annotations["stairway.dev/experiment-tracker"]', "op": "exists"},
                    "remediation": "Track experiments.",
                },
            ],
        },
    }


@pytest.fixture
def definition() -> dict[str, Any]:
    return copy.deepcopy(small_definition())
