"""The `dora.*` namespace of the fact document: a component's DORA keys over a window, as checks read them.

    {fact: dora.deploymentsPerWeek, op: gte, value: 1}               # over the default 90 days
    {fact: dora.leadTimeHours, op: lte, value: 24, maxAge: P30D}     # over the last 30 days
    {fact: dora.band, op: in, value: [ELITE, HIGH]}

A check's `maxAge` on a `dora.*` fact is the window the keys are computed over (whole days); without
one, the default window. The names, and what each holds:

- `deployments`, `failures`: production deployments in the window, and those that failed, were a
  rollback or are linked to an incident;
- `deploymentsPerDay`, `deploymentsPerWeek`, `leadTimeHours`, `changeFailureRate` (0 to 1),
  `recoveryHours`: the keys;
- `band`: the overall band (the worst among the reported keys), and `bands.deploymentFrequency`,
  `bands.leadTime`, `bands.changeFailureRate`, `bands.recoveryTime`: each key's; a band is ELITE,
  HIGH, MEDIUM or LOW, under the configured profile.

What was not measured is absent, so a check on it is NOT_REPORTED, never failed: the whole namespace
for a component without delivery events in the window, a key without data (no change, no resolved
incident) and its band, and `band` when no key is reported.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection

from scorecards.dora import (
    BAND_FIELDS,
    DEFAULT_WINDOW_DAYS,
    NOT_REPORTED,
    DoraKeys,
    Profile,
    bands,
    dora_keys,
    overall_band,
)

BAND_NAMES = tuple(BAND_FIELDS)
NAMES = (
    "deployments",
    "failures",
    "deploymentsPerDay",
    "deploymentsPerWeek",
    "leadTimeHours",
    "changeFailureRate",
    "recoveryHours",
    "band",
    "bands",
)


def check_path(segments: Sequence[str]) -> None:
    """ValueError unless `segments` (after `dora`) name a DORA fact: ("leadTimeHours",), ("bands", "leadTime")."""
    known = f"use one of dora.{', dora.'.join(NAMES)}"
    if not segments or segments[0] not in NAMES:
        raise ValueError(f"{'dora.' + '.'.join(segments)!r} is not a DORA fact: {known}")
    if segments[0] == "bands":
        if len(segments) != 2 or segments[1] not in BAND_NAMES:
            raise ValueError(f"dora.bands has one band per key: dora.bands.{', dora.bands.'.join(BAND_NAMES)}")
    elif len(segments) > 1:
        raise ValueError(f"dora.{segments[0]} is a single value, not an object")


def window_days(max_age: timedelta | None) -> int:
    """The window a check's `maxAge` asks for, in days; ValueError unless it is whole days, at least one."""
    if max_age is None:
        return DEFAULT_WINDOW_DAYS
    if max_age < timedelta(days=1) or max_age % timedelta(days=1):
        raise ValueError("on a dora.* fact, maxAge is the window the keys are computed over: whole days, e.g. P30D")
    return max_age.days


def namespace(keys: DoraKeys, window: int, profile: Profile) -> dict[str, object]:
    """One component's `dora` object over a window of `window` days: the keys, and their bands under `profile`."""
    banded = bands(keys, profile)
    found: dict[str, object] = {
        "deployments": keys.deployments,
        "failures": keys.failures,
        "deploymentsPerDay": keys.deployments / window if keys.deployments else None,
        "deploymentsPerWeek": keys.deployments_per_week,
        "leadTimeHours": keys.lead_time_hours,
        "changeFailureRate": keys.change_failure_rate,
        "recoveryHours": keys.recovery_hours,
        "band": overall_band(banded).value,
        "bands": {name: band.value for name, band in banded.by_name().items() if band is not NOT_REPORTED},
    }
    return {name: value for name, value in found.items() if value is not None and value != NOT_REPORTED.value}


def namespaces(
    connection: Connection, refs: Sequence[str] | None, windows: Collection[int], now: datetime, profile: Profile
) -> dict[str, dict[int, Mapping[str, object]]]:
    """Each entity's `dora` object per window asked for (`refs`, or every entity with events), by ref;
    an entity without events in a window has none for it."""
    found: dict[str, dict[int, Mapping[str, object]]] = {}
    for window in sorted(set(windows)):
        for ref, keys in dora_keys(connection, refs, now, window).items():
            found.setdefault(ref, {})[window] = namespace(keys, window, profile)
    return found
