"""Benchmark: evaluate a 30-check scorecard over every component of a generated catalogue, and read pages.

    python bench/score.py 50000 [--dir DIR]

Ingests the generated catalogue (bench/generate.py) into a fresh SQLite file, reports facts for
every component (CI, monitoring and DORA facts, as examples/facts.json does for a few), then
times `store_results`: loading entities, relations, facts and exemptions, evaluating the default
scorecard widened to every Component plus one more check (30 in all), and writing one result
row and one daily snapshot per component. Then the in-process p50 of a GraphQL page of 100
components with all their checks: with each check's evidence, with status and id, and as the
one-value `statuses` map.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import orjson
import sqlalchemy as sa
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from catalog.database import create_engine, migrate  # noqa: E402
from catalog.ingest import ingest  # noqa: E402
from catalog.tables import utc_now  # noqa: E402
from scorecards.definitions import Scorecard, parse_scorecard  # noqa: E402
from scorecards.results import store_results  # noqa: E402
from scorecards.tables import FACTS  # noqa: E402

DEFAULT = REPO / "examples" / "scorecards" / "ai-platform-maturity.yaml"
PAGES = {
    "with every check's evidence": "checks { status message observed check { id } } unlock { check { id } status }",
    "with every check's status and id": "checks { status check { id } }",
    "with every check's status (statuses)": "statuses",
}
PAGE_QUERY = """
query Page {
  entities(filter: {kind: ["Component"]}, first: 100) {
    edges { node { ref scorecards { level { id } floor { id } lopsided CHECKS } } }
  }
}"""


def widened_scorecard() -> Scorecard:
    """The default scorecard for every Component, with a 30th check."""
    definition = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))
    definition["spec"]["filter"] = {"kind": ["Component"]}
    extra = copy.deepcopy(definition["spec"]["checks"][0])
    extra.update(
        id="has-a-lifecycle", title="Declares its lifecycle", rule={"fact": "entity.spec.lifecycle", "op": "exists"}
    )
    definition["spec"]["checks"].append(extra)
    scorecard, problems = parse_scorecard(definition, str(DEFAULT))
    assert scorecard is not None and len(scorecard.checks) == 30, problems
    return scorecard


def report_facts(engine: sa.engine.Engine, seed: int = 7) -> int:
    """A realistic spread of reported facts for every component: most report CI, some monitoring."""
    chooser = random.Random(seed)
    now = utc_now()
    rows = []
    with engine.connect() as connection:
        refs = connection.execute(sa.text("SELECT ref FROM entities WHERE kind = 'component'")).scalars().all()
    for ref in refs:
        observed = now - timedelta(days=chooser.randint(0, 45))
        facts: dict[tuple[str, str], object] = {}
        if chooser.random() < 0.8:
            facts |= {("ci", "dataValidation"): chooser.random() < 0.7, ("ci", "artifactVersioned"): True}
            facts |= {("ci", "evaluationGate"): chooser.random() < 0.5, ("ci", "sbom"): chooser.random() < 0.4}
        if chooser.random() < 0.5:
            facts |= {
                ("monitoring", "driftMonitoring"): True,
                ("monitoring", "sloAttainment"): chooser.uniform(0.95, 1),
            }
        if chooser.random() < 0.3:
            facts |= {("dora", "leadTimeHours"): chooser.uniform(1, 100), ("dora", "deploymentsPerWeek"): 3}
        for (source, name), value in facts.items():
            rows.append(
                {
                    "entity_ref": ref,
                    "source": source,
                    "name": name,
                    "value": orjson.dumps(value).decode(),
                    "observed_at": observed,
                }
            )
    with engine.begin() as connection:
        connection.execute(sa.insert(FACTS), rows)
    return len(rows)


def measure_page(engine: sa.engine.Engine, scorecard: Scorecard, checks: str, rounds: int = 30) -> float:
    """In-process p50 (ms) of a page of 100 components with their scorecard, selecting `checks`."""
    from service.graphql.context import RequestContext
    from service.graphql.schema import build_schema

    schema = build_schema()
    query = PAGE_QUERY.replace("CHECKS", checks)

    async def run() -> list[float]:
        samples = []
        for _ in range(rounds):
            started = time.perf_counter()
            result = await schema.execute(query, None, RequestContext(engine, [scorecard]))
            samples.append(time.perf_counter() - started)
            edges = result.data["entities"]["edges"] if result.data else []
            assert not result.errors and len(edges) == 100, result.errors
            assert all(
                len(edge["node"]["scorecards"][0].get("checks") or edge["node"]["scorecards"][0]["statuses"]) == 30
                for edge in edges
            )
        return samples

    return statistics.median(asyncio.run(run())) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int, nargs="?", default=50_000)
    parser.add_argument("--dir", default=None, help="catalogue folder (generated when it has no all.yaml)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    folder = Path(args.dir or Path(tempfile.gettempdir()) / f"stairway-bench-{args.n}")
    if not (folder / "all.yaml").exists():
        subprocess.run(
            [sys.executable, str(Path(__file__).with_name("generate.py")), str(args.n), str(folder)], check=True
        )
    scorecard = widened_scorecard()
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{scratch}/score.db")
        migrate(engine)
        ingest(engine, [str(folder / "all.yaml")])
        facts = report_facts(engine)
        timings = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            with engine.begin() as connection:
                summary = store_results(connection, [scorecard], None, utc_now())
            timings.append(time.perf_counter() - started)
        with engine.connect() as connection:
            levels = dict(
                connection.execute(sa.text("SELECT level, count(*) FROM scorecard_results GROUP BY level")).all()
            )
        pages = {label: measure_page(engine, scorecard, checks) for label, checks in PAGES.items()}
        engine.dispose()
    seconds = statistics.median(timings)
    print(f"catalogue: {args.n} entities, {summary.entities} components scored, {facts} reported facts")
    print(
        f"evaluate + store, 30 checks: {seconds:5.2f} s  ({summary.entities / seconds:,.0f} components/s, "
        f"{seconds / summary.entities * 1000:.3f} ms each; runs {' '.join(f'{t:.2f}' for t in timings)})"
    )
    print(f"levels: {', '.join(f'{level}: {count}' for level, count in sorted(levels.items()))}")
    for label, milliseconds in pages.items():
        print(f"page of 100 components {label}: p50 {milliseconds:5.1f} ms")


if __name__ == "__main__":
    main()
