"""DORA's four keys from stored delivery events, per component and pooled per owner, system and domain,
in real SQLite and PostgreSQL, with answers counted by hand; and the bands of profile dora-2024 and of
profiles from configuration.

The catalogue: components alpha (team-a, system shop), beta (team-a, lab), gamma (team-b, attic),
delta (team-b, lab) and quiet (team-b, shop; no events). Systems shop and lab are in domain commerce,
attic in none. NOW is fixed; the 90-day window is (NOW - 90 days, NOW].

alpha, production, in the window (lead times in hours from each commit):

| deploy | finished  | status  | rollback | changes             | incidents | failure? |
|--------|-----------|---------|----------|---------------------|-----------|----------|
| a1     | NOW - 10d | success |          | commits 1 h, 3 h    |           | no       |
| a2     | NOW - 9d  | failure |          | (commit 5 h: failed)| i3        | yes, once|
| a3     | NOW - 8d  | success | yes      | leadTimeSeconds 2 h |           | yes      |
| a4     | NOW - 7d  | success |          | commits 4 h, 10 h   | i1, i5    | yes      |
| a5     | NOW - 6d  | success |          | leadTimeSeconds 7 h |           | no       |
| a6     | NOW       | success |          | none                |           | no       |

Out of it: a0 at exactly NOW - 90d (success, a commit of 100 h), and a staging deploy (failure, 50 h).
So 6 deployments, 3 failures (0.5), 6 x 7 / 90 per week, changes 1 2 3 4 7 10 h: median 3.5 h (even).
alpha's incidents: i1 opened NOW - 5d resolved after 2 h, i2 (NOW - 20d, 6 h), i3 (NOW - 2d, not
resolved), i4 at exactly NOW - 90d (1 h, out), i5 at exactly NOW resolved at once (0 h, in):
recovery median of 0 2 6 h = 2 h (odd).

beta: b1 success with commits 2 h and 30 h, b2 success with leadTimeSeconds 5 h: median of 2 5 30 = 5 h.
gamma: g1 failure (commit 1 h, not a change); incident 3 h. delta: no deploys, an incident of 1 h.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Connection, Engine

from catalog.ingest import ingest
from catalog.queries import EntityFilter
from scorecards.delivery import take_deployments
from scorecards.dora import (
    DEFAULT_PROFILE,
    DORA_2024,
    ELITE,
    HIGH,
    LOW,
    MEDIUM,
    NOT_REPORTED,
    PROFILES,
    DoraBands,
    DoraKeys,
    Nearest,
    Thresholds,
    bands,
    dora_keys,
    dora_rollup,
    overall_band,
    parse_profile,
)
from scorecards.tables import DEPLOYMENT_CHANGES, DEPLOYMENTS, INCIDENTS

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
START = NOW - timedelta(days=90)
HOUR = timedelta(hours=1)
ALPHA, BETA, GAMMA, DELTA, QUIET = (f"component:default/{n}" for n in ("alpha", "beta", "gamma", "delta", "quiet"))


def _entity(kind: str, name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def _component(name: str, owner: str, system: str) -> dict[str, Any]:
    return _entity("Component", name, type="service", lifecycle="production", owner=owner, system=system)


CATALOGUE = [
    _entity("Group", "team-a", type="team", children=[]),
    _entity("Group", "team-b", type="team", children=[]),
    _entity("Domain", "commerce", owner="team-a"),
    _entity("System", "shop", owner="team-a", domain="commerce"),
    _entity("System", "lab", owner="team-a", domain="commerce"),
    _entity("System", "attic", owner="team-b"),
    _component("alpha", "team-a", "shop"),
    _component("beta", "team-a", "lab"),
    _component("gamma", "team-b", "attic"),
    _component("delta", "team-b", "lab"),
    _component("quiet", "team-b", "shop"),
]


def deploy(
    connection: Connection,
    id_: str,
    ref: str,
    finished: datetime,
    status: str = "success",
    *,
    commits: tuple[float, ...] = (),
    lead_hours: float | None = None,
    rollback: bool = False,
    environment: str = "production",
) -> None:
    """A deployment, with a commit made `hours` before it finished for each of `commits`, stored as
    take_deployments stores it: each change with the lead time it counts with (none when it failed)."""
    connection.execute(
        sa.insert(DEPLOYMENTS).values(
            id=id_,
            entity_ref=ref,
            environment=environment,
            finished_at=finished,
            status=status,
            rollback=rollback,
            lead_time_seconds=None if lead_hours is None else lead_hours * 3600,
            content_hash="-",
            received_at=NOW,
        )
    )
    shipped = status == "success"
    changes = [(f"{index:07x}", finished - hours * HOUR, hours) for index, hours in enumerate(commits)]
    if lead_hours is not None:
        changes.append((None, None, lead_hours))
    for position, (sha, committed_at, hours) in enumerate(changes):
        row = {
            "deployment_id": id_,
            "position": position,
            "sha": sha,
            "committed_at": committed_at,
            "entity_ref": ref,
            "environment": environment,
            "finished_at": finished,
            "lead_seconds": hours * 3600 if shipped else None,
        }
        connection.execute(sa.insert(DEPLOYMENT_CHANGES).values(**row))


def incident(
    connection: Connection,
    id_: str,
    ref: str,
    opened: datetime,
    hours: float | None,
    deployment: str | None = None,
) -> None:
    """An incident resolved `hours` after it opened (None: not resolved)."""
    resolved = None if hours is None else opened + hours * HOUR
    connection.execute(
        sa.insert(INCIDENTS).values(
            id=id_,
            entity_ref=ref,
            opened_at=opened,
            resolved_at=resolved,
            deployment_id=deployment,
            content_hash="-",
            received_at=NOW,
        )
    )


def days(n: float) -> datetime:
    return NOW - timedelta(days=n)


@pytest.fixture
def catalogue(engine: Engine, tmp_path: Path) -> Engine:
    """The catalogue of the module's docstring, without events."""
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump_all(CATALOGUE, sort_keys=False), encoding="utf-8")
    assert ingest(engine, [str(path)], workers=0).errors == 0
    return engine


@pytest.fixture
def delivery(catalogue: Engine) -> Engine:
    """The catalogue and the events of the module's docstring."""
    engine = catalogue
    with engine.begin() as c:
        deploy(c, "a0", ALPHA, START, commits=(100,))
        deploy(c, "a1", ALPHA, days(10), commits=(1, 3))
        deploy(c, "a2", ALPHA, days(9), "failure", commits=(5,))
        deploy(c, "a3", ALPHA, days(8), lead_hours=2, rollback=True)
        deploy(c, "a4", ALPHA, days(7), commits=(4, 10))
        deploy(c, "a5", ALPHA, days(6), lead_hours=7)
        deploy(c, "a6", ALPHA, NOW)
        deploy(c, "a-staging", ALPHA, days(1), "failure", commits=(50,), environment="staging")
        incident(c, "i1", ALPHA, days(5), 2, deployment="a4")
        incident(c, "i2", ALPHA, days(20), 6)
        incident(c, "i3", ALPHA, days(2), None, deployment="a2")
        incident(c, "i4", ALPHA, START, 1)
        incident(c, "i5", ALPHA, NOW, 0, deployment="a4")
        deploy(c, "b1", BETA, days(3), commits=(2, 30))
        deploy(c, "b2", BETA, days(4), lead_hours=5)
        deploy(c, "g1", GAMMA, days(1), "failure", commits=(1,))
        incident(c, "g-i1", GAMMA, days(1), 3)
        incident(c, "d-i1", DELTA, days(10), 1)
    return engine


@pytest.fixture
def connection(delivery: Engine) -> Iterator[Connection]:
    with delivery.connect() as connection:
        yield connection


def per_week(deployments: int, window: int = 90) -> float:
    return deployments * 7 / window


ALPHA_KEYS = DoraKeys(
    deployments=6,
    failures=3,
    deployments_per_week=per_week(6),
    lead_time_hours=3.5,
    change_failure_rate=0.5,
    recovery_hours=2.0,
)


# The keys of one component


def test_every_key_of_a_crafted_component(connection: Connection) -> None:
    assert dora_keys(connection, [ALPHA], NOW)[ALPHA] == pytest.approx(ALPHA_KEYS)


def test_every_entity_with_events_and_nothing_for_those_without(connection: Connection) -> None:
    found = dora_keys(connection, None, NOW)
    assert sorted(found) == [ALPHA, BETA, DELTA, GAMMA]  # quiet has no events
    assert found[BETA] == DoraKeys(2, 0, per_week(2), 5.0, 0.0, None)  # odd number of changes: the middle one
    assert found[GAMMA] == DoraKeys(1, 1, per_week(1), None, 1.0, 3.0)  # a failed deploy ships no change
    assert found[DELTA] == DoraKeys(0, 0, None, None, None, 1.0)  # incidents alone: no deployment keys


def test_only_the_refs_asked_for(connection: Connection) -> None:
    found = dora_keys(connection, [ALPHA, QUIET, "component:default/nowhere"], NOW)
    assert list(found) == [ALPHA]
    assert dora_keys(connection, [], NOW) == {}


def test_window_edges_an_event_at_the_start_is_out_at_now_is_in(connection: Connection) -> None:
    # At NOW: a6 and i5 (at NOW) are in, a0 and i4 (at NOW - 90 days) out, as ALPHA_KEYS counts.
    # The window one second earlier: a6 and i5 are not in yet, a0 and i4 are one second inside: deploys
    # a0-a5, changes 1 2 3 4 7 10 100 h (median 4 h), incidents 1 2 6 h (median 2 h).
    earlier = dora_keys(connection, [ALPHA], NOW - timedelta(seconds=1))[ALPHA]
    assert earlier == pytest.approx(DoraKeys(6, 3, per_week(6), 4.0, 3 / 6, 2.0))
    # A window that ends at a0's finish: a0 alone, with its 100 h change, and i4, opened at that moment (1 h).
    assert dora_keys(connection, [ALPHA], START)[ALPHA] == DoraKeys(1, 0, per_week(1), 100.0, 0.0, 1.0)


def test_an_event_exactly_window_days_back_joins_when_the_window_grows(connection: Connection) -> None:
    keys = dora_keys(connection, [ALPHA], NOW, window_days=91)[ALPHA]
    # a0 in: 7 deploys, 3 failures; changes 1 2 3 4 7 10 100: median 4 h; i4 in: 0 1 2 6 h: median 1.5 h.
    assert keys == pytest.approx(DoraKeys(7, 3, per_week(7, 91), 4.0, 3 / 7, 1.5))


def test_a_short_window(connection: Connection) -> None:
    keys = dora_keys(connection, [ALPHA], NOW, window_days=7)[ALPHA]
    # a4 exactly 7 days back is out: a5 (7 h) and a6; incidents i1 (2 h), i3 (unresolved), i5 (0 h).
    assert keys == DoraKeys(2, 0, per_week(2, 7), 7.0, 0.0, 1.0)


def test_now_in_any_timezone_is_the_same_moment(connection: Connection) -> None:
    tokyo = timezone(timedelta(hours=9))
    assert dora_keys(connection, [ALPHA], NOW.astimezone(tokyo)) == dora_keys(connection, [ALPHA], NOW)
    assert dora_keys(connection, [ALPHA], NOW.replace(tzinfo=None)) == dora_keys(connection, [ALPHA], NOW)


def test_another_environment_is_counted_only_when_asked_for(connection: Connection) -> None:
    staging = dora_keys(connection, None, NOW, environment="staging")
    # The staging deploy failed; incidents belong to no environment and count as always.
    assert staging[ALPHA] == DoraKeys(1, 1, per_week(1), None, 1.0, 2.0)
    assert staging[GAMMA] == DoraKeys(0, 0, None, None, None, 3.0)
    assert BETA not in staging  # no staging deploys, no incidents


def test_a_deploy_linked_to_several_incidents_and_failed_too_counts_once(engine: Engine) -> None:
    with engine.begin() as c:
        deploy(c, "x1", ALPHA, days(1), "failure", rollback=True)
        incident(c, "x-i1", ALPHA, days(1), 1, deployment="x1")
        incident(c, "x-i2", ALPHA, days(1), 1, deployment="x1")
        deploy(c, "x2", ALPHA, days(1))
    with engine.connect() as c:
        keys = dora_keys(c, [ALPHA], NOW)[ALPHA]
    assert (keys.deployments, keys.failures, keys.change_failure_rate, keys.recovery_hours) == (2, 1, 0.5, 1.0)


def test_lead_time_keeps_sub_second_precision_to_the_millisecond(catalogue: Engine) -> None:
    # Reported as a CI system would: lead times of 30 min 0.25 s and 1 h, so a median of 45 min 0.125 s.
    m1, m2 = NOW - timedelta(milliseconds=250), NOW
    committed = (m1 - timedelta(minutes=30, milliseconds=250), m2 - HOUR)
    bodies = [
        {"id": id_, "entityRef": ALPHA, "finishedAt": finished.isoformat(), "status": "success", "commits": [commit]}
        for id_, finished, commit in (
            ("m1", m1, {"sha": "a000001", "committedAt": committed[0].isoformat()}),
            ("m2", m2, {"sha": "a000002", "committedAt": committed[1].isoformat()}),
        )
    ]
    with catalogue.begin() as c:
        take_deployments(c, bodies, NOW)
    with catalogue.connect() as c:
        keys = dora_keys(c, [ALPHA], NOW)[ALPHA]
    assert keys.lead_time_hours == pytest.approx(2700.125 / 3600, abs=1e-9)


def test_no_events_at_all(engine: Engine) -> None:
    with engine.connect() as c:
        assert dora_keys(c, None, NOW) == {}
        assert dora_rollup(c, "owner", NOW) == {}


def test_nonsense_arguments_are_refused(connection: Connection) -> None:
    with pytest.raises(ValueError, match="window_days"):
        dora_keys(connection, None, NOW, window_days=0)
    with pytest.raises(ValueError, match="group_by"):
        dora_rollup(connection, "team", NOW)


# Rollups: pooled, not a median of medians


def test_rollup_by_owner_pools_the_changes_and_incidents(connection: Connection) -> None:
    found = dora_rollup(connection, "owner", NOW)
    assert list(found) == ["group:default/team-a", "group:default/team-b"]
    # team-a: alpha and beta. Changes 1 2 2 3 4 5 7 10 30 h: median 4 h (the medians' median would be 4.25).
    assert found["group:default/team-a"] == pytest.approx(DoraKeys(8, 3, per_week(8), 4.0, 3 / 8, 2.0))
    # team-b: gamma and delta (quiet has nothing). Recovery 3 and 1 h: 2 h.
    assert found["group:default/team-b"] == DoraKeys(1, 1, per_week(1), None, 1.0, 2.0)


def test_rollup_by_system_and_by_domain(connection: Connection) -> None:
    by_system = dora_rollup(connection, "SYSTEM", NOW)  # any case, as RollupGroup spells it
    assert list(by_system) == ["system:default/attic", "system:default/lab", "system:default/shop"]
    assert by_system["system:default/shop"] == pytest.approx(ALPHA_KEYS)
    assert by_system["system:default/lab"] == DoraKeys(2, 0, per_week(2), 5.0, 0.0, 1.0)  # beta and delta
    assert by_system["system:default/attic"] == DoraKeys(1, 1, per_week(1), None, 1.0, 3.0)
    # commerce: shop and lab (attic is in no domain). Incidents 0 1 2 6 h: 1.5 h.
    assert dora_rollup(connection, "domain", NOW) == pytest.approx(
        {"domain:default/commerce": DoraKeys(8, 3, per_week(8), 4.0, 3 / 8, 1.5)}
    )


def test_rollup_of_some_entities_only(connection: Connection) -> None:
    assert dora_rollup(connection, "owner", NOW, refs=[BETA, GAMMA]) == {
        "group:default/team-a": DoraKeys(2, 0, per_week(2), 5.0, 0.0, None),
        "group:default/team-b": DoraKeys(1, 1, per_week(1), None, 1.0, 3.0),
    }
    by_filter = dora_rollup(connection, "domain", NOW, entity_filter=EntityFilter(system="lab"))
    assert by_filter == {"domain:default/commerce": DoraKeys(2, 0, per_week(2), 5.0, 0.0, 1.0)}


# Bands of dora-2024


def band_of(**keys: float) -> DoraBands:
    return bands(DoraKeys(**keys), DORA_2024)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("per_week_value", "band"),
    [(70, ELITE), (7, ELITE), (6.99, HIGH), (1, HIGH), (0.99, MEDIUM), (12 / 52, MEDIUM), (0.2307, LOW), (0.01, LOW)],
)
def test_deployment_frequency_bands(per_week_value: float, band: str) -> None:
    assert band_of(deployments_per_week=per_week_value).deployment_frequency == band


@pytest.mark.parametrize(
    ("hours", "band"),
    [(0, ELITE), (23.99, ELITE), (24, HIGH), (167.99, HIGH), (168, MEDIUM), (719.99, MEDIUM), (720, LOW), (5000, LOW)],
)
def test_lead_time_bands(hours: float, band: str) -> None:
    assert band_of(lead_time_hours=hours).lead_time == band


@pytest.mark.parametrize(
    ("hours", "band"),
    [(0, ELITE), (0.99, ELITE), (1, HIGH), (23.99, HIGH), (24, MEDIUM), (167.99, MEDIUM), (168, LOW), (720, LOW)],
)
def test_recovery_time_bands(hours: float, band: str) -> None:
    assert band_of(recovery_hours=hours).recovery_time == band


@pytest.mark.parametrize(
    ("rate", "band"),
    [
        (0.0, ELITE),
        (0.05, ELITE),
        (3 / 40, ELITE),  # 7.5%: halfway between elite 5% and medium 10% goes to elite
        (0.0751, MEDIUM),
        (0.10, MEDIUM),
        (0.1499, MEDIUM),
        (3 / 20, HIGH),  # 15%: halfway between medium 10% and high 20% goes to high
        (0.20, HIGH),
        (3 / 10, HIGH),  # 30%: halfway between high 20% and low 40% goes to high
        (0.3001, LOW),
        (0.40, LOW),
        (1.0, LOW),
    ],
)
def test_change_failure_rate_takes_the_nearest_cluster(rate: float, band: str) -> None:
    assert band_of(change_failure_rate=rate).change_failure_rate == band


def test_a_key_without_data_is_not_reported_never_low() -> None:
    assert bands(DoraKeys(), DORA_2024) == DoraBands(NOT_REPORTED, NOT_REPORTED, NOT_REPORTED, NOT_REPORTED)
    assert overall_band(bands(DoraKeys(), DORA_2024)) == NOT_REPORTED


def test_bands_of_stored_components(connection: Connection) -> None:
    found = dora_keys(connection, None, NOW)
    # alpha: 0.47 a week (medium), 3.5 h (elite), 50% (low), 2 h (high).
    assert bands(found[ALPHA], DORA_2024) == DoraBands(MEDIUM, ELITE, LOW, HIGH)
    assert overall_band(bands(found[ALPHA], DORA_2024)) == LOW
    # delta has only an incident of 1 h: recovery high, the rest not reported, so high overall.
    assert bands(found[DELTA], DORA_2024) == DoraBands(NOT_REPORTED, NOT_REPORTED, NOT_REPORTED, HIGH)
    assert overall_band(bands(found[DELTA], DORA_2024)) == HIGH


def test_counted_rates_land_exactly_on_the_boundaries(engine: Engine) -> None:
    """3 deploys in 91 days is exactly monthly; 3 failures in 20 deploys exactly 15%."""
    with engine.begin() as c:
        for index in range(3):
            deploy(c, f"m{index}", ALPHA, days(index + 1))
        for index in range(20):
            deploy(c, f"f{index}", BETA, days(index + 1), "failure" if index < 3 else "success")
    with engine.connect() as c:
        found = dora_keys(c, None, NOW, window_days=91)
    assert found[ALPHA].deployments_per_week == 12 / 52
    assert bands(found[ALPHA], DORA_2024).deployment_frequency == MEDIUM
    assert found[BETA].change_failure_rate == 0.15
    assert bands(found[BETA], DORA_2024).change_failure_rate == HIGH


@pytest.mark.parametrize(
    ("given", "overall"),
    [
        (DoraBands(ELITE, ELITE, ELITE, ELITE), ELITE),
        (DoraBands(ELITE, HIGH, ELITE, NOT_REPORTED), HIGH),
        (DoraBands(MEDIUM, ELITE, HIGH, ELITE), MEDIUM),
        (DoraBands(NOT_REPORTED, NOT_REPORTED, LOW, ELITE), LOW),
        (DoraBands(NOT_REPORTED, NOT_REPORTED, NOT_REPORTED, NOT_REPORTED), NOT_REPORTED),
    ],
)
def test_overall_band_is_the_worst_reported(given: DoraBands, overall: str) -> None:
    assert overall_band(given) == overall


def test_dora_2024_is_the_default_profile() -> None:
    assert PROFILES == {"dora-2024": DORA_2024}
    assert DEFAULT_PROFILE == "dora-2024" == DORA_2024.name


# Profiles from configuration

STRICT = {
    "deploymentFrequency": {"thresholds": {"elite": 14, "high": 7, "medium": 1}},
    "changeFailureRate": {"thresholds": {"elite": 0.02, "high": 0.05, "medium": 0.1}},
    "recoveryTime": {"nearest": {"elite": 0.5, "high": 4, "medium": 12, "low": 48}},
}


def test_a_profile_from_configuration() -> None:
    profile = parse_profile("strict", STRICT)
    assert profile.name == "strict"
    assert profile.deployment_frequency == Thresholds(14, 7, 1, higher_is_better=True)
    assert profile.recovery_time == Nearest(0.5, 4, 12, 48)
    assert profile.lead_time == DORA_2024.lead_time  # left out: as in dora-2024
    keys = DoraKeys(60, 3, 7.0, 30.0, 0.05, 8.0)
    assert bands(keys, profile) == DoraBands(HIGH, HIGH, MEDIUM, HIGH)  # 8 h is 4 h from high and medium: high
    assert bands(keys, DORA_2024) == DoraBands(ELITE, HIGH, ELITE, HIGH)
    assert overall_band(bands(keys, profile)) == MEDIUM
    assert bands(DoraKeys(60, 3, 6.99, 30.0, 0.1, 30.0), profile) == DoraBands(MEDIUM, HIGH, LOW, MEDIUM)


def test_an_empty_profile_bands_as_dora_2024() -> None:
    profile = parse_profile("mine", {})
    assert (profile.name, profile.lead_time, profile.change_failure_rate) == (
        "mine",
        DORA_2024.lead_time,
        DORA_2024.change_failure_rate,
    )


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ([], r"^p must be a mapping"),
        ({"leadTimes": {}}, r"^p: unknown key 'leadTimes'"),
        ({"leadTime": 24}, r"^p\.leadTime must be a mapping"),
        ({"leadTime": {}}, r"^p\.leadTime must give either thresholds or nearest"),
        (
            {"leadTime": {"thresholds": {"elite": 1, "high": 2, "medium": 3}, "nearest": {}}},
            r"^p\.leadTime must give either",
        ),
        ({"leadTime": {"ranges": {}}}, r"^p\.leadTime: unknown key 'ranges'"),
        ({"leadTime": {"thresholds": {"elite": 1, "high": 2}}}, r"^p\.leadTime\.thresholds\.medium is missing"),
        (
            {"leadTime": {"thresholds": {"elite": 1, "high": 2, "medium": 3, "low": 4}}},
            r"^p\.leadTime\.thresholds: unknown key 'low'",
        ),
        (
            {"leadTime": {"thresholds": {"elite": "1d", "high": 2, "medium": 3}}},
            r"^p\.leadTime\.thresholds\.elite must be a number",
        ),
        (
            {"leadTime": {"thresholds": {"elite": True, "high": 2, "medium": 3}}},
            r"^p\.leadTime\.thresholds\.elite must be a number",
        ),
        (
            {"leadTime": {"thresholds": {"elite": 1, "high": float("nan"), "medium": 3}}},
            r"^p\.leadTime\.thresholds\.high must be a number",
        ),
        (
            {"recoveryTime": {"thresholds": {"elite": -1, "high": 2, "medium": 3}}},
            r"^p\.recoveryTime\.thresholds\.elite must be a number of at least 0",
        ),
        (
            {"leadTime": {"thresholds": {"elite": 24, "high": 24, "medium": 720}}},
            r"^p\.leadTime\.thresholds must strictly increase",
        ),
        (
            {"recoveryTime": {"thresholds": {"elite": 24, "high": 1, "medium": 168}}},
            r"^p\.recoveryTime\.thresholds must strictly increase",
        ),
        (
            {"deploymentFrequency": {"thresholds": {"elite": 1, "high": 7, "medium": 0.25}}},
            r"^p\.deploymentFrequency\.thresholds must strictly decrease",
        ),
        (
            {"changeFailureRate": {"nearest": {"elite": 5, "high": 20, "medium": 10, "low": 40}}},
            r"^p\.changeFailureRate\.nearest\.elite is a fraction: 0 to 1",
        ),
        (
            {"changeFailureRate": {"nearest": {"elite": 0.05, "high": 0.2, "medium": 0.1}}},
            r"^p\.changeFailureRate\.nearest\.low is missing",
        ),
        (
            {"changeFailureRate": {"nearest": {"elite": 0.05, "high": 0.2, "medium": 0.2, "low": 0.4}}},
            r"^p\.changeFailureRate\.nearest: two bands have the same value",
        ),
    ],
)
def test_nonsense_profiles_are_refused_naming_the_key(section: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_profile("p", section)


def test_a_profile_needs_a_name() -> None:
    with pytest.raises(ValueError, match="not a profile name"):
        parse_profile(" ", {})
