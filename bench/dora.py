"""Benchmark: DORA's four keys for every component, and rolled up by owner, over a large event history.

    python bench/dora.py [--components 30000] [--events 1000000] [--window-days 90]
                         [--database-url URL] [--repeat 3] [--candidate-index SQL ...]

Loads a catalogue straight into the tables (components with owners and systems, systems in
domains: no descriptors to parse) and `--events` deployments spread over the 180 days before now,
with bulk inserts, oldest first as reporters would send them (`--shuffled`: in any order), each with
the changes it shipped as take_deployments stores them. 85% go to production, 10% fail, 3% are
rollbacks; 75% ship 1-4 commits (lead times of minutes to weeks), 15% give a lead time instead, 10%
neither; how often a component deploys is skewed (a few deploy many times a day, most a few times a
month). One deployment in 30 has an incident (half of them linked to it, 90% resolved). Then
ANALYZE, and the p50 of `--repeat` runs (each on a fresh connection) of `dora_keys` for every
component (target <= 2 s), `dora_rollup` by owner, system and domain, and `dora_keys` for a page of
100 components and for one.

Without `--database-url`, a temporary SQLite file; with a PostgreSQL URL, a scratch schema that is
dropped afterwards (a SQLite URL is used as given: point it at a file that does not exist yet).
Each `--candidate-index` (a CREATE INDEX statement) is created after the first timings, the
statistics refreshed, and everything timed again, to measure what an index would buy.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scratch import scratch_engine  # noqa: E402

from catalog.driver import binder, bound, insert_rows  # noqa: E402
from catalog.tables import ENTITIES, utc_now  # noqa: E402
from scorecards.dora import DORA_2024, bands, dora_keys, dora_rollup, overall_band  # noqa: E402
from scorecards.tables import DEPLOYMENT_CHANGES, DEPLOYMENTS  # noqa: E402

HISTORY_DAYS = 180
BATCH = 50_000
TARGET_SECONDS = 2.0


def load_catalogue(connection: sa.Connection, components: int, now: datetime) -> list[str]:
    """Groups, domains, systems (in domains, but one in ten) and components; the components' refs."""
    owners = [f"group:default/team-{i}" for i in range(max(1, components // 30))]
    domains = [f"domain:default/domain-{i}" for i in range(max(1, components // 1000))]
    systems = [f"system:default/system-{i}" for i in range(max(1, components // 20))]
    refs = [f"component:default/service-{i}" for i in range(components)]
    stamp = bound(connection, ENTITIES.c.first_seen_at, now)
    rows: list[tuple[object, ...]] = []

    def entity(ref: str, owner: str | None, system: str | None) -> None:
        kind, name = ref.split(":", 1)[0], ref.rsplit("/", 1)[1]
        rows.append(
            (str(uuid.uuid4()), ref, kind, "default", name, "{}", "-", "bench", "bench", owner, system, stamp, stamp)
        )

    for ref in owners + domains:
        entity(ref, None, None)
    for index, ref in enumerate(systems):
        entity(ref, owners[index % len(owners)], None)
    for index, ref in enumerate(refs):
        entity(ref, owners[index % len(owners)], systems[index % len(systems)])
    columns = ("uid", "ref", "kind", "namespace", "name", "body", "content_hash", "source", "location")
    insert_rows(connection, "entities", (*columns, "owner_ref", "system_ref", "first_seen_at", "updated_at"), rows)
    relations: list[tuple[object, ...]] = [
        (system, "partOf", domains[index % len(domains)]) for index, system in enumerate(systems) if index % 10
    ]
    insert_rows(connection, "relations", ("source_ref", "type", "target_ref"), relations)
    return refs


def load_events(
    connection: sa.Connection, refs: list[str], events: int, now: datetime, seed: int, shuffled: bool
) -> tuple[int, int]:
    """`events` deployments with their changes and incidents, in batches, oldest first unless `shuffled`;
    (changes, incidents) written."""
    rng = random.Random(seed)
    weights = [rng.paretovariate(1.2) for _ in refs]  # a few components deploy far more than the rest
    ages = [rng.uniform(0, HISTORY_DAYS * 86400) for _ in range(events)]
    if not shuffled:  # as reporters send them: in the order they finish, ids rising with time
        ages.sort(reverse=True)
    stamp = binder(connection, DEPLOYMENTS.c.finished_at)
    received = stamp(now)
    changes = incidents = 0
    for start in range(0, events, BATCH):
        chosen = rng.choices(refs, weights, k=min(BATCH, events - start))
        deployments: list[tuple[object, ...]] = []
        shipped: list[tuple[object, ...]] = []
        opened: list[tuple[object, ...]] = []
        for offset, ref in enumerate(chosen):
            number = start + offset
            finished = now - timedelta(seconds=ages[number])
            environment = "production" if rng.random() < 0.85 else "staging"
            failed, rollback = rng.random() < 0.10, rng.random() < 0.03
            kind, lead = rng.random(), None
            deployment_id = f"deploy-{number:08d}"
            deployment = (ref, environment, finished_at := stamp(finished))
            if kind < 0.75:
                for sha in range(rng.randint(1, 4)):  # numbered in sha order, as take_deployments numbers them
                    committed = finished - timedelta(seconds=rng.expovariate(1 / 86400))
                    seconds = None if failed else (finished - committed).total_seconds()
                    shipped.append((deployment_id, sha, f"{number:08d}{sha}", stamp(committed), *deployment, seconds))
            elif kind < 0.90:
                lead = rng.expovariate(1 / 86400)
                shipped.append((deployment_id, 0, None, None, *deployment, None if failed else lead))
            deployments.append(
                (
                    deployment_id,
                    ref,
                    environment,
                    finished_at,
                    "failure" if failed else "success",
                    rollback,
                    lead,
                    "-",
                    received,
                )
            )
            if rng.random() < 1 / 30:
                opened_at = finished + timedelta(minutes=rng.uniform(1, 600))
                resolved = (
                    stamp(opened_at + timedelta(minutes=rng.expovariate(1 / 240))) if rng.random() < 0.9 else None
                )
                linked = deployment_id if rng.random() < 0.5 else None
                opened.append((f"incident-{number:08d}", ref, stamp(opened_at), resolved, linked, "-", received))
        insert_rows(
            connection,
            "deployments",
            (
                "id",
                "entity_ref",
                "environment",
                "finished_at",
                "status",
                "rollback",
                "lead_time_seconds",
                "content_hash",
                "received_at",
            ),
            deployments,
        )
        insert_rows(connection, DEPLOYMENT_CHANGES.name, list(DEPLOYMENT_CHANGES.columns.keys()), shipped)
        columns = ("id", "entity_ref", "opened_at", "resolved_at", "deployment_id", "content_hash", "received_at")
        insert_rows(connection, "incidents", columns, opened)
        changes, incidents = changes + len(shipped), incidents + len(opened)
    return changes, incidents


def analyze(engine: sa.engine.Engine) -> None:
    """Fresh statistics (on PostgreSQL also the visibility map index-only scans need, as autovacuum would)."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as connection:  # the engine's own BEGIN ... COMMIT
            connection.exec_driver_sql("ANALYZE")
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")  # not in a transaction


def timed(engine: sa.engine.Engine, call: Callable[[sa.Connection], object], repeat: int) -> tuple[float, object]:
    """p50 seconds of `repeat` calls, each on a fresh connection, and the last call's answer."""
    samples, answer = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        with engine.connect() as connection:
            answer = call(connection)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), answer


def measure(engine: sa.engine.Engine, refs: list[str], now: datetime, window: int, repeat: int) -> None:
    page, one = refs[:100], [refs[len(refs) // 2]]
    calls: dict[str, Callable[[sa.Connection], object]] = {
        "dora_keys, every component": lambda c: dora_keys(c, None, now, window),
        "dora_rollup by owner": lambda c: dora_rollup(c, "owner", now, window),
        "dora_rollup by system": lambda c: dora_rollup(c, "system", now, window),
        "dora_rollup by domain": lambda c: dora_rollup(c, "domain", now, window),
        "dora_keys, a page of 100": lambda c: dora_keys(c, page, now, window),
        "dora_keys, one component": lambda c: dora_keys(c, one, now, window),
    }
    for label, call in calls.items():
        seconds, answer = timed(engine, call, repeat)
        verdict = ""
        if label == "dora_keys, every component":
            verdict = " - target 2 s: " + ("OK" if seconds <= TARGET_SECONDS else "TOO SLOW")
        print(f"  {label}: p50 {seconds * 1000:8.1f} ms ({len(answer)} keyed){verdict}")  # type: ignore[arg-type]


def describe(engine: sa.engine.Engine, now: datetime, window: int) -> None:
    with engine.connect() as connection:
        keys = dora_keys(connection, None, now, window)
    overall: dict[str, int] = {}
    for one in keys.values():
        band = overall_band(bands(one, DORA_2024))
        overall[band] = overall.get(band, 0) + 1
    deployments = sum(one.deployments for one in keys.values())
    print(f"in the {window}-day window: {deployments} production deployments over {len(keys)} components")
    print(f"overall bands (dora-2024): {dict(sorted(overall.items()))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--components", type=int, default=30_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--window-days", type=int, default=90)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--shuffled", action="store_true", help="insert events in random order, not as they finish")
    parser.add_argument("--candidate-index", action="append", default=[], help="CREATE INDEX ... to try")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress as it happens, even to a file

    now = utc_now()
    with scratch_engine(args.database_url) as engine:
        started = time.perf_counter()
        with engine.begin() as connection:
            refs = load_catalogue(connection, args.components, now)
            changes, incidents = load_events(connection, refs, args.events, now, args.seed, args.shuffled)
        analyze(engine)
        print(f"database: {engine.dialect.name}")
        print(
            f"loaded {len(refs)} components, {args.events} deployments, {changes} changes, {incidents} incidents "
            f"in {time.perf_counter() - started:.1f} s (with ANALYZE)"
        )
        describe(engine, now, args.window_days)
        print(f"p50 of {args.repeat} runs, the migration's indexes:")
        measure(engine, refs, now, args.window_days, args.repeat)
        if args.candidate_index:
            with engine.begin() as connection:
                for statement in args.candidate_index:
                    connection.exec_driver_sql(statement)
            analyze(engine)
            print(f"p50 of {args.repeat} runs, with {'; '.join(args.candidate_index)}:")
            measure(engine, refs, now, args.window_days, args.repeat)


if __name__ == "__main__":
    main()
