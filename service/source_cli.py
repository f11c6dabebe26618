"""The source commands of `stairway`: `refresh [NAME...]` and `sources`."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from service.text_table import format_table

if TYPE_CHECKING:
    from catalog.sources.refresh import RefreshOutcome
    from service.config import Config


def add_commands(commands: Any) -> None:
    """Register the source commands on the `stairway` sub-command parser."""
    refresh = commands.add_parser(
        "refresh", help="refresh the configured sources now (all, or those named), then re-score if anything changed"
    )
    refresh.add_argument("names", nargs="*", metavar="NAME", help="a source's name in stairway.yaml")
    refresh.set_defaults(run=_refresh)
    sources = commands.add_parser("sources", help="list the configured sources and how their refreshes went")
    sources.add_argument(
        "--forget",
        metavar="NAME",
        default=None,
        help="remove everything a source that is no longer configured left in the catalogue",
    )
    sources.set_defaults(run=_sources)


def _refresh(args: argparse.Namespace) -> int:
    import asyncio

    from catalog.database import create_engine, migrate
    from service.config import command_config
    from service.refresher import UnknownSource

    config = command_config(args.config)
    if config is None:
        return 2
    if not config.sources:
        print("stairway: no sources are configured (the sources section of stairway.yaml)", file=sys.stderr)
        return 2
    engine = create_engine()
    evaluations: list[str] = []
    try:
        migrate(engine)
        outcomes = asyncio.run(_refresh_all(engine, config, args.names, evaluations))
    except UnknownSource as error:
        print(f"stairway: {error.message}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    for outcome in outcomes:
        print(outcome.line())
    for said in evaluations:  # after each refresh that changed the catalogue
        print(f"evaluated: {said}")
    return 1 if any(outcome.status == "failed" for outcome in outcomes) else 0


async def _refresh_all(engine: Any, config: Config, names: list[str], evaluations: list[str]) -> list[RefreshOutcome]:
    import httpx

    from service.refresher import Refresher
    from service.scorecard_cli import evaluate_catalogue

    def evaluate() -> str:
        evaluations.append(evaluate_catalogue(engine, config))
        return evaluations[-1]

    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as client:
        refresher = Refresher(engine, config, client, on_change=evaluate)
        try:
            return await refresher.refresh_all(names)
        finally:
            await refresher.stop()


def _sources(args: argparse.Namespace) -> int:
    from catalog.database import create_engine, migrate
    from catalog.sources.status import source_states, unconfigured_sources
    from catalog.tables import utc_now
    from service.config import command_config

    config = command_config(args.config)
    if config is None:
        return 2
    if args.forget is not None:
        return _forget(config, args.forget)
    engine = create_engine()
    try:
        migrate(engine)
        with engine.connect() as connection:
            states = source_states(connection, config.sources, utc_now())
            others = unconfigured_sources(connection, config.sources)
    finally:
        engine.dispose()
    for name, count in others.items():
        print(
            f"not configured: {name} holds {count} entities (stairway ingest --source, or taken out of stairway.yaml)"
        )
    if not states:
        print("no sources are configured (the sources section of stairway.yaml)")
        return 0
    rows = [
        [
            state.name,
            state.type,
            state.status,
            _when(state.last_attempt_at),
            _when(state.last_success_at),
            str(state.entity_count),
            _when(state.next_run_at) if state.next_run_at else "on demand",
            (state.last_error or "")[:80],
        ]
        for state in states
    ]
    headings = ["SOURCE", "TYPE", "STATUS", "LAST ATTEMPT", "LAST SUCCESS", "ENTITIES", "NEXT RUN", "LAST ERROR"]
    print("\n".join(format_table([headings, *rows], free_last=True)))
    return 0


def _forget(config: Config, name: str) -> int:
    from catalog.database import create_engine, migrate
    from catalog.sources.refresh import SourceError, forget_source
    from service.scorecard_cli import evaluate_catalogue

    if config.source(name) is not None:
        print(f"stairway: {name!r} is configured; take it out of stairway.yaml first", file=sys.stderr)
        return 2
    engine = create_engine()
    try:
        migrate(engine)
        summary = forget_source(engine, name)
        print(f"forgot {name}: {summary.removed} entities removed")
        if summary.removed:
            print(f"evaluated: {evaluate_catalogue(engine, config)}")
    except SourceError as error:
        print(f"stairway: {error}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


def _when(moment: Any) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")
