"""Benchmark: taking deployment events in batches, first load and unchanged resend (target >= 10,000 events/s).

    python bench/delivery.py [--events 100000] [--batch 1000] [--components 3000] [--database-url URL]

Builds a catalogue of `--components` components (rows inserted straight into the entities table) in a
fresh database: a temporary SQLite file by default; with a PostgreSQL URL, a schema of its own that is
dropped afterwards (any other URL is used as it is). Then generates `--events` deployment bodies, as
`orjson.loads` would hand them over (1 to 3 commits each, a few failures and rollbacks, over 90 days),
and takes them through `take_deployments` in batches of `--batch`, one transaction per batch: first
the load, then every batch again (all unchanged). Prints events/s for each, the receipts' counts and
the statements each run wrote.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scratch import scratch_engine  # noqa: E402

from catalog.tables import ENTITIES  # noqa: E402
from scorecards.delivery import EventReceipt, take_deployments  # noqa: E402

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
WINDOW = timedelta(days=90)
TARGET = 10_000  # events/s


def seed_catalogue(engine: sa.engine.Engine, components: int) -> list[str]:
    """Insert `components` components straight into the entities table; their refs."""
    rows = [
        {
            "uid": str(uuid.UUID(int=index + 1)),
            "ref": f"component:default/service-{index:05d}",
            "kind": "component",
            "namespace": "default",
            "name": f"service-{index:05d}",
            "type": "service",
            "lifecycle": "production",
            "owner_ref": f"group:default/team-{index % 100:03d}",
            "body": "{}",
            "content_hash": f"{index:032x}",
            "source": "bench",
            "location": f"bench/service-{index:05d}.yaml",
            "first_seen_at": NOW - WINDOW,
            "updated_at": NOW - WINDOW,
        }
        for index in range(components)
    ]
    with engine.begin() as connection:
        connection.execute(sa.insert(ENTITIES), rows)
    return [str(row["ref"]) for row in rows]


def deployment_bodies(count: int, refs: list[str], seed: int = 8) -> list[dict[str, Any]]:
    """`count` deployment bodies over the last 90 days, each with 1 to 3 commits (a tenth in another environment)."""
    rng = random.Random(seed)
    bodies = []
    for index in range(count):
        finished = NOW - timedelta(seconds=rng.uniform(0, WINDOW.total_seconds()))
        commits = [
            {
                "sha": f"{rng.getrandbits(160):040x}",
                "committedAt": (finished - timedelta(minutes=rng.uniform(5, 4000))).isoformat(),
            }
            for _ in range(rng.randint(1, 3))
        ]
        body: dict[str, Any] = {
            "id": f"gha-{index:08d}",
            "entityRef": rng.choice(refs),
            "finishedAt": finished.isoformat().replace("+00:00", "Z"),
            "status": "failure" if rng.random() < 0.12 else "success",
            "commits": commits,
            "version": f"1.{index // 1000}.{index % 1000}",
        }
        if rng.random() < 0.1:
            body["environment"] = "staging"
        if rng.random() < 0.03:
            body["rollback"] = True
        bodies.append(body)
    return bodies


def take_all(engine: sa.engine.Engine, batches: list[list[dict[str, Any]]]) -> tuple[float, Counter[str], Counter[str]]:
    """Seconds to take every batch (a transaction each), the receipts' totals, and the statements written."""
    totals: Counter[str] = Counter()
    writes: Counter[str] = Counter()

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        word = statement.lstrip().split(None, 1)[0].upper()
        if word in ("INSERT", "UPDATE", "DELETE"):
            writes[word] += 1

    sa.event.listen(engine, "before_cursor_execute", record)
    started = time.perf_counter()
    for batch in batches:
        with engine.begin() as connection:
            receipt: EventReceipt = take_deployments(connection, batch, NOW)
        totals.update(created=receipt.created, updated=receipt.updated, unchanged=receipt.unchanged)
    seconds = time.perf_counter() - started
    sa.event.remove(engine, "before_cursor_execute", record)
    return seconds, totals, writes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--components", type=int, default=3_000)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()

    with scratch_engine(args.database_url) as engine:
        refs = seed_catalogue(engine, args.components)
        bodies = deployment_bodies(args.events, refs)
        batches = [bodies[start : start + args.batch] for start in range(0, len(bodies), args.batch)]
        commits = sum(len(body["commits"]) for body in bodies)
        print(f"{engine.dialect.name}: {args.components:,} components, {args.events:,} deployments")
        print(f"  ({commits:,} commits) in {len(batches):,} batches of {args.batch:,}")
        for label in ("first load", "unchanged resend"):
            seconds, totals, writes = take_all(engine, batches)
            rate = args.events / seconds
            verdict = "OK" if rate >= TARGET else "TOO SLOW"
            print(
                f"  {label}: {seconds:.2f} s, {rate:,.0f} events/s (target {TARGET:,}: {verdict}); "
                f"created {totals['created']:,}, updated {totals['updated']:,}, unchanged {totals['unchanged']:,}; "
                f"writes {dict(writes) or 'none'}"
            )


if __name__ == "__main__":
    main()
