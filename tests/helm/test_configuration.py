"""Stairway's configuration and scorecards reach the pods read-only, roll them on change, and load in Stairway."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scorecards.definitions import read_scorecards
from service.config import load_config
from tests.conftest import REPO
from tests.helm.conftest import CHART, CI_VALUES, POSTGRES, Manifests, Render, Values, ci_values

SCORECARD = yaml.safe_load((REPO / "examples" / "scorecards" / "ai-platform-maturity.yaml").read_text())
WITH_SCORECARD = {**POSTGRES, "scorecards": {"maturity.yaml": SCORECARD}}


def config_map(manifests: Manifests, suffix: str = "") -> dict[str, str]:
    """The data of the chart's ConfigMap whose name ends with that suffix."""
    maps = [cm for cm in manifests.of("ConfigMap") if cm["metadata"]["name"] == f"stairway{suffix}"]
    assert len(maps) == 1
    data: dict[str, str] = maps[0]["data"]
    return data


def checksum(manifests: Manifests) -> str:
    """The configuration checksum on the pod template."""
    value: str = manifests.pod["metadata"]["annotations"]["checksum/config"]
    return value


def test_the_default_configuration_is_small_has_no_sources_and_requires_credentials(render: Render) -> None:
    manifests = render(POSTGRES)
    config = yaml.safe_load(config_map(manifests)["stairway.yaml"])
    assert config == {"auth": {"mode": "required"}, "goldenPaths": {"tags": ["golden-path"]}}
    assert "every GraphQL and facts request is refused (401)" in manifests.notes


def test_an_open_configuration_is_warned_about(render: Render) -> None:
    notes = render({**POSTGRES, "config": {"auth": {"mode": "none"}}}).notes
    assert "WARNING: config.auth.mode is none: anyone who reaches the service may read and change everything" in notes


@pytest.mark.parametrize("path", CI_VALUES, ids=lambda path: path.stem)
def test_stairway_loads_the_configuration_each_scenario_writes(render: Render, path: Path, tmp_path: Path) -> None:
    written = tmp_path / "stairway.yaml"
    written.write_text(config_map(render(ci_values(path)))["stairway.yaml"])
    config = load_config(str(written))
    assert config.golden_paths.tags == ("golden-path",)


def test_the_postgres_scenario_names_its_secrets_by_environment_variable(render: Render, tmp_path: Path) -> None:
    manifests = render(ci_values(CHART / "ci" / "postgres-values.yaml"))
    written = tmp_path / "stairway.yaml"
    written.write_text(config_map(manifests)["stairway.yaml"])
    config = load_config(str(written))
    named = {source.token_env for source in config.sources} | {config.github_webhook_secret_env}
    named |= {token.env for token in config.auth.tokens}
    env = manifests.env()
    assert named == {"GITHUB_TOKEN", "GITHUB_WEBHOOK_SECRET", "STAIRWAY_CI_TOKEN"}
    assert config.auth.jwt is not None and config.auth.owners_may_exempt
    for name in named:
        assert set(env[name]["valueFrom"]) == {"secretKeyRef"}


def test_the_configuration_is_mounted_read_only_where_stairway_config_points(render: Render) -> None:
    manifests = render(POSTGRES)
    for container in ("migrate", "stairway"):
        assert manifests.env(container)["STAIRWAY_CONFIG"]["value"] == "/etc/stairway/stairway.yaml"
        mount = next(m for m in manifests.container(container)["volumeMounts"] if m["name"] == "config")
        assert mount == {
            "name": "config",
            "mountPath": "/etc/stairway/stairway.yaml",
            "subPath": "stairway.yaml",
            "readOnly": True,
        }
    volumes = {volume["name"]: volume for volume in manifests.pod["spec"]["volumes"]}
    assert volumes["config"] == {"name": "config", "configMap": {"name": "stairway"}}


def test_without_scorecards_the_images_own_apply(render: Render) -> None:
    manifests = render(POSTGRES)
    assert [cm["metadata"]["name"] for cm in manifests.of("ConfigMap")] == ["stairway"]
    assert "STAIRWAY_SCORECARDS" not in manifests.env()  # the image sets it to the scorecards it carries
    assert all(volume["name"] != "scorecards" for volume in manifests.pod["spec"]["volumes"])


def test_scorecards_are_mounted_read_only_and_stairway_reads_them(render: Render, tmp_path: Path) -> None:
    manifests = render(WITH_SCORECARD)
    for container in ("migrate", "stairway"):
        assert manifests.env(container)["STAIRWAY_SCORECARDS"]["value"] == "/etc/stairway/scorecards"
        mounts = manifests.container(container)["volumeMounts"]
        assert {"name": "scorecards", "mountPath": "/etc/stairway/scorecards", "readOnly": True} in mounts
    files = config_map(manifests, "-scorecards")
    assert list(files) == ["maturity.yaml"]
    (tmp_path / "maturity.yaml").write_text(files["maturity.yaml"])
    scorecards, problems = read_scorecards(str(tmp_path / "maturity.yaml"))
    assert problems == []
    assert [scorecard.name for scorecard in scorecards] == ["ai-platform-maturity"]


@pytest.mark.parametrize(
    "change",
    [
        {"config": {"goldenPaths": {"tags": ["paved-road"]}}},
        {"config": {"goldenPaths": {"tags": ["golden-path"]}, "adoption": {"newWorkloadDays": 30}}},
        {"scorecards": {"maturity.yaml": {**SCORECARD, "metadata": {"name": "renamed"}}}},
        {"scorecards": {"maturity.yaml": SCORECARD, "second.yaml": SCORECARD}},
    ],
    ids=["config", "config-added-key", "scorecard-edited", "scorecard-added"],
)
def test_a_configuration_change_rolls_the_pods(render: Render, change: Values) -> None:
    assert checksum(render({**WITH_SCORECARD, **change})) != checksum(render(WITH_SCORECARD))


@pytest.mark.parametrize(
    "change",
    [
        {"replicaCount": 4},
        {"image": {"tag": "0.2.0"}},
        {"podAnnotations": {"team": "platform"}},
        {"resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}},
        {"secretEnv": [{"name": "GITHUB_TOKEN", "secretName": "github-app", "key": "token"}]},
        {
            "ingress": {
                "enabled": True,
                "hosts": [{"host": "s.example", "paths": [{"path": "/", "pathType": "Prefix"}]}],
            }
        },
    ],
    ids=["replicas", "image", "pod-annotations", "resources", "secret-env", "ingress"],
)
def test_other_changes_keep_the_checksum(render: Render, change: Values) -> None:
    assert checksum(render({**WITH_SCORECARD, **change})) == checksum(render(WITH_SCORECARD))


def test_pod_annotations_sit_beside_the_checksum(render: Render) -> None:
    annotations = render({**POSTGRES, "podAnnotations": {"team": "platform"}}).pod["metadata"]["annotations"]
    assert set(annotations) == {"checksum/config", "team"}


def test_secret_env_and_extra_env_reach_both_containers(render: Render) -> None:
    manifests = render(
        {
            **POSTGRES,
            "secretEnv": [{"name": "GITHUB_TOKEN", "secretName": "github-app", "key": "token"}],
            "extraEnv": [{"name": "TZ", "value": "UTC"}],
        }
    )
    for container in ("migrate", "stairway"):
        env = manifests.env(container)
        assert env["GITHUB_TOKEN"]["valueFrom"] == {"secretKeyRef": {"name": "github-app", "key": "token"}}
        assert env["TZ"] == {"name": "TZ", "value": "UTC"}


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_the_log_format_is_passed_on(render: Render, log_format: str) -> None:
    assert render({**POSTGRES, "logFormat": log_format}).env()["STAIRWAY_LOG_FORMAT"]["value"] == log_format


def test_json_logs_by_default(render: Render) -> None:
    assert render(POSTGRES).env()["STAIRWAY_LOG_FORMAT"]["value"] == "json"


@pytest.mark.parametrize(("workers", "expected"), [("auto", None), (0, "0"), (2, "2"), (6, "6")])
def test_parser_workers_are_bounded_by_the_chart_not_the_node(
    render: Render, workers: int | str, expected: str | None
) -> None:
    values = POSTGRES if workers == 2 else {**POSTGRES, "parserWorkers": workers}  # 2 is the default
    env = render(values).env()
    assert (env["STAIRWAY_WORKERS"]["value"] if "STAIRWAY_WORKERS" in env else None) == expected


def test_probes_use_the_health_routes_on_the_named_port(render: Render) -> None:
    server = render(POSTGRES).container("stairway")
    assert server["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert server["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert server["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert server["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


def test_the_service_sends_its_port_to_the_http_port(render: Render) -> None:
    service = render({**POSTGRES, "service": {"port": 8000}}).one("Service")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [{"name": "http", "port": 8000, "targetPort": "http", "protocol": "TCP"}]
