"""The `stairway` command: ingest descriptors, list processing errors, serve the API.

Commands import what they need when they run: `ingest` starts worker processes that re-import
this module, and each should stay small.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from typing import TextIO

from service.adoption_cli import add_commands as add_adoption_commands
from service.events_cli import add_commands as add_event_commands
from service.evidence_cli import add_commands as add_evidence_commands
from service.scorecard_cli import add_commands as add_scorecard_commands
from service.scorecard_cli import evaluate_catalogue
from service.source_cli import add_commands as add_source_commands


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `stairway` command; returns the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    return int(args.run(args) or 0)


def run() -> None:
    """The `stairway` program: `main`, then exit without tearing the interpreter down.

    By the time a command returns, its database connections are closed and its worker processes
    gone; after a large ingest, freeing the parent's objects one by one would only add a tenth
    of a second before the shell gets its prompt back.
    """
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. `stairway score REF | head`: the reader left, which is no error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 128 + signal.SIGPIPE
    sys.stderr.flush()
    os._exit(code)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stairway",
        description="Maturity scorecards over a Backstage catalogue. The database comes from "
        "STAIRWAY_DATABASE_URL (default: sqlite:///stairway.db in the working directory).",
    )
    parser.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="the configuration file, stairway.yaml (default: STAIRWAY_CONFIG; none: defaults for everything)",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    ingest_cmd = commands.add_parser("ingest", help="read descriptor files, folders or globs into the catalogue")
    ingest_cmd.add_argument("paths", nargs="+", metavar="PATH")
    ingest_cmd.add_argument(
        "--source",
        default=None,
        help="the source these paths make up; its entities no longer found are removed (default: local)",
    )
    ingest_cmd.add_argument(
        "--workers",
        type=int,
        default=None,
        help="parser processes (default: STAIRWAY_WORKERS, else one per CPU this process may use)",
    )
    ingest_cmd.add_argument(
        "--no-score",
        action="store_true",
        help="do not re-evaluate the scorecards nor snapshot adoption afterwards (`stairway evaluate` does both)",
    )
    ingest_cmd.set_defaults(run=_ingest)

    serve_cmd = commands.add_parser("serve", help="serve GraphQL and REST over what the database holds")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8080)
    serve_cmd.add_argument("--graphiql", action="store_true", help="serve the GraphiQL explorer at /graphql")
    serve_cmd.add_argument(
        "--no-migrate",
        action="store_true",
        help="do not migrate the schema on start (`stairway migrate` does; the Helm chart runs it first): "
        "refuse to start on a schema that is behind",
    )
    serve_cmd.add_argument(
        "--no-schedule",
        action="store_true",
        help="do not refresh the configured sources on their schedules (refreshSource and webhooks still do)",
    )
    serve_cmd.set_defaults(run=_serve)

    errors_cmd = commands.add_parser("errors", help="list processing errors with file and line")
    errors_cmd.add_argument("--severity", choices=["error", "warning"], default=None)
    errors_cmd.add_argument("--source", default=None)
    errors_cmd.set_defaults(run=_errors)

    schema_cmd = commands.add_parser("schema", help="print the GraphQL schema (SDL)")
    schema_cmd.set_defaults(run=_schema)

    openapi_cmd = commands.add_parser("openapi", help="print the REST routes' OpenAPI document (YAML)")
    openapi_cmd.set_defaults(run=_openapi)

    migrate_cmd = commands.add_parser(
        "migrate", help="bring the database's schema up to date (on PostgreSQL, one replica at a time)"
    )
    migrate_cmd.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 when the schema is behind this version"
    )
    migrate_cmd.set_defaults(run=_migrate)
    add_scorecard_commands(commands)
    add_adoption_commands(commands)
    add_source_commands(commands)
    add_evidence_commands(commands)
    add_event_commands(commands)
    return parser


def _ingest(args: argparse.Namespace) -> int:
    from catalog.workers import WorkerPool, looks_large

    # On SIGTERM, unwind like Ctrl-C: the transaction rolls back and the workers are told to go.
    signal.signal(signal.SIGTERM, lambda _signal, _frame: sys.exit(143))
    try:
        pool = WorkerPool(args.workers)
    except ValueError as error:
        print(f"stairway: {error}", file=sys.stderr)
        return 2
    if looks_large(args.paths):
        pool.warm_up()  # before the imports below: the workers start while SQLAlchemy loads

    from catalog.database import create_engine, migrate
    from catalog.ingest import DEFAULT_SOURCE, IngestError, ingest
    from service.config import command_config

    config = command_config(args.config)
    if config is None:
        pool.close()
        return 2
    engine = create_engine()
    progress = _ProgressBar(sys.stderr) if sys.stderr.isatty() else None
    try:
        migrate(engine)
        summary = ingest(
            engine,
            args.paths,
            source=args.source or DEFAULT_SOURCE,
            pool=pool,
            progress=progress,
            provenance_keys=config.golden_paths.annotations,
        )
        pool.close(wait=True)
        if progress:
            progress.close()
        # One summary line: the catalogue's changes, then (after re-evaluating) the scoring and today's adoption.
        print(summary.line(), end="" if not args.no_score else "\n", flush=True)
        if not args.no_score:
            print(f"; {evaluate_catalogue(engine, config)}")
    except IngestError as error:
        print(f"stairway: {error}", file=sys.stderr)
        return 2
    finally:
        pool.close(wait=True)  # gone before `run` exits the process
        if progress:
            progress.close()
        engine.dispose()
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from catalog.database import database_url
    from service.app import create_app
    from service.config import command_config
    from service.logs import configure_logging, log_format
    from service.settings import Settings, scorecard_folders

    config = command_config(args.config)
    if config is None:
        return 2
    settings = Settings(
        database_url=database_url(),
        graphiql=args.graphiql,
        scorecard_folders=scorecard_folders(),
        config=config,
        schedule_sources=not args.no_schedule,
        migrate_on_start=not args.no_migrate,
    )
    try:
        chosen = log_format()
    except ValueError as error:
        print(f"stairway: {error}", file=sys.stderr)
        return 2
    log_config = configure_logging(chosen)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_config=log_config)
    return 0


def _errors(args: argparse.Namespace) -> int:
    from catalog import queries
    from catalog.database import create_engine, migrate

    engine = create_engine()
    after = None
    shown = 0
    try:
        migrate(engine)
        with engine.connect() as connection:
            while True:
                rows, more = queries.error_page(connection, after, 500, args.severity, args.source)
                for row in rows:
                    path = row.location.removeprefix("file:")
                    where = f"{path}:{row.line}" if row.line else path
                    subject = f" [{row.entity_ref}]" if row.entity_ref else ""
                    print(f"{where}: {row.severity}{subject}: {row.message}")
                shown += len(rows)
                if not more:
                    break
                after = rows[-1].id
    finally:
        engine.dispose()
    print(f"{shown} processing {'problem' if shown == 1 else 'problems'}", file=sys.stderr)
    return 0


def _schema(_args: argparse.Namespace) -> int:
    from service.graphql.schema import build_schema

    print(build_schema().as_str())
    return 0


def _openapi(_args: argparse.Namespace) -> int:
    from service.openapi import openapi_yaml

    sys.stdout.write(openapi_yaml())
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from catalog.database import SchemaAhead, create_engine, current_revision, migrate, newest_revision

    engine = create_engine()
    try:
        if args.check:
            current = current_revision(engine)
            print(f"schema at {current or 'nothing'}; this version needs {newest_revision()}")
            return 0 if current == newest_revision() else 1
        before, after = migrate(engine)
    except SchemaAhead as error:
        print(f"stairway: {error}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"schema already at {after}" if before == after else f"schema migrated from {before or 'nothing'} to {after}")
    return 0


class _ProgressBar:
    """A one-line progress bar on a terminal."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        filled = self.width * done // max(total, 1)
        if filled == self.last and done != total:
            return
        self.last = filled
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} files")
        self.stream.flush()

    def close(self) -> None:
        if self.last >= 0:
            self.stream.write("\n")
            self.stream.flush()
            self.last = -1


if __name__ == "__main__":
    run()
