"""Strings stay strings: values that look like numbers, booleans or dates arrive exactly as given."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import helm_python
import pytest
import yaml

from tests.helm.conftest import SQLITE, Manifests, Render

# YAML 1.1 readers (PyYAML, which reads stairway.yaml) and YAML 1.2 readers (Kubernetes) disagree on most of these.
TRICKY = ["yes", "on", "off", "no", "y", "true", "null", "~", "08", "0123", "1.10", "1e3", "0x1F", "1:20", "=", "<<"]
CONFIG = {
    "goldenPaths": {"tags": TRICKY, "annotations": ["northwind.io/from: template", "#hash", "@at", "*star"]},
    "organizationMaturity": {"scorecard": "08", "platformTeams": ["group:default/on"]},
}
ADVERSARIAL = {
    "database": {"existingSecret": "true", "secretKey": "08"},
    "image": {"tag": "1.10"},
    "podAnnotations": {"enabled": "true", "since": "2024-01-01"},
    "podLabels": {"build": "0123", "canary": "yes"},
    "nodeSelector": {"pool": "on"},
    "service": {"annotations": {"exposed": "no"}},
    "serviceAccount": {"annotations": {"team": "1.0"}},
    "secretEnv": [{"name": "TOKEN", "secretName": "null", "key": "1e3"}],
    "extraEnv": [{"name": "FLAG", "value": "yes"}],
    "ingress": {
        "enabled": True,
        "className": "1.10",
        "hosts": [{"host": "123.example", "paths": [{"path": "/", "pathType": "Prefix"}]}],
        "tls": [{"secretName": "0123", "hosts": ["123.example"]}],
    },
    "serviceMonitor": {"enabled": True, "labels": {"release": "08"}},
    "priorityClassName": "true",
    "config": CONFIG,
    "scorecards": {"tricky.yaml": {"metadata": {"name": "on", "tags": TRICKY}}},
}


def _annotations(manifests: Manifests, kind: str) -> dict[str, str]:
    annotations: dict[str, str] = manifests.one(kind)["metadata"]["annotations"]
    return annotations


PLACES: dict[str, tuple[Callable[[Manifests], Any], Any]] = {
    "secret name": (
        lambda m: m.env()["STAIRWAY_DATABASE_URL"]["valueFrom"]["secretKeyRef"],
        {"name": "true", "key": "08"},
    ),
    "image tag": (lambda m: m.container("stairway")["image"], "ghcr.io/stairway/stairway:1.10"),
    "pod annotations": (
        lambda m: {k: v for k, v in m.pod["metadata"]["annotations"].items() if k != "checksum/config"},
        {"enabled": "true", "since": "2024-01-01"},
    ),
    "pod labels": (
        lambda m: {k: m.pod["metadata"]["labels"][k] for k in ("build", "canary")},
        {"build": "0123", "canary": "yes"},
    ),
    "node selector": (lambda m: m.pod["spec"]["nodeSelector"], {"pool": "on"}),
    "service annotations": (lambda m: _annotations(m, "Service"), {"exposed": "no"}),
    "service account annotations": (lambda m: _annotations(m, "ServiceAccount"), {"team": "1.0"}),
    "secret env": (lambda m: m.env()["TOKEN"]["valueFrom"]["secretKeyRef"], {"name": "null", "key": "1e3"}),
    "extra env": (lambda m: m.env()["FLAG"], {"name": "FLAG", "value": "yes"}),
    "ingress class": (lambda m: m.one("Ingress")["spec"]["ingressClassName"], "1.10"),
    "ingress host": (lambda m: m.one("Ingress")["spec"]["rules"][0]["host"], "123.example"),
    "ingress tls": (lambda m: m.one("Ingress")["spec"]["tls"], [{"secretName": "0123", "hosts": ["123.example"]}]),
    "service monitor labels": (lambda m: m.one("ServiceMonitor")["metadata"]["labels"]["release"], "08"),
    "priority class": (lambda m: m.pod["spec"]["priorityClassName"], "true"),
}


@pytest.mark.parametrize("place", PLACES)
def test_strings_that_look_like_other_types_arrive_as_strings(render: Render, place: str) -> None:
    read, expected = PLACES[place]
    assert read(render(ADVERSARIAL)) == expected


def test_stairway_yaml_parses_back_to_exactly_the_values_given(render: Render) -> None:
    config_map = next(cm for cm in render(ADVERSARIAL).of("ConfigMap") if cm["metadata"]["name"] == "stairway")
    # As Stairway reads it; Helm merges the values into the chart's default, which requires credentials.
    assert yaml.safe_load(config_map["data"]["stairway.yaml"]) == {**CONFIG, "auth": {"mode": "required"}}


def test_scorecard_files_parse_back_to_exactly_the_values_given(render: Render) -> None:
    manifests = render(ADVERSARIAL)
    config_map = next(cm for cm in manifests.of("ConfigMap") if cm["metadata"]["name"] == "stairway-scorecards")
    assert yaml.safe_load(config_map["data"]["tricky.yaml"]) == ADVERSARIAL["scorecards"]["tricky.yaml"]


def test_a_tag_given_as_a_number_is_refused_rather_than_rounded(render: Render) -> None:
    with pytest.raises(helm_python.HelmValuesError, match="at '/image/tag': got number, want string"):
        render({**SQLITE, "image": {"tag": 1.10}})
