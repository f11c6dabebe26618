"""Benchmark: cold ingest, no-op re-ingest, peak memory and read latency at N entities.

    python bench/ingest.py 50000 [--dir DIR] [--workers W] [--repeat REPEAT]

Generates the catalogue with bench/generate.py when DIR has none, then, REPEAT times (default 3),
runs `stairway ingest --no-score` into a fresh SQLite file (the catalogue alone; bench/score.py
measures scoring; wall time from process start to exit, peak RSS summed over the process and its
workers) and, right after, times libyaml's C loader alone on the
same files; the two are interleaved so that a noisy machine slows both alike, and medians are
printed. Then it runs the ingest again on the unchanged files, a third re-ingest in-process to
count the write statements, and the in-process p50 of `entity(ref)` and a filtered page of 100
entities with owners and relations.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from catalog.database import create_engine  # noqa: E402
from catalog.ingest import ingest  # noqa: E402

PAGE_QUERY = """
query Page($after: String) {
  entities(filter: {kind: ["Component"], lifecycle: ["production"]}, first: 100, after: $after) {
    edges { node { ref title tags owner { ref title } system { ref } relations { type targetRef } } }
    pageInfo { endCursor }
  }
}"""
ENTITY_QUERY = "query One($ref: String!) { entity(ref: $ref) { ref title owner { ref } relations { type targetRef } } }"


def run_cli(arguments: list[str], database: str) -> tuple[float, int, str]:
    """Run `stairway ARGS` as a user would; wall seconds, peak summed RSS of it and its workers, output."""
    env = {**os.environ, "STAIRWAY_DATABASE_URL": database, "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", *arguments],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss(process.pid))
        time.sleep(0.01)
    seconds = time.perf_counter() - started
    output = process.stdout.read() if process.stdout else ""
    if process.returncode:
        raise SystemExit(f"stairway {' '.join(arguments)} failed:\n{output}")
    return seconds, peak, output.strip()


def _tree_rss(pid: int) -> int:
    """Summed VmRSS of a process and all its descendants, in bytes."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            with open(f"/proc/{current}/task/{current}/children") as children:
                pending.extend(int(child) for child in children.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def parse_only(files: list[str]) -> tuple[float, int]:
    """Seconds for libyaml's C loader to read and parse every file, one process; and documents."""
    started = time.perf_counter()
    documents = 0
    for path in files:
        with open(path, encoding="utf-8") as handle:
            documents += sum(1 for _ in yaml.load_all(handle.read(), Loader=yaml.CSafeLoader))
    return time.perf_counter() - started, documents


def _seconds(samples: list[float]) -> str:
    return " ".join(f"{sample:.2f}" for sample in samples)


def p50(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def measure_reads(engine: sa.engine.Engine, refs: list[str], rounds: int = 60) -> tuple[float, float]:
    """In-process p50 (ms) of entity(ref) and of a filtered page of 100 with owners and relations."""
    # Imported here so the ingest above runs with the modules `stairway ingest` has, no more.
    from service.graphql.context import RequestContext
    from service.graphql.schema import build_schema

    schema = build_schema()

    async def run() -> tuple[list[float], list[float]]:
        one, page = [], []
        for index in range(rounds):
            started = time.perf_counter()
            result = await schema.execute(ENTITY_QUERY, {"ref": refs[index % len(refs)]}, RequestContext(engine))
            one.append(time.perf_counter() - started)
            assert not result.errors and result.data and result.data["entity"], result.errors
            started = time.perf_counter()
            result = await schema.execute(PAGE_QUERY, {"after": None}, RequestContext(engine))
            page.append(time.perf_counter() - started)
            assert not result.errors and result.data and len(result.data["entities"]["edges"]) == 100, result.errors
        return one, page

    one, page = asyncio.run(run())
    return p50(one), p50(page)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int, nargs="?", default=50_000)
    parser.add_argument("--dir", default=None, help="catalogue folder (generated when it has no all.yaml)")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3, help="cold ingests, each followed by a parse-only run")
    args = parser.parse_args()

    folder = Path(args.dir or Path(tempfile.gettempdir()) / f"stairway-bench-{args.n}")
    if not (folder / "all.yaml").exists():
        generator = Path(__file__).with_name("generate.py")
        subprocess.run([sys.executable, str(generator), str(args.n), str(folder)], check=True)
    files = sorted(glob.glob(str(folder / "**" / "*.yaml"), recursive=True))

    workers = ["--workers", str(args.workers)] if args.workers else []
    colds: list[float] = []
    parses: list[float] = []
    cold_rss = 0
    with tempfile.TemporaryDirectory() as scratch:
        for attempt in range(args.repeat):
            database = f"sqlite:///{scratch}/bench-{attempt}.db"
            seconds, rss, cold_line = run_cli(["ingest", str(folder / "all.yaml"), "--no-score", *workers], database)
            colds.append(seconds)
            cold_rss = max(cold_rss, rss)
            parse_seconds, documents = parse_only(files)
            parses.append(parse_seconds)
        cold_seconds, parse_seconds = statistics.median(colds), statistics.median(parses)
        warm_seconds, _warm_rss, warm_line = run_cli(
            ["ingest", str(folder / "all.yaml"), "--no-score", *workers], database
        )

        engine = create_engine(database)
        writes: list[str] = []

        def record(_c: object, _cur: object, statement: str, *_a: object) -> None:
            if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
                writes.append(statement)

        sa.event.listen(engine, "before_cursor_execute", record)
        ingest(engine, [str(folder / "all.yaml")], workers=args.workers)  # a third run, counting writes
        sa.event.remove(engine, "before_cursor_execute", record)
        with engine.connect() as connection:
            entities = connection.execute(sa.text("SELECT count(*) FROM entities")).scalar_one()
            refs = list(
                connection.execute(sa.text("SELECT ref FROM entities WHERE kind = 'component' LIMIT 60")).scalars()
            )
        entity_ms, page_ms = measure_reads(engine, refs)
        engine.dispose()

    print(f"catalogue: {len(files)} files, {documents} documents, {entities} entities stored")
    print(
        f"cold ingest:     {cold_seconds:6.2f} s  {entities / cold_seconds:8.0f} entities/s  "
        f"peak RSS (process + workers) {cold_rss / 2**20:.0f} MB   [{cold_line}]"
    )
    rate = documents / parse_seconds
    print(f"parse only:      {parse_seconds:6.2f} s  {rate:8.0f} documents/s  (CSafeLoader, one process)")
    print(f"  medians of {args.repeat}, run by run: cold {_seconds(colds)}; parse only {_seconds(parses)}")
    verdict = "no slower" if cold_seconds <= parse_seconds else "SLOWER"
    print(f"  cold ingest is {verdict} than parse only ({cold_seconds - parse_seconds:+.2f} s)")
    print(f"re-ingest:       {warm_seconds:6.2f} s  {len(writes)} write statements   [{warm_line}]")
    print(f"entity(ref) p50: {entity_ms:6.1f} ms   page of 100 p50: {page_ms:6.1f} ms")


if __name__ == "__main__":
    main()
