"""The ci/*-values.yaml scenarios: Helm lints them clean and Kubernetes 1.29 and 1.33 accept every manifest."""

from __future__ import annotations

from pathlib import Path

import helm_python
import kubernetes_validate
import pytest

from tests.helm.conftest import CHART, CI_VALUES, KUBE_VERSIONS, NAMESPACE, POSTGRES, Manifest, Render, ci_values

EVERYTHING_ON = {
    **ci_values(CHART / "ci" / "postgres-values.yaml"),
    "scorecards": {"team.yaml": {"apiVersion": "stairway.dev/v1alpha1", "kind": "Scorecard"}},
    "extraEnv": [{"name": "TZ", "value": "UTC"}],
    "imagePullSecrets": [{"name": "regcred"}],
    "podAnnotations": {"team": "platform"},
    "podLabels": {"cost-centre": "portal"},
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "portal", "effect": "NoSchedule"}],
    "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []}},
    "priorityClassName": "portal",
    "service": {"type": "ClusterIP", "port": 8000, "annotations": {"team": "platform"}},
    "topologySpread": {
        "byHostname": True,
        "constraints": [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "stairway"}},
            }
        ],
    },
    "serviceMonitor": {"enabled": True, "interval": "15s", "scrapeTimeout": "10s", "labels": {"release": "prom"}},
}
SQLITE_EVERYTHING_ON = {
    **ci_values(CHART / "ci" / "sqlite-values.yaml"),
    "persistence": {"size": "5Gi", "storageClassName": "fast", "annotations": {"backup": "daily"}},
    "networkPolicy": {"enabled": True},
    "ingress": {"enabled": True, "hosts": [{"host": "stairway.local", "paths": [{"path": "/", "pathType": "Prefix"}]}]},
}
SCENARIOS = {path.stem: ci_values(path) for path in CI_VALUES} | {
    "everything-on": EVERYTHING_ON,
    "sqlite-everything-on": SQLITE_EVERYTHING_ON,
}


def test_the_three_scenarios_exist() -> None:
    assert [path.name for path in CI_VALUES] == ["minimal-values.yaml", "postgres-values.yaml", "sqlite-values.yaml"]


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("path", CI_VALUES, ids=lambda path: path.stem)
def test_helm_lint_finds_no_error(path: Path, kube_version: str) -> None:
    report = helm_python.lint(CHART, ci_values(path), kube_version=kube_version)
    assert [message for message in report["messages"] if message["severity"] == 3] == []


def test_helm_lint_reports_a_value_the_schema_refuses() -> None:
    report = helm_python.lint(CHART, {**POSTGRES, "replicas": 3}, kube_version=KUBE_VERSIONS[-1])
    errors = [message["error"] for message in report["messages"] if message["severity"] == 3]
    assert errors and all("additional properties 'replicas' not allowed" in error for error in errors)


def _validate(manifest: Manifest, kube_version: str) -> None:
    try:
        kubernetes_validate.validate(manifest, kube_version, strict=True)
    except kubernetes_validate.ValidationError as error:
        pytest.fail(f"{manifest['kind']} {manifest['metadata']['name']} on {kube_version}: {error.message}")


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_kubernetes_accepts_every_manifest(render: Render, scenario: str, kube_version: str) -> None:
    manifests = render(SCENARIOS[scenario], kube_version=kube_version)
    for manifest in manifests.documents:
        if manifest["kind"] != "ServiceMonitor":  # a CRD: no schema to check against; see the test below
            _validate(manifest, kube_version)


def test_the_scenarios_render_what_they_promise(render: Render) -> None:
    always = {"ConfigMap", "Deployment", "Service", "ServiceAccount"}
    assert render(SCENARIOS["minimal-values"]).kinds == always
    assert render(SCENARIOS["sqlite-values"]).kinds == always | {"PersistentVolumeClaim"}
    assert render(SCENARIOS["postgres-values"]).kinds == always | {
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Ingress",
        "NetworkPolicy",
        "ServiceMonitor",
    }


def test_the_service_monitor_scrapes_metrics_on_the_http_port_of_this_service(render: Render) -> None:
    manifests = render(EVERYTHING_ON)
    monitor = manifests.one("ServiceMonitor")
    service = manifests.one("Service")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["selector"] == {"matchLabels": service["spec"]["selector"]}
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    assert monitor["spec"]["endpoints"] == [
        {"port": "http", "path": "/metrics", "interval": "15s", "scrapeTimeout": "10s"}
    ]
    assert [port["name"] for port in service["spec"]["ports"]] == ["http"]


def test_every_object_carries_the_standard_labels_and_pods_are_selected_by_name_and_instance(render: Render) -> None:
    manifests = render(EVERYTHING_ON)
    selector = {"app.kubernetes.io/name": "stairway", "app.kubernetes.io/instance": "stairway"}
    for manifest in (*manifests.documents, manifests.pod):
        assert (
            manifest["metadata"]["labels"].items()
            >= {
                **selector,
                "app.kubernetes.io/version": "0.1.0",
                "app.kubernetes.io/managed-by": "Helm",
                "helm.sh/chart": "stairway-0.1.0",
            }.items()
        )
    assert manifests.one("Deployment")["spec"]["selector"] == {"matchLabels": selector}
    assert manifests.one("Service")["spec"]["selector"] == selector


@pytest.mark.parametrize(
    ("names", "fullname"),
    [({"nameOverride": "scorecards"}, "stairway-scorecards"), ({"fullnameOverride": "portal-scores"}, "portal-scores")],
)
def test_names_can_be_overridden(render: Render, names: dict[str, str], fullname: str) -> None:
    manifests = render({**EVERYTHING_ON, **names})
    assert {manifest["metadata"]["name"] for manifest in manifests.documents} == {fullname, f"{fullname}-scorecards"}


def test_the_notes_say_how_to_reach_stairway(render: Render) -> None:
    notes = render(POSTGRES).notes
    assert f"kubectl --namespace {NAMESPACE} port-forward service/stairway 8080:80" in notes
    assert f"http://stairway.{NAMESPACE}.svc:80/graphql" in notes
    assert f"kubectl --namespace {NAMESPACE} logs deployment/stairway -c migrate" in notes
    assert "https://stairway.example.com/graphql" in render(SCENARIOS["postgres-values"]).notes
