"""Golden-path adoption: how many components in a scope started on a golden path, overall, among
new workloads, by group, and day by day.

A component's creation time is its `backstage.io/createdAt` annotation, else when the catalogue
first saw it. New workloads are those created in [since, until). Counting is set-based SQL over
the entity rows; daily snapshots (taken by every ingest) keep the trend.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from catalog.driver import bound, insert_rows
from catalog.provenance import to_utc
from catalog.queries import IN_CHUNK, EntityFilter, count_where, system_domains
from catalog.refs import parse_ref
from catalog.tables import ENTITIES
from scorecards.golden_paths import GoldenPathSettings, on_golden_path, scope, scope_conditions
from scorecards.tables import ADOPTION_HISTORY

NONE_KEY = "(none)"  # the group of components without an owner, system, domain, template or version
ALL = "ALL"  # the group_by of a snapshot of a whole scope (its key is "")
DEFAULT_NEW_WORKLOAD_DAYS = 90


class AdoptionGroup(StrEnum):
    OWNER = "OWNER"
    SYSTEM = "SYSTEM"
    DOMAIN = "DOMAIN"
    TEMPLATE = "TEMPLATE"
    TEMPLATE_VERSION = "TEMPLATE_VERSION"  # key: "<template ref>@<version>", "@(none)" without one


@dataclass(frozen=True)
class AdoptionSettings:
    """Which scopes keep a daily trend (by name), and how many days back a workload counts as new."""

    trend_scopes: Mapping[str, EntityFilter] = field(default_factory=lambda: {"components": EntityFilter()})
    new_workload_days: int = DEFAULT_NEW_WORKLOAD_DAYS


@dataclass(frozen=True)
class Adoption:
    """Components counted, and how many of them started on a golden path."""

    total: int = 0
    on_golden_path: int = 0

    @property
    def percentage(self) -> float | None:
        """Share on a golden path, 0-100; None when there is nothing to count."""
        return 100.0 * self.on_golden_path / self.total if self.total else None


@dataclass(frozen=True)
class AdoptionBucket(Adoption):
    """One group's adoption; `ref` is the entity the key names (the template, for a version)."""

    key: str = NONE_KEY
    ref: str | None = None


@dataclass(frozen=True)
class AdoptionPoint:
    """A scope's (or one of its groups') adoption as of one day, with the new workloads of the
    `new_workload_days` before it."""

    day: date
    overall: Adoption
    new: Adoption


def _created() -> sa.ColumnElement[datetime]:
    return sa.func.coalesce(ENTITIES.c.created_at, ENTITIES.c.first_seen_at)


_GROUP_COLUMNS: dict[AdoptionGroup, tuple[sa.Column[str | None], ...]] = {
    AdoptionGroup.OWNER: (ENTITIES.c.owner_ref,),
    AdoptionGroup.SYSTEM: (ENTITIES.c.system_ref,),
    AdoptionGroup.TEMPLATE: (ENTITIES.c.template_ref,),
    AdoptionGroup.TEMPLATE_VERSION: (ENTITIES.c.template_ref, ENTITIES.c.template_version),
}


def _bucket_key(group_by: AdoptionGroup, values: tuple[str | None, ...]) -> tuple[str, str | None]:
    """(key, ref of the entity it names) of a group's column values."""
    ref = values[0]
    if group_by is AdoptionGroup.TEMPLATE_VERSION:
        return (f"{ref}@{values[1] or NONE_KEY}" if ref else NONE_KEY), ref
    return (ref or NONE_KEY), ref


Counts = tuple[str, str | None, Adoption, Adoption]  # key, ref, adoption, adoption among the new


def _counts(
    connection: Connection,
    settings: GoldenPathSettings,
    conditions: list[sa.ColumnElement[bool]],
    group_by: AdoptionGroup | None,
    new_window: tuple[datetime, datetime] | None = None,
) -> list[Counts]:
    """(key, ref, adoption, adoption among those created in `new_window` [start, end)) per group.

    One aggregate over the entity rows (which ix_entities_adoption covers); domains are their
    systems' counts added up, which saves joining every component to the relations.
    """
    if group_by is AdoptionGroup.DOMAIN:
        return _by_domain(connection, _counts(connection, settings, conditions, AdoptionGroup.SYSTEM, new_window))
    keys = _GROUP_COLUMNS[group_by] if group_by else ()
    golden = on_golden_path(settings)
    columns: list[sa.ColumnElement[Any]] = [sa.func.count(), count_where(golden)]
    if new_window is not None:
        new = sa.and_(_created() >= to_utc(new_window[0]), _created() < to_utc(new_window[1]))
        columns += [count_where(new), count_where(sa.and_(new, golden))]
    query = sa.select(*keys, *columns).select_from(ENTITIES).where(*conditions)
    if keys:
        query = query.group_by(*keys)
    width = len(keys)

    def keyed(row: Sequence[Any]) -> tuple[str, str | None, Sequence[int | None]]:
        key, ref = _bucket_key(group_by, tuple(row[:width])) if group_by else ("", None)
        return key, ref, tuple(row[width:])

    return _added_up(keyed(row) for row in connection.execute(query))


def _by_domain(connection: Connection, by_system: list[Counts]) -> list[Counts]:
    """Systems' counts added up by the domain each system is part of (NONE_KEY for none)."""
    domain_of: dict[str, str] = {system: domain for system, domain in connection.execute(system_domains())}
    return _added_up(
        (
            domain_of.get(system, NONE_KEY),
            domain_of.get(system),
            (overall.total, overall.on_golden_path, new.total, new.on_golden_path),
        )
        for system, _ref, overall, new in by_system
    )


def _added_up(rows: Iterable[tuple[str, str | None, Sequence[int | None]]]) -> list[Counts]:
    """(key, ref, counts) rows added up by key: several rows can share one (every version of "no
    template" is the one group "(none)"; a domain is the sum of its systems). Counts are total, on
    a golden path, and the same two among new workloads (zero when not asked for)."""
    totals: dict[str, tuple[str | None, list[int]]] = {}
    for key, ref, counts in rows:
        summed = totals.setdefault(key, (ref, [0, 0, 0, 0]))[1]
        for index, value in enumerate(counts):
            summed[index] += int(value or 0)
    return [(key, ref, Adoption(c[0], c[1]), Adoption(c[2], c[3])) for key, (ref, c) in totals.items()]


def adoption(
    connection: Connection,
    settings: GoldenPathSettings,
    entity_filter: EntityFilter | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    group_by: AdoptionGroup | None = None,
) -> tuple[Adoption, list[AdoptionBucket]]:
    """Adoption in scope (created in [since, until) when given), and per group sorted by key.

    Every component falls in exactly one group (NONE_KEY when it has no such key), so the groups
    add up to the whole.
    """
    conditions = scope_conditions(entity_filter)
    if since is not None:
        conditions.append(_created() >= to_utc(since))
    if until is not None:
        conditions.append(_created() < to_utc(until))
    if group_by is None:
        rows = _counts(connection, settings, conditions, None)
        return (rows[0][2] if rows else Adoption()), []
    buckets = sorted(
        (
            AdoptionBucket(a.total, a.on_golden_path, key, ref)
            for key, ref, a, _ in _counts(connection, settings, conditions, group_by)
        ),
        key=lambda bucket: bucket.key,
    )
    total = Adoption(sum(b.total for b in buckets), sum(b.on_golden_path for b in buckets))
    return total, buckets


def new_workloads(
    connection: Connection, settings: GoldenPathSettings, entity_filter: EntityFilter | None, days: int, now: datetime
) -> Adoption:
    """Adoption among the components in scope created in the `days` before `now`."""
    return adoption(connection, settings, entity_filter, since=now - timedelta(days=days), until=now)[0]


def snapshot_adoption(
    connection: Connection, golden: GoldenPathSettings, settings: AdoptionSettings, now: datetime
) -> int:
    """Store today's adoption for every trend scope, whole and per group (replacing today's points
    if there are any); returns how many points were written."""
    now = to_utc(now)
    today = now.date()
    new_window = (now - timedelta(days=settings.new_workload_days), now)
    day = bound(connection, ADOPTION_HISTORY.c.day, today)
    rows: list[tuple[object, ...]] = []
    for name, entity_filter in settings.trend_scopes.items():
        conditions = scope_conditions(entity_filter)
        counted: dict[AdoptionGroup | None, list[Counts]] = {}
        for group_by in (None, *AdoptionGroup):
            if group_by is AdoptionGroup.DOMAIN:  # from the systems' counts just taken
                counted[group_by] = _by_domain(connection, counted[AdoptionGroup.SYSTEM])
            else:
                counted[group_by] = _counts(connection, golden, conditions, group_by, new_window)
            for key, _ref, overall, new in counted[group_by]:
                rows.append(
                    (
                        name,
                        group_by or ALL,
                        key,
                        day,
                        overall.total,
                        overall.on_golden_path,
                        new.total,
                        new.on_golden_path,
                    )
                )
    connection.execute(sa.delete(ADOPTION_HISTORY).where(ADOPTION_HISTORY.c.day == today))
    columns = ("scope", "group_by", "key", "day", "total", "on_golden_path", "new_total", "new_on_golden_path")
    insert_rows(connection, "adoption_history", columns, rows)
    return len(rows)


@dataclass(frozen=True)
class TrendSeries:
    """Which stored points a report's trend reads: a trend scope, whole or one of its groups."""

    scope: str
    group_by: str = ALL
    key: str = ""


def trend_series(settings: AdoptionSettings, entity_filter: EntityFilter | None) -> TrendSeries | None:
    """The stored series that measures exactly `entity_filter`'s scope: a trend scope's own filter,
    or that filter narrowed to one owner, system or domain; None when no snapshot does."""
    wanted = _normal(scope(entity_filter))
    narrowings = (
        ("owner", AdoptionGroup.OWNER, "group"),
        ("system", AdoptionGroup.SYSTEM, "system"),
        ("domain", AdoptionGroup.DOMAIN, "domain"),
    )
    for name, trend_filter in settings.trend_scopes.items():
        base = scope(trend_filter)
        if _normal(base) == wanted:
            return TrendSeries(name)
        for field_name, group_by, kind in narrowings:
            value = getattr(entity_filter, field_name, None) if entity_filter else None
            if value and getattr(base, field_name) is None:
                narrowed = replace(base, **{field_name: value})
                if _normal(narrowed) == wanted:
                    return TrendSeries(name, group_by, parse_ref(value, default_kind=kind).ref)
    return None


def _normal(entity_filter: EntityFilter) -> tuple[object, ...]:
    """A filter in a form where two filters that select the same entities compare equal."""

    def listed(values: object) -> tuple[str, ...] | None:
        return tuple(sorted({str(v).lower() for v in values})) if values else None  # type: ignore[attr-defined]

    def ref(value: str | None, kind: str) -> str | None:
        return parse_ref(value, default_kind=kind).ref if value else None

    f = entity_filter
    return (
        listed(f.kind),
        f.namespace.lower() if f.namespace else None,
        listed(f.type),
        listed(f.lifecycle),
        ref(f.owner, "group"),
        ref(f.system, "system"),
        ref(f.domain, "domain"),
        f.tag.lower() if f.tag else None,
        f.search or None,
    )


def adoption_trend(connection: Connection, series: TrendSeries, days: int, today: date) -> list[AdoptionPoint]:
    """The series' daily points of the last `days` days (today included), oldest first."""
    return adoption_trends(connection, [series], days, today)[series]


def adoption_trends(
    connection: Connection, series: Sequence[TrendSeries], days: int, today: date
) -> dict[TrendSeries, list[AdoptionPoint]]:
    """Like `adoption_trend` for many series at once (e.g. every group of a report): one query per
    scope and grouping (and chunk of keys), however many series."""
    history = ADOPTION_HISTORY
    found: dict[TrendSeries, list[AdoptionPoint]] = {one: [] for one in series}
    by_grouping: dict[tuple[str, str], list[str]] = {}
    for one in found:
        by_grouping.setdefault((one.scope, one.group_by), []).append(one.key)
    for (scope_name, group_by), keys in by_grouping.items():
        for start in range(0, len(keys), IN_CHUNK):
            query = (
                sa.select(
                    history.c.key,
                    history.c.day,
                    history.c.total,
                    history.c.on_golden_path,
                    history.c.new_total,
                    history.c.new_on_golden_path,
                )
                .where(
                    history.c.scope == scope_name,
                    history.c.group_by == group_by,
                    history.c.key.in_(keys[start : start + IN_CHUNK]),
                    history.c.day > today - timedelta(days=days),
                    history.c.day <= today,
                )
                .order_by(history.c.key, history.c.day)
            )
            for key, day, total, on_path, new_total, new_on_path in connection.execute(query):
                point = AdoptionPoint(day, Adoption(total, on_path), Adoption(new_total, new_on_path))
                found[TrendSeries(scope_name, group_by, key)].append(point)
    return found
