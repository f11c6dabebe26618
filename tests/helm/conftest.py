"""The chart as Helm renders it: Helm v4's own engine through helm-python-sdk, offline, parsed into manifests."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml
from helm_python import _native

from tests.conftest import REPO

CHART = REPO / "helm" / "stairway"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
KUBE_VERSIONS = ("v1.29.0", "v1.33.0")
RELEASE = "stairway"
NAMESPACE = "portal"
POSTGRES = {"database": {"existingSecret": "stairway-database"}}  # the least a user sets
SQLITE = {"database": {"mode": "sqlite"}}

Values = dict[str, Any]
Manifest = dict[str, Any]


def ci_values(path: Path) -> Values:
    """The values of one ci/*-values.yaml scenario."""
    values: Values = yaml.safe_load(path.read_text(encoding="utf-8"))
    return values


@dataclass(frozen=True)
class Manifests:
    """What one render produced: the manifests as the API server would receive them, and the install notes."""

    documents: tuple[Manifest, ...]
    notes: str

    @property
    def kinds(self) -> set[str]:
        """The kinds rendered."""
        return {document["kind"] for document in self.documents}

    def of(self, kind: str) -> list[Manifest]:
        """Every manifest of that kind."""
        return [document for document in self.documents if document["kind"] == kind]

    def one(self, kind: str) -> Manifest:
        """The only manifest of that kind."""
        found = self.of(kind)
        assert len(found) == 1, f"{len(found)} {kind} manifests rendered"
        return found[0]

    @property
    def pod(self) -> Manifest:
        """The Deployment's pod template."""
        template: Manifest = self.one("Deployment")["spec"]["template"]
        return template

    @property
    def containers(self) -> list[Manifest]:
        """Every container of the pod, init containers first."""
        spec = self.pod["spec"]
        return [*spec.get("initContainers", []), *spec["containers"]]

    def container(self, name: str) -> Manifest:
        """The pod's container (or init container) of that name."""
        return next(container for container in self.containers if container["name"] == name)

    def env(self, container: str = "stairway") -> dict[str, Manifest]:
        """That container's environment variables by name."""
        return {variable["name"]: variable for variable in self.container(container).get("env", [])}


Render = Callable[..., Manifests]


def _is_test_hook(document: Manifest) -> bool:
    hooks = document.get("metadata", {}).get("annotations", {}).get("helm.sh/hook", "")
    return "test" in hooks.split(",")


def render_with(chart: helm_python.Chart, values: Values, kube_version: str) -> Manifests:
    """Render as `helm template --kube-version` does, but strict: a template reading a missing key fails."""
    options = {
        "name": RELEASE,
        "namespace": NAMESPACE,
        "kube_version": kube_version,
        "strict": True,
        "is_install": True,
    }
    rendered: dict[str, str] = json.loads(
        _native.call_string("helm_render", chart._raw(), json.dumps(values), json.dumps(options))
    )
    notes = "".join(text for template, text in rendered.items() if template.endswith("NOTES.txt"))
    documents = (
        document
        for template, text in sorted(rendered.items())
        if not template.endswith("NOTES.txt")
        for document in yaml.safe_load_all(text)
        if document and not _is_test_hook(document)
    )
    return Manifests(tuple(documents), notes)


@pytest.fixture(scope="session")
def chart() -> Iterator[helm_python.Chart]:
    """The chart, loaded once."""
    with helm_python.Chart.load(CHART) as loaded:
        yield loaded


@pytest.fixture(scope="session")
def render(chart: helm_python.Chart) -> Render:
    """render(values, kube_version="v1.33.0"): the manifests Helm renders (test hooks left out) and its notes;
    the same values render once a session."""

    @functools.cache
    def cached(values_json: str, kube_version: str) -> Manifests:
        return render_with(chart, json.loads(values_json), kube_version)

    def render(values: Values | None = None, kube_version: str = KUBE_VERSIONS[-1]) -> Manifests:
        return cached(json.dumps(values or {}, sort_keys=True), kube_version)

    return render
