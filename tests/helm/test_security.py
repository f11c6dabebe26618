"""Secure by default: non-root, read-only, no privileges, no ServiceAccount token, bounded resources."""

from __future__ import annotations

import pytest

from tests.helm.conftest import POSTGRES, SQLITE, Render, Values

MODES = {"postgres": POSTGRES, "sqlite": SQLITE}


@pytest.mark.parametrize("mode", MODES)
def test_the_pod_runs_as_uid_10001_never_root_with_the_runtime_default_seccomp_profile(
    render: Render, mode: str
) -> None:
    context = render(MODES[mode]).pod["spec"]["securityContext"]
    assert context["runAsNonRoot"] is True
    assert (context["runAsUser"], context["runAsGroup"], context["fsGroup"]) == (10001, 10001, 10001)
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}


@pytest.mark.parametrize("mode", MODES)
def test_every_container_including_the_migration_is_read_only_unprivileged_and_without_capabilities(
    render: Render, mode: str
) -> None:
    containers = render(MODES[mode]).containers
    assert [container["name"] for container in containers] == ["migrate", "stairway"]
    for container in containers:
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True, container["name"]
        assert context["allowPrivilegeEscalation"] is False, container["name"]
        assert context["capabilities"] == {"drop": ["ALL"]}, container["name"]


def test_no_service_account_token_reaches_the_pods(render: Render) -> None:
    manifests = render(POSTGRES)
    assert manifests.pod["spec"]["automountServiceAccountToken"] is False
    account = manifests.one("ServiceAccount")
    assert account["automountServiceAccountToken"] is False
    assert manifests.pod["spec"]["serviceAccountName"] == account["metadata"]["name"]


@pytest.mark.parametrize(
    ("values", "name"),
    [
        ({"serviceAccount": {"create": True, "name": "portal-reader"}}, "portal-reader"),
        ({"serviceAccount": {"create": False, "name": "shared"}}, "shared"),
        ({"serviceAccount": {"create": False}}, "default"),
    ],
)
def test_the_pods_run_as_the_named_service_account(render: Render, values: Values, name: str) -> None:
    manifests = render({**POSTGRES, **values})
    assert manifests.pod["spec"]["serviceAccountName"] == name
    assert [account["metadata"]["name"] for account in manifests.of("ServiceAccount")] == (
        [name] if values["serviceAccount"]["create"] else []
    )


def test_every_container_requests_cpu_and_memory_and_is_limited_in_memory(render: Render) -> None:
    for container in render(POSTGRES).containers:
        resources = container["resources"]
        assert set(resources["requests"]) == {"cpu", "memory"}, container["name"]
        assert "memory" in resources["limits"], container["name"]


def test_the_only_writable_places_are_an_emptydir_at_tmp_and_the_sqlite_volume(render: Render) -> None:
    for values, writable in ((POSTGRES, {"/tmp"}), (SQLITE, {"/tmp", "/var/lib/stairway"})):
        manifests = render(values)
        volumes = {volume["name"]: volume for volume in manifests.pod["spec"]["volumes"]}
        assert volumes["tmp"]["emptyDir"] == {"sizeLimit": "2Gi"}
        for container in manifests.containers:
            mounts = container["volumeMounts"]
            assert {mount["mountPath"] for mount in mounts if not mount.get("readOnly")} == writable


def test_the_tmp_size_limit_is_configurable(render: Render) -> None:
    volumes = render({**POSTGRES, "tmpSizeLimit": "500Mi"}).pod["spec"]["volumes"]
    assert next(volume for volume in volumes if volume["name"] == "tmp")["emptyDir"] == {"sizeLimit": "500Mi"}
