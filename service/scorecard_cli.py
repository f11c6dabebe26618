"""The scorecard commands of `stairway`: score, evaluate, scorecards lint, scorecards dry-run."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from service.text_table import format_table

if TYPE_CHECKING:  # the CLI module stays light: `stairway ingest` workers import it
    from collections.abc import Sequence

    from sqlalchemy.engine import Engine

    from scorecards.definitions import Scorecard
    from service.config import Config


def add_commands(commands: Any) -> None:
    """Register the scorecard commands on the `stairway` sub-command parser."""
    score = commands.add_parser("score", help="show an entity's scorecard checks as a table")
    score.add_argument("ref", metavar="REF", help="an entity ref, e.g. component:recommendation-api")
    score.add_argument("--scorecard", default=None, help="only this scorecard (default: every one that applies)")
    score.set_defaults(run=_score)

    evaluate = commands.add_parser(
        "evaluate", help="re-evaluate and store every scorecard result and snapshot adoption (e.g. nightly)"
    )
    evaluate.set_defaults(run=_evaluate)

    facts = commands.add_parser("facts", help="report facts from a file, as CI would through POST /api/facts")
    facts_actions = facts.add_subparsers(required=True, metavar="ACTION")
    submit = facts_actions.add_parser("submit", help="submit a JSON file of one submission or a list of them")
    submit.add_argument("file", metavar="FILE")
    submit.set_defaults(run=_submit_facts)

    group = commands.add_parser("scorecards", help="check scorecard definition files")
    actions = group.add_subparsers(required=True, metavar="ACTION")
    lint = actions.add_parser("lint", help="report errors and warnings in definition files")
    lint.add_argument("files", nargs="+", metavar="FILE")
    lint.set_defaults(run=_lint)
    dry_run = actions.add_parser("dry-run", help="how levels would change if FILE replaced the live definition")
    dry_run.add_argument("file", metavar="FILE")
    dry_run.set_defaults(run=_dry_run)


def live_scorecards() -> list[Any]:
    from scorecards.definitions import load_scorecards
    from service.settings import scorecard_folders

    scorecards, problems = load_scorecards(scorecard_folders())
    for problem in problems:
        print(f"stairway: scorecard refused: {problem}", file=sys.stderr)
    return scorecards


def migrated_engine() -> Engine:
    from catalog.database import create_engine, migrate

    engine = create_engine()
    migrate(engine)
    return engine


def score_catalogue(engine: Engine, config: Config, scorecards: Sequence[Scorecard] | None = None) -> str:
    """Re-evaluate and store every result (after an ingest, or nightly); what it did, in words.

    Scores with `scorecards` (a server's live definitions), else with those the folders hold now.
    """
    from catalog.tables import utc_now
    from scorecards.results import store_results

    scorecards = live_scorecards() if scorecards is None else scorecards
    started = time.perf_counter()
    with engine.begin() as connection:
        summary = store_results(connection, scorecards, None, utc_now(), config.dora_profile)
    noun = "scorecard" if len(scorecards) == 1 else "scorecards"
    seconds = time.perf_counter() - started
    return f"{summary.entities} entities scored on {len(scorecards)} {noun} in {seconds:.2f}s"


def evaluate_catalogue(engine: Engine, config: Config, scorecards: Sequence[Scorecard] | None = None) -> str:
    """What an ingest or refresh, or the nightly `stairway evaluate`, does afterwards: re-score everything
    and take today's adoption snapshot; what that did, in words."""
    from service.adoption_cli import snapshot_adoption

    return f"{score_catalogue(engine, config, scorecards)}; {snapshot_adoption(engine, config)}"


def _evaluate(args: argparse.Namespace) -> int:
    from service.config import command_config

    config = command_config(args.config)
    if config is None:
        return 2
    engine = migrated_engine()
    try:
        print(evaluate_catalogue(engine, config))
    finally:
        engine.dispose()
    return 0


UNREADABLE = object()  # what read_json_file gives for a file it could not read


def read_json_file(path: str) -> Any:
    """The JSON document in the file at `path`, or UNREADABLE after saying on stderr why not."""
    import orjson

    try:
        with open(path, "rb") as handle:
            return orjson.loads(handle.read())
    except (OSError, orjson.JSONDecodeError) as error:
        print(f"stairway: {path}: {error}", file=sys.stderr)
        return UNREADABLE


def _submit_facts(args: argparse.Namespace) -> int:
    from catalog.tables import utc_now
    from scorecards.facts import FactError
    from scorecards.results import take_facts
    from service.config import command_config

    config = command_config(args.config)
    if config is None:
        return 2
    loaded = read_json_file(args.file)
    if loaded is UNREADABLE:
        return 2
    submissions = loaded if isinstance(loaded, list) else [loaded]
    scorecards = live_scorecards()
    engine = migrated_engine()
    refused = 0
    try:
        for number, body in enumerate(submissions, start=1):
            try:
                with engine.begin() as connection:
                    taken = take_facts(connection, scorecards, body, utc_now(), config.dora_profile)
            except FactError as error:
                refused += 1
                print(f"stairway: {args.file}: submission {number}: {error}", file=sys.stderr)
                continue
            print(f"{taken.entity_ref}: {len(taken.facts)} facts from {taken.source}")
    finally:
        engine.dispose()
    print(f"{len(submissions) - refused} submissions taken, {refused} refused", file=sys.stderr)
    return 1 if refused else 0


def _score(args: argparse.Namespace) -> int:
    from catalog.refs import RefError, parse_ref
    from catalog.tables import utc_now
    from scorecards.results import evaluate_entities
    from service.config import command_config

    config = command_config(args.config)
    if config is None:
        return 2

    try:
        ref = parse_ref(args.ref).ref
    except RefError as error:
        print(f"stairway: {error}", file=sys.stderr)
        return 2
    scorecards = [card for card in live_scorecards() if args.scorecard in (None, card.name)]
    if not scorecards:
        wanted = f"no scorecard named {args.scorecard!r}" if args.scorecard else "no scorecard definitions loaded"
        print(f"stairway: {wanted} (from STAIRWAY_SCORECARDS, default examples/scorecards)", file=sys.stderr)
        return 2
    engine = migrated_engine()
    try:
        with engine.connect() as connection:
            from catalog.queries import entities_by_ref

            if not entities_by_ref(connection, [ref]):
                print(f"stairway: no entity {ref} in the catalogue", file=sys.stderr)
                return 2
            evaluated = evaluate_entities(connection, scorecards, [ref], utc_now(), config.dora_profile)
            found = [result for _ref, result in evaluated]
    finally:
        engine.dispose()
    if not found:
        print(f"{ref}: no scorecard applies to it")
    for result in found:
        _print_result(ref, result)
    return 0


def _print_result(ref: str, result: Any) -> None:
    card = result.scorecard
    following = f" (next: {result.next_level.title})" if result.next_level else " (the top)"
    lopsided = ", lopsided" if result.lopsided else ""
    print(f"{ref} on {card.name}: level {result.level.ordinal} {result.level.title}{following}")
    print(f"floor {result.floor.title}, spread {result.spread}{lopsided}")
    rows = [("LEVEL", "AREA", "CHECK", "STATUS", "REASON")]
    for check in result.checks:
        rows.append((check.check.level.title, check.check.area.id, check.check.id, check.status.value, check.message))
    print("\n".join(format_table(rows, free_last=True)))
    unmet = [check for check in result.unlock if check.status.value in ("FAILED", "NOT_REPORTED")]
    if unmet and result.next_level:
        print(f"To reach {result.next_level.title}:")
        for number, check in enumerate(unmet, start=1):
            print(f"  {number}. {check.check.title} ({check.check.id}): {check.check.remediation}")


def _lint(args: argparse.Namespace) -> int:
    from scorecards.definitions import lint, read_scorecards

    errors = warnings = count = 0
    for path in args.files:
        scorecards, problems = read_scorecards(path)
        count += len(scorecards)
        for problem in problems + [warning for card in scorecards for warning in lint(card)]:
            print(problem)
            errors += problem.severity == "error"
            warnings += problem.severity == "warning"
    print(f"{count} scorecards, {errors} errors, {warnings} warnings", file=sys.stderr)
    return 1 if errors else 0


def _dry_run(args: argparse.Namespace) -> int:
    from catalog.tables import utc_now
    from scorecards.definitions import read_scorecards
    from scorecards.results import evaluate_entities
    from service.config import command_config

    config = command_config(args.config)
    if config is None:
        return 2

    candidates, problems = read_scorecards(args.file)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems or not candidates:
        print(f"stairway: {args.file} has no definition that loads; nothing to compare", file=sys.stderr)
        return 2
    live = {card.name: card for card in live_scorecards()}
    engine = migrated_engine()
    now = utc_now()
    try:
        with engine.connect() as connection:
            for candidate in candidates:
                before = (
                    _levels(evaluate_entities(connection, [live[candidate.name]], None, now, config.dora_profile))
                    if candidate.name in live
                    else {}
                )
                after = _levels(evaluate_entities(connection, [candidate], None, now, config.dora_profile))
                _print_comparison(candidate, before, after, candidate.name in live)
    finally:
        engine.dispose()
    return 0


def _levels(results: Any) -> dict[str, int]:
    return {ref: result.level.ordinal for ref, result in results}


def _print_comparison(candidate: Any, before: dict[str, int], after: dict[str, int], replaces: bool) -> None:
    what = "replacing the live definition" if replaces else "as a new scorecard"
    print(f"{candidate.name} from the file, {what}; nothing is stored")
    old, new = Counter(before.values()), Counter(after.values())
    rows = [("LEVEL", "LIVE", "FILE", "CHANGE")]
    for level in candidate.levels:
        change = new[level.ordinal] - old[level.ordinal]
        rows.append(
            (f"{level.ordinal} {level.title}", str(old[level.ordinal]), str(new[level.ordinal]), f"{change:+d}")
        )
    print("\n".join(format_table(rows)))
    moved = _moves(before, after)
    print(
        f"{moved['up']} entities up, {moved['down']} down, {moved['same']} unchanged, "
        f"{moved['new']} newly scored, {moved['gone']} no longer scored"
    )


def _moves(before: dict[str, int], after: dict[str, int]) -> Counter[str]:
    moves: Counter[str] = Counter()
    for ref in before.keys() | after.keys():
        if ref not in after:
            moves["gone"] += 1
        elif ref not in before:
            moves["new"] += 1
        else:
            moves["up" if after[ref] > before[ref] else "down" if after[ref] < before[ref] else "same"] += 1
    return moves
