"""The golden-path commands of `stairway`: adoption (with golden paths and trend) and organisation maturity."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING, Any

from service.text_table import format_table

if TYPE_CHECKING:  # the CLI module stays light: `stairway ingest` workers import it
    from sqlalchemy.engine import Engine

    from service.config import Config

GROUPS = ("owner", "system", "domain", "template", "template-version")


def add_commands(commands: Any) -> None:
    """Register the adoption commands on the `stairway` sub-command parser."""
    adoption = commands.add_parser("adoption", help="golden-path adoption, overall and by group, as a table")
    adoption.add_argument("--group-by", choices=GROUPS, default=None)
    adoption.add_argument("--since", type=_moment, default=None, help="only components created at or after (ISO date)")
    adoption.add_argument("--until", type=_moment, default=None, help="only components created before (ISO date)")
    adoption.add_argument("--golden-paths", action="store_true", help="also list each golden path's adopters and drift")
    adoption.add_argument(
        "--trend", type=_days, default=None, metavar="DAYS", help="also the daily points of DAYS days (1-3660)"
    )
    _filter_arguments(adoption)
    adoption.set_defaults(run=_adoption)

    maturity = commands.add_parser("maturity", help="the organisation's maturity level, criterion by criterion")
    _filter_arguments(maturity)
    maturity.set_defaults(run=_maturity)


def _filter_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", action="append", default=None, help="entity kinds in scope (default: Component)")
    parser.add_argument("--lifecycle", action="append", default=None)
    parser.add_argument("--owner", default=None)
    parser.add_argument("--system", default=None)
    parser.add_argument("--domain", default=None)
    parser.add_argument("--tag", default=None)


def _moment(text: str) -> datetime:
    from catalog.provenance import parse_timestamp

    moment = parse_timestamp(text)
    if moment is None:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or timestamp: {text!r}")
    return moment


def _days(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 3660:
        raise argparse.ArgumentTypeError(f"not a number of days from 1 to 3660: {text!r}")
    return int(text)


def _entity_filter(args: argparse.Namespace) -> Any:
    from catalog.queries import EntityFilter

    return EntityFilter(
        kind=args.kind, lifecycle=args.lifecycle, owner=args.owner, system=args.system, domain=args.domain, tag=args.tag
    )


def snapshot_adoption(engine: Engine, config: Config) -> str:
    """Take today's adoption snapshot (after an ingest); what it found, in words."""
    from catalog.tables import utc_now
    from scorecards import adoption

    now = utc_now()
    with engine.begin() as connection:
        adoption.snapshot_adoption(connection, config.golden_paths, config.adoption, now)
        overall = adoption.adoption(connection, config.golden_paths)[0]
    return f"{overall.on_golden_path} of {overall.total} components on a golden path"


def _adoption(args: argparse.Namespace) -> int:
    from catalog.tables import utc_now
    from scorecards import adoption, golden_paths

    if args.since and args.until and args.since > args.until:
        print("stairway: --since is after --until: the window is empty", file=sys.stderr)
        return 2
    config, engine = _setup(args)
    if engine is None:
        return 2
    entity_filter = _entity_filter(args)
    group_by = adoption.AdoptionGroup(args.group_by.upper().replace("-", "_")) if args.group_by else None
    try:
        with engine.connect() as connection:
            overall, buckets = adoption.adoption(
                connection, config.golden_paths, entity_filter, args.since, args.until, group_by
            )
            paths = golden_paths.golden_paths(connection, config.golden_paths, entity_filter)
            series = adoption.trend_series(config.adoption, entity_filter)
            points = (
                adoption.adoption_trend(connection, series, args.trend, utc_now().date())
                if series and args.trend
                else []
            )
    finally:
        engine.dispose()
    window = _window(args.since, args.until)
    noun = "entities" if args.kind else "components"
    print(f"{overall.on_golden_path} of {overall.total} {noun}{window} on a golden path ({_percent(overall)})")
    if group_by:
        _print_groups(args.group_by.upper(), buckets)
    if args.golden_paths:
        _print_golden_paths(paths)
    if args.trend:
        _print_trend(points if series else None)
    return 0


def _maturity(args: argparse.Namespace) -> int:
    from catalog.tables import utc_now
    from scorecards.organization import organization_maturity
    from service.scorecard_cli import live_scorecards

    config, engine = _setup(args)
    if engine is None:
        return 2
    names = [card.name for card in live_scorecards()]
    try:
        with engine.connect() as connection:
            found = organization_maturity(
                connection,
                config.golden_paths,
                config.maturity,
                names,
                _entity_filter(args),
                utc_now(),
                config.dora_profile,
            )
    finally:
        engine.dispose()
    print(f"Organisation maturity: level {found.level.ordinal} {found.level.title}")
    rows = [("LEVEL", "CRITERION", "VALUE", "THRESHOLD", "", "EVIDENCE")]
    for criterion in found.criteria:
        rows.append(
            (
                f"{criterion.level.ordinal} {criterion.level.title}",
                criterion.id,
                _measure(criterion.value, criterion.unit),
                _measure(criterion.threshold, criterion.unit),
                "pass" if criterion.passed else "FAIL",
                criterion.evidence,
            )
        )
    print("\n".join(format_table(rows, free_last=True)))
    if found.lopsided_share is not None:
        print(f"Lopsided scorecards: {found.lopsided_share:.1f}% of scored components in scope")
    if found.paper is not None and found.paper.share is not None:
        paper = found.paper
        print(
            f"Paper maturity: {paper.on_paper} of {paper.claimed} components at level 4 or 5 ({paper.share:.1f}%) "
            f"have a LOW or unreported DORA band over the last {paper.window_days} days"
        )
    if found.unlock:
        print(f"To reach level {found.level.ordinal + 1}: " + "; ".join(c.title for c in found.unlock))
    return 0


def _print_groups(heading: str, buckets: Any) -> None:
    rows: list[tuple[str, ...]] = [(heading, "TOTAL", "ON PATH", "%")]
    rows += [(b.key, str(b.total), str(b.on_golden_path), _percent(b)) for b in buckets]
    print("\n".join(format_table(rows)))


def _print_golden_paths(paths: Any) -> None:
    rows: list[tuple[str, ...]] = [
        ("GOLDEN PATH", "VERSION", "ADOPTERS", "OTHER TEAMS", "CURRENT", "BEHIND", "UNKNOWN")
    ]
    for path in paths:
        counts = (path.adopters, path.cross_team_adopters, path.current, path.behind, path.unknown_version)
        rows.append((path.template_ref, path.version or "-", *(str(n) for n in counts)))
    print("\n".join(format_table(rows)))


def _print_trend(points: Any) -> None:
    if points is None:
        print("no daily snapshots for this scope (adoption.trendScopes in the configuration lists those kept)")
        return
    rows: list[tuple[str, ...]] = [("DAY", "TOTAL", "ON PATH", "%", "NEW", "NEW ON PATH", "NEW %")]
    for point in points:
        overall = (str(point.overall.total), str(point.overall.on_golden_path), _percent(point.overall))
        new = (str(point.new.total), str(point.new.on_golden_path), _percent(point.new))
        rows.append((point.day.isoformat(), *overall, *new))
    print("\n".join(format_table(rows)))


def _setup(args: argparse.Namespace) -> tuple[Config, Engine | None]:
    """The configuration and a migrated engine, or (defaults, None) after saying what is wrong."""
    from catalog.database import create_engine, migrate
    from service.config import Config, command_config

    config = command_config(args.config)
    if config is None:
        return Config(), None
    engine = create_engine()
    migrate(engine)
    return config, engine


def _percent(counted: Any) -> str:
    return "-" if counted.percentage is None else f"{counted.percentage:.1f}%"


def _measure(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}%" if unit == "percent" else f"{value:g}"


def _window(since: datetime | None, until: datetime | None) -> str:
    if since is None and until is None:
        return ""
    return f" created from {_when(since) if since else 'the start'} to {_when(until) if until else 'now'}"


def _when(moment: datetime) -> str:
    """A moment in UTC: its date alone at midnight, else to the minute."""
    utc = moment.astimezone(UTC)
    return utc.date().isoformat() if utc.time() == time() else utc.strftime("%Y-%m-%d %H:%M UTC")
