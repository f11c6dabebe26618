"""Ingress, autoscaling, disruption budget, network policy, topology spread, ServiceMonitor: off until asked for."""

from __future__ import annotations

import helm_python
import pytest

from tests.helm.conftest import POSTGRES, SQLITE, Render, Values

OPTIONAL = {"Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor"}
HOST = {"host": "stairway.example.com", "paths": [{"path": "/", "pathType": "Prefix"}]}


@pytest.mark.parametrize("values", [POSTGRES, SQLITE], ids=["postgres", "sqlite"])
def test_nothing_optional_is_rendered_by_default(render: Render, values: Values) -> None:
    manifests = render(values)
    assert manifests.kinds & OPTIONAL == set()
    assert "topologySpreadConstraints" not in manifests.pod["spec"]


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ({"ingress": {"enabled": True, "hosts": [HOST]}}, "Ingress"),
        ({"autoscaling": {"enabled": True}}, "HorizontalPodAutoscaler"),
        ({"replicaCount": 2, "podDisruptionBudget": {"enabled": True}}, "PodDisruptionBudget"),
        ({"networkPolicy": {"enabled": True}}, "NetworkPolicy"),
        ({"serviceMonitor": {"enabled": True}}, "ServiceMonitor"),
    ],
)
def test_each_optional_object_is_rendered_when_enabled(render: Render, values: Values, kind: str) -> None:
    assert render({**POSTGRES, **values}).kinds & OPTIONAL == {kind}


def test_the_ingress_routes_each_host_to_the_http_port_with_tls(render: Render) -> None:
    ingress = render(
        {
            **POSTGRES,
            "ingress": {
                "enabled": True,
                "className": "nginx",
                "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
                "hosts": [HOST, {"host": "portal.example.com", "paths": [{"path": "/stairway", "pathType": "Prefix"}]}],
                "tls": [{"secretName": "stairway-tls", "hosts": ["stairway.example.com", "portal.example.com"]}],
            },
        }
    ).one("Ingress")
    backend = {"service": {"name": "stairway", "port": {"name": "http"}}}
    assert ingress["apiVersion"] == "networking.k8s.io/v1"
    assert ingress["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt"}
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [
        {"secretName": "stairway-tls", "hosts": ["stairway.example.com", "portal.example.com"]}
    ]
    assert ingress["spec"]["rules"] == [
        {"host": "stairway.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}},
        {
            "host": "portal.example.com",
            "http": {"paths": [{"path": "/stairway", "pathType": "Prefix", "backend": backend}]},
        },
    ]


def test_an_enabled_ingress_needs_a_host(render: Render) -> None:
    with pytest.raises(helm_python.HelmValuesError, match="/ingress/hosts"):
        render({**POSTGRES, "ingress": {"enabled": True}})


@pytest.mark.parametrize(
    ("targets", "metrics"),
    [
        ({}, {"cpu": 80}),
        ({"targetCPUUtilizationPercentage": 60, "targetMemoryUtilizationPercentage": 75}, {"cpu": 60, "memory": 75}),
        ({"targetCPUUtilizationPercentage": 0, "targetMemoryUtilizationPercentage": 75}, {"memory": 75}),
    ],
    ids=["default", "both", "memory-only"],
)
def test_the_autoscaler_owns_the_replica_count_and_targets_cpu_and_or_memory(
    render: Render, targets: Values, metrics: dict[str, int]
) -> None:
    manifests = render({**POSTGRES, "autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 9, **targets}})
    autoscaler = manifests.one("HorizontalPodAutoscaler")
    assert autoscaler["apiVersion"] == "autoscaling/v2"
    assert autoscaler["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "stairway"}
    assert (autoscaler["spec"]["minReplicas"], autoscaler["spec"]["maxReplicas"]) == (3, 9)
    rendered = {
        metric["resource"]["name"]: metric["resource"]["target"]["averageUtilization"]
        for metric in autoscaler["spec"]["metrics"]
    }
    assert rendered == metrics
    assert "replicas" not in manifests.one("Deployment")["spec"]


@pytest.mark.parametrize(
    "values",
    [
        {"replicaCount": 1},
        {"replicaCount": 3, "autoscaling": {"enabled": True, "minReplicas": 1}},
    ],
    ids=["one-replica", "autoscaling-from-one"],
)
def test_no_disruption_budget_while_only_one_pod_may_run(render: Render, values: Values) -> None:
    manifests = render({**POSTGRES, **values, "podDisruptionBudget": {"enabled": True}})
    assert "PodDisruptionBudget" not in manifests.kinds


def test_no_disruption_budget_for_sqlite_even_when_enabled(render: Render) -> None:
    assert "PodDisruptionBudget" not in render({**SQLITE, "podDisruptionBudget": {"enabled": True}}).kinds


@pytest.mark.parametrize(
    ("budget", "spec"),
    [
        ({}, {"minAvailable": 1}),
        ({"minAvailable": "50%"}, {"minAvailable": "50%"}),
        ({"maxUnavailable": 1}, {"maxUnavailable": 1}),
        ({"maxUnavailable": "25%"}, {"maxUnavailable": "25%"}),
    ],
    ids=["default", "min-percent", "max-count", "max-percent"],
)
def test_the_disruption_budget_keeps_pods_of_this_release(render: Render, budget: Values, spec: Values) -> None:
    manifests = render(
        {**POSTGRES, "autoscaling": {"enabled": True}, "podDisruptionBudget": {"enabled": True, **budget}}
    )
    rendered = manifests.one("PodDisruptionBudget")["spec"]
    assert rendered == {**spec, "selector": manifests.one("Deployment")["spec"]["selector"]}


def test_the_network_policy_lets_in_only_the_configured_peers_and_out_only_dns_database_and_upstreams(
    render: Render,
) -> None:
    ingress_nginx = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
    manifests = render(
        {
            **POSTGRES,
            "networkPolicy": {
                "enabled": True,
                "ingressFrom": [ingress_nginx],
                "database": {"port": 6432, "cidr": "10.0.12.0/24"},
                "upstreams": [{"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"], "ports": [443, 22]}],
            },
        }
    )
    policy = manifests.one("NetworkPolicy")["spec"]
    assert policy["podSelector"] == manifests.one("Deployment")["spec"]["selector"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert policy["ingress"] == [{"from": [ingress_nginx], "ports": [{"port": "http", "protocol": "TCP"}]}]
    dns, database, upstream = policy["egress"]
    assert dns == {
        "to": [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }
        ],
        "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
    }
    assert database == {"to": [{"ipBlock": {"cidr": "10.0.12.0/24"}}], "ports": [{"port": 6432, "protocol": "TCP"}]}
    assert upstream == {
        "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}],
        "ports": [{"port": 443, "protocol": "TCP"}, {"port": 22, "protocol": "TCP"}],
    }


@pytest.mark.parametrize(
    ("database", "to"),
    [
        (
            {"namespaceSelector": {"matchLabels": {"team": "data"}}, "podSelector": {"matchLabels": {"app": "pg"}}},
            [{"namespaceSelector": {"matchLabels": {"team": "data"}}, "podSelector": {"matchLabels": {"app": "pg"}}}],
        ),
        ({"podSelector": {"matchLabels": {"app": "pg"}}}, [{"podSelector": {"matchLabels": {"app": "pg"}}}]),
        ({}, None),
    ],
    ids=["namespace-and-pods", "pods-in-this-namespace", "port-only"],
)
def test_the_database_egress_follows_its_selectors(render: Render, database: Values, to: list[Values] | None) -> None:
    policy = render({**POSTGRES, "networkPolicy": {"enabled": True, "database": database}}).one("NetworkPolicy")
    rule = policy["spec"]["egress"][1]
    assert rule.get("to") == to
    assert rule["ports"] == [{"port": 5432, "protocol": "TCP"}]


def test_sqlite_has_no_database_egress(render: Render) -> None:
    policy = render({**SQLITE, "networkPolicy": {"enabled": True}}).one("NetworkPolicy")
    assert [rule["ports"][0]["port"] for rule in policy["spec"]["egress"]] == [53]


def test_the_network_policy_lets_in_the_release_namespace_by_default(render: Render) -> None:
    policy = render({**POSTGRES, "networkPolicy": {"enabled": True}}).one("NetworkPolicy")
    assert policy["spec"]["ingress"][0]["from"] == [{"podSelector": {}}]


def test_topology_spread_by_hostname_uses_the_selector_labels(render: Render) -> None:
    raw = {"maxSkew": 2, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule"}
    manifests = render({**POSTGRES, "topologySpread": {"byHostname": True, "constraints": [raw]}})
    selector = manifests.one("Deployment")["spec"]["selector"]
    assert manifests.pod["spec"]["topologySpreadConstraints"] == [
        {
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": selector,
        },
        raw,
    ]


def test_scheduling_values_reach_the_pod(render: Render) -> None:
    scheduling = {
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
        "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []}},
        "priorityClassName": "portal",
        "imagePullSecrets": [{"name": "regcred"}],
    }
    spec = render({**POSTGRES, **scheduling}).pod["spec"]
    assert {key: spec[key] for key in scheduling} == scheduling
