"""Benchmark: one component's evidence pack (read, evaluated, sealed and signed) in a large catalogue.

    python bench/evidence.py [--components 30000] [--events 1000000] [--history-days 90]
                             [--samples 50] [--catalogue DIR] [--database-url URL]

Generates (bench/generate.py) a catalogue of `--components` Components among other kinds (60% of its
entities are Components), ingests it, reports the example facts' names for every component (so every
check has a fact to read and a timestamp to show), exempts one check of one component in twenty, stores
the example scorecard's results, backfills `--history-days` daily snapshots of them, and loads
`--events` delivery events (bench/dora.py's generator: 180 days, skewed). Then ANALYZE, and for
`--samples` components picked at random (seeded), after one untimed warm-up, the time of
`sealed_pack` as the REST route and the CLI call it: a snapshot connection from the pool, the
queries, live evaluation, canonical JSON, SHA-256 and an Ed25519 signature. Target: p50 <= 200 ms.
For scale, also the component with the most dependents and its two-hop lineage.

Without `--database-url`, a temporary SQLite file; with a PostgreSQL URL, a scratch schema dropped
afterwards.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType

import orjson
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from catalog.driver import binder, insert_rows  # noqa: E402
from catalog.ingest import ingest  # noqa: E402
from catalog.tables import ENTITIES, utc_now  # noqa: E402
from scorecards.definitions import Scorecard, load_scorecards  # noqa: E402
from scorecards.dora import DORA_2024  # noqa: E402
from scorecards.evidence import sealed_pack  # noqa: E402
from scorecards.evidence_report import render_markdown  # noqa: E402
from scorecards.results import store_results  # noqa: E402
from scorecards.tables import EXEMPTIONS, FACTS, HISTORY, RESULTS  # noqa: E402

TARGET_MS = 200.0
COMPONENT_SHARE = 0.60  # bench/generate.py: Components take what the other kinds leave


def bench_module(name: str) -> ModuleType:
    """A sibling benchmark script as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def catalogue_folder(given: str | None, entities: int) -> Path:
    """The generated catalogue's folder: the one given, else one in $TMPDIR; generated when it has no all.yaml."""
    folder = Path(given or Path(tempfile.gettempdir()) / f"stairway-bench-{entities}")
    if not (folder / "all.yaml").exists():
        generator = Path(__file__).with_name("generate.py")
        subprocess.run([sys.executable, str(generator), str(entities), str(folder)], check=True)
    return folder


def example_facts() -> dict[str, dict[str, object]]:
    """The names and values the example facts report, by source, merged over the example components."""
    facts: dict[str, dict[str, object]] = {}
    for body in orjson.loads((REPO / "examples" / "facts.json").read_bytes()):
        facts.setdefault(body["source"], {}).update(body["facts"])
    return facts


def report_facts(connection: sa.Connection, refs: list[str], now: datetime, rng: random.Random) -> int:
    """Every component's latest facts, observed in the last two weeks; rows written."""
    stamp = binder(connection, FACTS.c.observed_at)
    rows: list[tuple[object, ...]] = [
        (ref, source, name, orjson.dumps(value).decode(), stamp(now - timedelta(hours=rng.uniform(1, 336))))
        for ref in refs
        for source, named in example_facts().items()
        for name, value in named.items()
        if rng.random() < 0.8
    ]
    insert_rows(connection, FACTS.name, ("entity_ref", "source", "name", "value", "observed_at"), rows)
    return len(rows)


def exempt(connection: sa.Connection, refs: list[str], card: Scorecard, now: datetime) -> int:
    """One check of one component in twenty exempted for a month."""
    stamp = binder(connection, EXEMPTIONS.c.expires_at)
    rows: list[tuple[object, ...]] = [
        (ref, card.name, card.checks[index % len(card.checks)].id, "bench", stamp(now + timedelta(days=30)), stamp(now))
        for index, ref in enumerate(refs)
        if index % 20 == 0
    ]
    columns = ("entity_ref", "scorecard", "check_id", "reason", "expires_at", "created_at")
    insert_rows(connection, EXEMPTIONS.name, columns, rows)
    return len(rows)


def backfill_history(connection: sa.Connection, days: int, now: datetime, rng: random.Random) -> int:
    """Daily snapshots before today for every stored result, the level wandering a little; rows written."""
    stored = connection.execute(sa.select(RESULTS.c.entity_ref, RESULTS.c.scorecard, RESULTS.c.level)).all()
    day = binder(connection, HISTORY.c.day)
    rows: list[tuple[object, ...]] = []
    for ref, name, level in stored:
        for back in range(1, days):
            wandered = max(1, min(5, level - (rng.random() < 0.1)))
            rows.append((ref, name, day((now - timedelta(days=back)).date()), wandered, wandered, "{}"))
    columns = ("entity_ref", "scorecard", "day", "level", "floor", "area_levels")
    insert_rows(connection, HISTORY.name, columns, rows)
    return len(rows)


def most_depended_on(connection: sa.Connection) -> str:
    """The component other entities depend on (or consume the APIs of) most often."""
    query = sa.text(
        "SELECT target_ref FROM relations WHERE type = 'dependsOn' AND target_ref LIKE 'component:%' "
        "GROUP BY target_ref ORDER BY count(*) DESC, target_ref LIMIT 1"
    )
    return str(connection.execute(query).scalar_one())


def timed(engine: sa.engine.Engine, cards: list[Scorecard], ref: str, now: datetime, key: Ed25519PrivateKey) -> float:
    started = time.perf_counter()
    pack = sealed_pack(engine, cards, ref, now, DORA_2024, key)
    elapsed = time.perf_counter() - started
    assert pack["entity"]["ref"] == ref and "signature" in pack
    return elapsed


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50, p90 = statistics.median(ordered), ordered[int(0.9 * (len(ordered) - 1))]
    return f"p50 {p50 * 1000:.1f} ms, p90 {p90 * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--components", type=int, default=30_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--history-days", type=int, default=90)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--catalogue", default=None, help="catalogue folder (generated when it has no all.yaml)")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()

    dora_bench = bench_module("dora")
    folder = catalogue_folder(args.catalogue, round(args.components / COMPONENT_SHARE))
    cards, problems = load_scorecards([str(REPO / "examples" / "scorecards")])
    assert cards and not problems, problems
    rng, now, key = random.Random(args.seed), utc_now(), Ed25519PrivateKey.generate()
    with dora_bench.scratch_engine(args.database_url) as engine:
        started = time.perf_counter()
        summary_line = ingest(engine, [str(folder / "all.yaml")]).line()
        with engine.begin() as connection:
            refs = list(connection.execute(sa.select(ENTITIES.c.ref).where(ENTITIES.c.kind == "component")).scalars())
            facts = report_facts(connection, refs, now, rng)
            exempted = exempt(connection, refs, cards[0], now)
            scored = store_results(connection, cards, None, now)
            history = backfill_history(connection, args.history_days, now, rng)
            _changes, incidents = dora_bench.load_events(connection, refs, args.events, now, args.seed, False)
        dora_bench.analyze(engine)
        print(f"database: {engine.dialect.name}; {summary_line}")
        print(
            f"loaded in {time.perf_counter() - started:.0f} s: {len(refs)} components, {facts} facts, {exempted} "
            f"exemptions, {scored.results} results, {history} history rows, {args.events} deployments, "
            f"{incidents} incidents"
        )
        sample = rng.sample(refs, min(args.samples, len(refs)))
        timed(engine, cards, sample[0], now, key)  # warm-up: compiled statements, pooled connection
        samples = [timed(engine, cards, ref, now, key) for ref in sample]
        verdict = "OK" if statistics.median(samples) * 1000 <= TARGET_MS else "TOO SLOW"
        print(f"sealed, signed pack for one component ({len(samples)} components): {summary(samples)}")
        print(f"  target p50 <= {TARGET_MS:.0f} ms: {verdict}")
        packs = [sealed_pack(engine, cards, ref, now, DORA_2024, key) for ref in sample]
        sizes = sorted(len(p["lineage"]["dependsOn"]) + len(p["lineage"]["dependedOnBy"]) for p in packs)
        print(f"  lineage entries: median {statistics.median(sizes):.0f}, max {sizes[-1]}")
        print(f"  JSON size: median {statistics.median(len(orjson.dumps(p)) for p in packs) / 1024:.1f} KiB")
        started = time.perf_counter()
        for pack in packs:
            render_markdown(pack)
        print(f"  Markdown rendering: {(time.perf_counter() - started) / len(packs) * 1000:.1f} ms a pack")
        with engine.connect() as connection:
            busiest = most_depended_on(connection)
        times = [timed(engine, cards, busiest, now, key) for _ in range(5)]
        pack = sealed_pack(engine, cards, busiest, now, DORA_2024, key)
        lineage = {direction: len(items) for direction, items in pack["lineage"].items()}
        print(f"most depended-on component {busiest} (lineage {lineage}): {summary(times)}")


if __name__ == "__main__":
    main()
