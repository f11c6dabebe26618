"""stairway.yaml: what it configures, its defaults, and clear errors for what it cannot use."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.queries import EntityFilter
from service.config import Config, ConfigError, config_path, load_config, parse_config
from tests.conftest import REPO


def test_no_file_means_defaults_for_everything() -> None:
    config = load_config(None)
    assert config == Config()
    assert (config.golden_paths.tags, config.golden_paths.templates) == ((), ())  # every Template
    assert dict(config.adoption.trend_scopes) == {"components": EntityFilter()}
    assert config.adoption.new_workload_days == 90
    assert config.maturity.threshold("inventory") == 70.0


def test_the_example_configuration_loads() -> None:
    config = load_config(str(REPO / "examples" / "stairway.yaml"))
    assert config.golden_paths.tags == ("golden-path",)
    assert set(config.adoption.trend_scopes) == {"components", "production"}
    assert config.adoption.trend_scopes["production"] == EntityFilter(kind=("Component",), lifecycle=("production",))
    assert config.maturity.scorecard == "ai-platform-maturity"
    assert config.maturity.platform_teams == ("group:default/platform-team",)


def test_every_section_is_read() -> None:
    config = parse_config(
        {
            "goldenPaths": {"tags": "golden-path", "templates": ["python-service"], "annotations": ["acme.io/t"]},
            "adoption": {"newWorkloadDays": 30, "trendScopes": {"ml": {"kind": "Component", "type": ["model"]}}},
            "organizationMaturity": {
                "scorecard": "acme",
                "platformTeams": ["platform"],
                "governanceChecks": ["risk"],
                "retrainingChecks": "retrain",
                "thresholds": {"inventory": 50, "golden-paths-in-use": 3},
            },
        }
    )
    assert config.golden_paths.tags == ("golden-path",)
    assert config.golden_paths.templates == ("template:default/python-service",)
    assert config.golden_paths.annotations == ("acme.io/t",)
    assert config.adoption.trend_scopes == {"ml": EntityFilter(kind=("Component",), type=("model",))}
    assert config.adoption.new_workload_days == config.maturity.new_workload_days == 30
    assert config.maturity.platform_teams == ("group:default/platform",)
    assert (config.maturity.governance_checks, config.maturity.retraining_checks) == (("risk",), ("retrain",))
    assert (config.maturity.threshold("inventory"), config.maturity.threshold("golden-paths-in-use")) == (50.0, 3.0)
    assert config.maturity.threshold("self-improving") == 50.0  # the model's default


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"goldenPath": {}},
            "top level: unknown key 'goldenPath' (known: goldenPaths, adoption, organizationMaturity, sources, "
            "cacheDir, webhooks, auth, graphql, dora)",
        ),
        ({"goldenPaths": {"tag": ["x"]}}, "goldenPaths: unknown key 'tag'"),
        ({"dora": {"profile": "nope"}}, "dora.profile: no profile named 'nope' (known: dora-2024)"),
        ({"dora": {"profiles": {"mine": {"leadTime": {}}}}}, "dora.profiles.mine: "),
        ({"auth": {"mode": "open"}}, "auth.mode must be one of required, none, not 'open'"),
        ({"auth": {"tokens": [{"name": "ci", "tokenEnv": "CI_TOKEN", "scopes": ["write"]}]}}, "unknown scope 'write'"),
        ({"goldenPaths": {"tags": [1]}}, "goldenPaths.tags must be a list of strings"),
        ({"goldenPaths": {"templates": ["template:"]}}, "goldenPaths.templates: Entity reference"),
        (
            {"adoption": {"newWorkloadDays": 0}},
            "adoption.newWorkloadDays must be a whole number of days from 1 to 3660",
        ),
        ({"adoption": {"newWorkloadDays": 1_000_000}}, "adoption.newWorkloadDays must be a whole number of days"),
        ({"adoption": {"trendScopes": {}}}, "adoption.trendScopes must name at least one scope"),
        ({"adoption": {"trendScopes": {"x": {"colour": "red"}}}}, "adoption.trendScopes.x: unknown key 'colour'"),
        ({"organizationMaturity": {"thresholds": {"inventry": 1}}}, "unknown key 'inventry'"),
        ({"organizationMaturity": {"thresholds": {"inventory": "high"}}}, "thresholds.inventory must be a number"),
        (
            {"organizationMaturity": {"thresholds": {"inventory": 200}}},
            "thresholds.inventory is a percentage: 0 to 100",
        ),
        ({"organizationMaturity": {"thresholds": {"golden-paths-in-use": 2.5}}}, "is a count: a whole number"),
        ({"organizationMaturity": []}, "organizationMaturity must be a mapping"),
        ([], "top level must be a mapping"),
    ],
)
def test_what_cannot_be_used_is_named(document: object, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(document)
    assert message in str(raised.value)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "stairway.yaml"
    broken.write_text("goldenPaths: [unclosed\n")
    with pytest.raises(ConfigError, match=r"stairway\.yaml: not valid YAML"):
        load_config(str(broken))
    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read the configuration file"):
        load_config(str(tmp_path / "missing.yaml"))
    broken.write_text("adoption:\n  newWorkloadDays: -1\n")
    with pytest.raises(ConfigError, match=r"^.*stairway\.yaml: adoption\.newWorkloadDays"):
        load_config(str(broken))


def test_the_path_comes_from_the_option_else_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAIRWAY_CONFIG", "/etc/stairway/stairway.yaml")
    assert config_path("given.yaml") == "given.yaml"
    assert config_path(None) == "/etc/stairway/stairway.yaml"
    monkeypatch.delenv("STAIRWAY_CONFIG")
    assert config_path(None) is None
