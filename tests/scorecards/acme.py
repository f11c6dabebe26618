"""Acme: a small catalogue whose adoption and maturity numbers are counted by hand in the tests.

Golden paths by the tag golden-path: service-template, model-template, unversioned-template and
docs-template (no adopters); pipeline-template is tagged beta. Eight components; NOW is fixed and
the new-workload window of 90 days starts exactly at platform-svc's creation.

| component    | owner    | system    | lifecycle    | template (version)             | created          |
|--------------|----------|-----------|--------------|--------------------------------|------------------|
| pay-api      | payments | checkout  | production   | service-template (3.0.0)       | 2026-10-01 00:00 |
| pay-worker   | payments | checkout  | production   | service-template (2.0.0), spec | 2025-01-10       |
| search-api   | search   | discovery | production   | model-template (-)             | 2026-09-15       |
| search-ui    | search   | discovery | experimental | -                              | 2026-11-01 00:00 |
| etl          | data     | lake      | production   | pipeline-template (0.5.0)      | 2024-05-01       |
| legacy       | data     | -         | production   | retired-template (1.0.0), gone | 2023-01-01       |
| platform-svc | platform | checkout  | production   | service-template (3.0.0)       | 2026-08-28 12:00 |
| ranker       | search   | discovery | production   | unversioned-template (1.0)     | 2026-08-28 11:59:59 |

Systems checkout and discovery are in domain commerce; lake has no domain.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _entity(kind: str, name: str, spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    api_version = "scaffolder.backstage.io/v1beta3" if kind == "Template" else "backstage.io/v1alpha1"
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, **metadata}, "spec": spec}


def _template(name: str, owner: str, tags: list[str], version: str | None) -> dict[str, Any]:
    annotations = {"backstage.io/template-version": version} if version else {}
    spec = {"owner": owner, "type": "service", "steps": [{"id": "fetch", "action": "fetch:template"}]}
    return _entity("Template", name, spec, tags=tags, annotations=annotations)


def _component(
    name: str,
    owner: str,
    system: str | None,
    lifecycle: str,
    created: str,
    template: str | None = None,
    version: str | None = None,
    scaffolded_from: str | None = None,
    evidence: tuple[str, ...] = (),
) -> dict[str, Any]:
    annotations: dict[str, str] = {"backstage.io/createdAt": created}
    if template:
        annotations["backstage.io/source-template"] = template
    if version:
        annotations["backstage.io/template-version"] = version
    for item in evidence:  # what the acme scorecard's checks read
        annotations[f"acme.io/{item}"] = "monitoring" if item == "retraining" else "yes"
    spec = {"type": "service", "lifecycle": lifecycle, "owner": owner}
    if system:
        spec["system"] = system
    if scaffolded_from:
        spec["scaffoldedFrom"] = scaffolded_from
    return _entity("Component", name, spec, annotations=annotations)


def acme_entities() -> list[dict[str, Any]]:
    groups = [
        _entity("Group", name, {"type": "team", "children": []}) for name in ("platform", "payments", "search", "data")
    ]
    return [
        *groups,
        _entity("Domain", "commerce", {"owner": "payments"}),
        _entity("System", "checkout", {"owner": "payments", "domain": "commerce"}),
        _entity("System", "discovery", {"owner": "search", "domain": "commerce"}),
        _entity("System", "lake", {"owner": "data"}),
        _template("service-template", "platform", ["golden-path"], "3.0.0"),
        _template("model-template", "platform", ["golden-path", "ai"], "1.1.0"),
        _template("unversioned-template", "search", ["golden-path"], None),
        _template("docs-template", "payments", ["golden-path"], "1.0.0"),
        _template("pipeline-template", "data", ["beta"], "0.5.0"),
        _component(
            "pay-api", "payments", "checkout", "production", "2026-10-01T00:00:00Z",
            "template:default/service-template", "3.0.0", evidence=("docs", "risk-tier", "model-card", "retraining"),
        ),
        _component(
            "pay-worker", "payments", "checkout", "production", "2025-01-10T09:00:00Z",
            version="2.0.0", scaffolded_from="service-template", evidence=("docs", "risk-tier", "model-card"),
        ),
        _component(
            "search-api", "search", "discovery", "production", "2026-09-15T10:00:00Z",
            "template:default/model-template", evidence=("docs",),
        ),
        _component("search-ui", "search", "discovery", "experimental", "2026-11-01T00:00:00Z"),
        _component(
            "etl", "data", "lake", "production", "2024-05-01T08:00:00Z",
            "template:default/pipeline-template", "0.5.0", evidence=("risk-tier", "model-card"),
        ),
        _component(
            "legacy", "data", None, "production", "2023-01-01T00:00:00Z", "template:default/retired-template", "1.0.0"
        ),
        _component(
            "platform-svc", "platform", "checkout", "production", "2026-08-28T12:00:00Z",
            "template:default/service-template", "3.0.0", evidence=("retraining",),
        ),
        _component(
            "ranker", "search", "discovery", "production", "2026-08-28T11:59:59Z",
            "template:default/unversioned-template", "1.0", evidence=("docs", "risk-tier"),
        ),
    ]  # fmt: skip


def write_acme(folder: Path) -> Path:
    """The catalogue as one file in `folder`; returns its path."""
    path = folder / "acme.yaml"
    path.write_text(yaml.safe_dump_all(acme_entities(), sort_keys=False), encoding="utf-8")
    return path


def acme_scorecard() -> dict[str, Any]:
    """Governance checks at levels 2-4, monitoring-triggered retraining at level 5 in a second area."""

    def check(check_id: str, level: str, area: str, annotation: str) -> dict[str, Any]:
        return {
            "id": check_id,
            "title": check_id,
            "level": level,
            "area": area,
            "rule": {"fact": f'entity.metadata.annotations["acme.io/{annotation}"]', "op": "exists"},
            "remediation": f"Add acme.io/{annotation}.",
        }

    return {
        "apiVersion": "stairway.dev/v1alpha1",
        "kind": "Scorecard",
        "metadata": {"name": "acme", "title": "Acme"},
        "spec": {
            "filter": {"kind": ["Component"]},
            "levels": [{"id": i} for i in ("ad-hoc", "repeatable", "managed", "governed", "self-improving")],
            "areas": [{"id": "governance"}, {"id": "delivery"}],
            "lopsidedThreshold": 3,
            "checks": [
                {
                    **check("owned", "repeatable", "governance", "x"),
                    "rule": {"fact": "entity.spec.owner", "op": "exists"},
                },
                check("documented", "managed", "governance", "docs"),
                check("risk-tier", "governed", "governance", "risk-tier"),
                check("model-card", "governed", "governance", "model-card"),
                check("retraining", "self-improving", "delivery", "retraining"),
            ],
        },
    }
