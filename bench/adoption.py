"""Benchmark: in-process latency of the golden-path adoption and organisation-maturity GraphQL queries.

    python bench/adoption.py 50000 [--catalogue DIR] [--repeat N]

Ingests the generated catalogue (bench/generate.py; DIR is reused when it holds an all.yaml, else
generated there, by default in $TMPDIR/stairway-bench-N) into a fresh SQLite file, stores the
results of examples/scorecards for every entity they apply to, and takes (and times, once) today's
adoption snapshot. Then, N times each (default 20), with a fresh request context per run and every
Template a golden path (the default configuration), the p50 / min / max of
`adoption(groupBy: OWNER)` (target <= 100 ms) and `organizationMaturity` (target <= 500 ms), and,
for comparison, of the SQL functions behind them called directly. One untimed warm-up run of
each query comes first (it fills the parser and validation caches).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from catalog.database import create_engine, migrate  # noqa: E402
from catalog.ingest import ingest  # noqa: E402
from catalog.tables import utc_now  # noqa: E402
from scorecards.adoption import AdoptionGroup, AdoptionSettings, adoption, snapshot_adoption  # noqa: E402
from scorecards.definitions import Scorecard, load_scorecards  # noqa: E402
from scorecards.golden_paths import GoldenPathSettings  # noqa: E402
from scorecards.organization import MaturitySettings, organization_maturity  # noqa: E402
from scorecards.results import store_results  # noqa: E402
from service.config import Config  # noqa: E402
from service.graphql.context import RequestContext  # noqa: E402
from service.graphql.schema import build_schema  # noqa: E402

ADOPTION_QUERY = """
query Adoption {
  adoption(groupBy: OWNER) { total onGoldenPath percentage groups { key total onGoldenPath percentage } }
}"""
MATURITY_QUERY = """
query Maturity {
  organizationMaturity {
    level { ordinal title } criteria { id value threshold passed evidence } unlock { id } lopsidedShare
  }
}"""
QUERIES = {"adoption(groupBy: OWNER)": (ADOPTION_QUERY, 100.0), "organizationMaturity": (MATURITY_QUERY, 500.0)}


def summary(samples: list[float]) -> str:
    """p50 (min, max) of samples in seconds, as milliseconds."""
    p50, low, high = (value * 1000 for value in (statistics.median(samples), min(samples), max(samples)))
    return f"p50 {p50:6.1f} ms (min {low:.1f}, max {high:.1f})"


def measure_graphql(
    engine: sa.engine.Engine, scorecards: list[Scorecard], repeat: int
) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Per query: the seconds of `repeat` timed runs (after one warm-up), and the last run's top field."""
    schema, config = build_schema(), Config()

    async def run() -> tuple[dict[str, list[float]], dict[str, Any]]:
        samples: dict[str, list[float]] = {label: [] for label in QUERIES}
        data: dict[str, Any] = {}
        for round_ in range(repeat + 1):
            for label, (query, _target) in QUERIES.items():
                started = time.perf_counter()
                result = await schema.execute(query, context_value=RequestContext(engine, scorecards, config))
                elapsed = time.perf_counter() - started
                assert result.errors is None and result.data, (label, result.errors)
                if round_:
                    samples[label].append(elapsed)
                data[label] = next(iter(result.data.values()))
        return samples, data

    return asyncio.run(run())


def measure_sql(engine: sa.engine.Engine, call: Callable[[sa.Connection], object], repeat: int) -> list[float]:
    """Seconds of `repeat` direct calls, each on a fresh connection (as RequestContext.read does)."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        with engine.connect() as connection:
            call(connection)
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int, nargs="?", default=50_000)
    parser.add_argument("--catalogue", default=None, help="catalogue folder (generated when it has no all.yaml)")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    folder = Path(args.catalogue or Path(tempfile.gettempdir()) / f"stairway-bench-{args.n}")
    if not (folder / "all.yaml").exists():
        generator = Path(__file__).with_name("generate.py")
        subprocess.run([sys.executable, str(generator), str(args.n), str(folder)], check=True)
    scorecards, problems = load_scorecards([str(REPO / "examples" / "scorecards")])
    assert scorecards and not problems, problems
    names = [card.name for card in scorecards]
    golden, now = GoldenPathSettings(), utc_now()
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{scratch}/adoption.db")
        migrate(engine)
        ingest(engine, [str(folder / "all.yaml")])
        with engine.begin() as connection:
            scored = store_results(connection, scorecards, None, now)
        started = time.perf_counter()
        with engine.begin() as connection:
            points = snapshot_adoption(connection, golden, AdoptionSettings(), now)
        snapshot_seconds = time.perf_counter() - started
        samples, data = measure_graphql(engine, scorecards, args.repeat)
        calls: dict[str, Callable[[sa.Connection], object]] = {
            "adoption(group_by=OWNER)": lambda c: adoption(c, golden, group_by=AdoptionGroup.OWNER),
            "organization_maturity": lambda c: organization_maturity(c, golden, MaturitySettings(), names, None, now),
        }
        sql = {label: measure_sql(engine, call, args.repeat) for label, call in calls.items()}
        engine.dispose()

    report, maturity = data["adoption(groupBy: OWNER)"], data["organizationMaturity"]
    percentage = f"{report['percentage']:.1f}%" if report["percentage"] is not None else "n/a"
    print(f"catalogue: {args.n} entities, {scored.entities} scored by {', '.join(names)}")
    print(f"adoption snapshot: {snapshot_seconds * 1000:.1f} ms ({points} points)")
    print(f"components: {report['total']}, owners (groups): {len(report['groups'])}")
    print(f"adoption: {report['onGoldenPath']} of {report['total']} on a golden path ({percentage})")
    passed = sum(criterion["passed"] for criterion in maturity["criteria"])
    print(
        f"organisation maturity: level {maturity['level']['ordinal']} ({maturity['level']['title']}), "
        f"{passed}/{len(maturity['criteria'])} criteria passed, unlock {[c['id'] for c in maturity['unlock']]}, "
        f"lopsided share {maturity['lopsidedShare']}"
    )
    print(f"GraphQL, {args.repeat} runs each after a warm-up:")
    for label, (_query, target) in QUERIES.items():
        verdict = "OK" if statistics.median(samples[label]) * 1000 <= target else "TOO SLOW"
        print(f"  {label}: {summary(samples[label])} - target {target:.0f} ms: {verdict}")
    print(f"SQL functions called directly, {args.repeat} runs each:")
    for label, timings in sql.items():
        print(f"  {label}: {summary(timings)}")


if __name__ == "__main__":
    main()
