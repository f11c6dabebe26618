"""The image: which one the chart runs, and that the Dockerfile builds what the chart expects of it."""

from __future__ import annotations

import json
import shlex

import helm_python
import pytest

from tests.conftest import REPO
from tests.helm.conftest import POSTGRES, Render, Values

DIGEST = "sha256:" + "0123456789abcdef" * 4


def dockerfile_final_stage() -> list[tuple[str, str]]:
    """The final stage's instructions (name, arguments), continuation lines joined, comments left out."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = "\n".join(lines).replace("\\\n", " ")
    instructions = [tuple(line.split(None, 1)) for line in joined.splitlines() if line.strip()]
    last_from = max(index for index, (name, _) in enumerate(instructions) if name.upper() == "FROM")
    return [(name.upper(), " ".join(arguments.split())) for name, arguments in instructions[last_from:]]


def instruction(name: str) -> str:
    """The arguments of the final stage's last instruction of that name."""
    found = [arguments for kind, arguments in dockerfile_final_stage() if kind == name]
    assert found, f"the Dockerfile's final stage has no {name}"
    return found[-1]


def image_env() -> dict[str, str]:
    """The environment the image sets."""
    pairs = [shlex.split(arguments) for name, arguments in dockerfile_final_stage() if name == "ENV"]
    return dict(pair.split("=", 1) for group in pairs for pair in group)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ({}, "ghcr.io/stairway/stairway:0.1.0"),  # the chart's appVersion
        ({"tag": "0.2.0"}, "ghcr.io/stairway/stairway:0.2.0"),
        ({"repository": "registry.local/portal/stairway", "tag": "edge"}, "registry.local/portal/stairway:edge"),
        ({"tag": "0.2.0", "digest": DIGEST}, f"ghcr.io/stairway/stairway@{DIGEST}"),
    ],
    ids=["app-version", "tag", "repository", "digest-wins"],
)
def test_both_containers_run_the_chosen_image(render: Render, image: Values, expected: str) -> None:
    manifests = render({**POSTGRES, "image": image})
    assert [container["image"] for container in manifests.containers] == [expected, expected]


def test_a_malformed_digest_is_refused(render: Render) -> None:
    with pytest.raises(helm_python.HelmValuesError, match="/image/digest"):
        render({**POSTGRES, "image": {"digest": "0123abcd"}})


def test_the_pull_policy_is_passed_on(render: Render) -> None:
    manifests = render({**POSTGRES, "image": {"pullPolicy": "Always"}})
    assert [container["imagePullPolicy"] for container in manifests.containers] == ["Always", "Always"]


def test_the_image_runs_as_the_user_the_chart_requires(render: Render) -> None:
    context = render(POSTGRES).pod["spec"]["securityContext"]
    assert instruction("USER") == f"{context['runAsUser']}:{context['runAsGroup']}"


def test_the_image_serves_on_the_port_the_chart_probes(render: Render) -> None:
    server = render(POSTGRES).container("stairway")
    (port,) = (port["containerPort"] for port in server["ports"] if port["name"] == "http")
    assert instruction("EXPOSE") == str(port)
    assert json.loads(instruction("ENTRYPOINT")) == ["stairway"]
    command = json.loads(instruction("CMD"))
    # The chart runs what the image runs by default, but leaves the migration to its init container.
    assert [*command, "--no-migrate"] == server["args"]
    assert command[command.index("--port") + 1] == str(port)


def test_the_image_carries_the_example_scorecards_where_its_environment_points() -> None:
    copies = [shlex.split(arguments) for name, arguments in dockerfile_final_stage() if name == "COPY"]
    assert ["examples/scorecards", image_env()["STAIRWAY_SCORECARDS"]] in copies


def test_the_image_logs_json_and_writes_no_bytecode() -> None:
    env = image_env()
    assert (env["STAIRWAY_LOG_FORMAT"], env["PYTHONDONTWRITEBYTECODE"], env["PYTHONUNBUFFERED"]) == ("json", "1", "1")


def test_the_final_stage_adds_only_git_and_ca_certificates_without_package_lists() -> None:
    (run,) = (arguments for name, arguments in dockerfile_final_stage() if name == "RUN")
    commands = [command.strip() for command in run.split("&&")]
    assert [command for command in commands if command.startswith("apt-get install")] == [
        "apt-get install --yes --no-install-recommends git ca-certificates"
    ]
    assert "rm -rf /var/lib/apt/lists/*" in commands
    assert instruction("FROM") == "python:3.11-slim"
