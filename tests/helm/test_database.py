"""The two database modes: PostgreSQL from an existing Secret, SQLite on one pod's volume; migrations first."""

from __future__ import annotations

import helm_python
import pytest

from tests.helm.conftest import CHART, POSTGRES, SQLITE, Render, Values

WHY = "one pod: sqlite keeps the database on one ReadWriteOnce volume (use database.mode postgres for more replicas)"


def test_postgres_reads_the_url_from_the_named_secret_only(render: Render) -> None:
    manifests = render({"database": {"existingSecret": "pg", "secretKey": "dsn"}})
    for container in ("migrate", "stairway"):
        url = manifests.env(container)["STAIRWAY_DATABASE_URL"]
        assert url == {"name": "STAIRWAY_DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "pg", "key": "dsn"}}}


def test_postgres_without_the_secret_fails_saying_how_to_provide_it(render: Render) -> None:
    with pytest.raises(helm_python.HelmRenderError) as raised:
        render({})
    message = str(raised.value)
    assert "database.existingSecret is required with database.mode=postgres" in message
    assert "kubectl create secret generic stairway-database --from-literal=url=postgresql://" in message


def test_the_schema_offers_no_plain_value_for_the_url(render: Render) -> None:
    with pytest.raises(helm_python.HelmValuesError, match="additional properties 'url' not allowed"):
        render({"database": {"existingSecret": "pg", "url": "postgresql://stairway:secret@db/stairway"}})


def test_postgres_rolls_pods_one_at_a_time_and_creates_no_volume(render: Render) -> None:
    manifests = render({**POSTGRES, "replicaCount": 3})
    deployment = manifests.one("Deployment")
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    assert deployment["spec"]["replicas"] == 3
    assert "PersistentVolumeClaim" not in manifests.kinds
    assert all(mount["mountPath"] != "/var/lib/stairway" for mount in manifests.container("stairway")["volumeMounts"])


def test_sqlite_runs_one_pod_recreated_on_its_own_volume(render: Render) -> None:
    manifests = render(SQLITE)
    deployment = manifests.one("Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    claim = manifests.one("PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"] == {"requests": {"storage": "1Gi"}}
    assert "storageClassName" not in claim["spec"]  # the cluster's default class
    volumes = {volume["name"]: volume for volume in manifests.pod["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"] == {"claimName": claim["metadata"]["name"]}
    for container in ("migrate", "stairway"):
        assert manifests.env(container)["STAIRWAY_DATABASE_URL"]["value"] == "sqlite:////var/lib/stairway/stairway.db"
        assert {"name": "data", "mountPath": "/var/lib/stairway"} in manifests.container(container)["volumeMounts"]


def test_sqlite_claim_size_and_class_are_configurable(render: Render) -> None:
    claim = render({**SQLITE, "persistence": {"size": "20Gi", "storageClassName": "fast"}}).one("PersistentVolumeClaim")
    assert claim["spec"]["resources"] == {"requests": {"storage": "20Gi"}}
    assert claim["spec"]["storageClassName"] == "fast"


def test_sqlite_mounts_an_existing_claim_instead_of_creating_one(render: Render) -> None:
    manifests = render({**SQLITE, "persistence": {"existingClaim": "stairway-data"}})
    assert "PersistentVolumeClaim" not in manifests.kinds
    volumes = {volume["name"]: volume for volume in manifests.pod["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"] == {"claimName": "stairway-data"}


@pytest.mark.parametrize(
    ("values", "refused"),
    [
        ({"replicaCount": 2}, "at '/replicaCount': value must be one of 0, 1, "),
        ({"autoscaling": {"enabled": True}}, "at '/autoscaling/enabled': value must be one of false, "),
    ],
)
def test_sqlite_refuses_more_than_one_pod_saying_why(render: Render, values: Values, refused: str) -> None:
    with pytest.raises(helm_python.HelmValuesError) as raised:
        render({**SQLITE, **values})
    assert f"{refused}'{WHY}'" in str(raised.value)
    report = helm_python.lint(CHART, {**SQLITE, **values}, kube_version="v1.33.0")
    assert any(message["severity"] == 3 and WHY in message["error"] for message in report["messages"])


def test_sqlite_may_be_scaled_to_zero(render: Render) -> None:
    assert render({**SQLITE, "replicaCount": 0}).one("Deployment")["spec"]["replicas"] == 0


@pytest.mark.parametrize("values", [POSTGRES, SQLITE], ids=["postgres", "sqlite"])
def test_the_init_container_migrates_the_schema_before_the_server_starts(render: Render, values: Values) -> None:
    manifests = render(values)
    migrate, server = manifests.containers
    assert (migrate["name"], migrate["args"]) == ("migrate", ["migrate"])
    assert migrate["image"] == server["image"]
    assert manifests.env("migrate") == manifests.env("stairway")
    assert migrate["volumeMounts"] == server["volumeMounts"]
    assert server["args"] == ["serve", "--host", "0.0.0.0", "--port", "8080", "--no-migrate"]  # done already
    assert "command" not in migrate and "command" not in server  # the image's entrypoint: stairway
