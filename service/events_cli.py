"""`stairway events submit FILE`: report deployments and incidents from a file, as a CI/CD system would
through POST /api/events/deployments and /api/events/incidents, then re-score the catalogue.

FILE is `{"deployments": [...], "incidents": [...]}` (either may be left out), each event as the REST
routes take it. `--shift-to-now` moves every timestamp by the same amount so that the newest is now:
to replay a recorded history, or the example one `make run` loads, inside today's windows.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

KINDS = ("deployments", "incidents")
# Where events keep their timestamps: (kind, field), and the commits' committedAt.
TIMESTAMPS = {"deployments": ("finishedAt",), "incidents": ("openedAt", "resolvedAt")}


def add_commands(commands: Any) -> None:
    """Register `events submit` on the `stairway` sub-command parser."""
    events = commands.add_parser("events", help="report delivery events (deployments, incidents) from a file")
    actions = events.add_subparsers(required=True, metavar="ACTION")
    submit = actions.add_parser(
        "submit",
        help='submit {"deployments": [...], "incidents": [...]} as POST /api/events/* takes them',
        description="Take the file's deployments, then its incidents, in batches; re-score the catalogue after. "
        "Exit 1 when a batch is refused (the batches before it are kept), 2 when the file cannot be read.",
    )
    submit.add_argument("file", metavar="FILE")
    submit.add_argument(
        "--shift-to-now",
        action="store_true",
        help="move every timestamp by the same amount so that the newest is now (replaying a recorded history)",
    )
    submit.set_defaults(run=_submit)


def _submit(args: argparse.Namespace) -> int:
    from catalog.tables import utc_now
    from scorecards.delivery import MAX_BATCH, EventError, take_deployments, take_incidents
    from service.config import command_config
    from service.scorecard_cli import UNREADABLE, migrated_engine, read_json_file, score_catalogue

    config = command_config(args.config)
    if config is None:
        return 2
    document = read_json_file(args.file)
    if document is UNREADABLE:
        return 2
    unknown = sorted(set(document) - set(KINDS)) if isinstance(document, dict) else ["(not an object)"]
    if unknown:
        expected = '{"deployments": [...], "incidents": [...]}'
        print(f"stairway: {args.file}: expected {expected}, got {unknown[0]}", file=sys.stderr)
        return 2
    now = utc_now()
    if args.shift_to_now:
        shift_to(document, now)
    takers = {"deployments": take_deployments, "incidents": take_incidents}
    engine = migrated_engine()
    try:
        for kind in KINDS:
            events = document.get(kind, [])
            if not isinstance(events, list):
                print(f"stairway: {args.file}: {kind} must be an array of events", file=sys.stderr)
                return 2
            for start in range(0, len(events), MAX_BATCH):
                try:
                    with engine.begin() as connection:
                        receipt = takers[kind](connection, events[start : start + MAX_BATCH], now)
                except EventError as error:
                    where = _numbered(error.field, start)
                    print(f"stairway: {args.file}: {kind}{where}: {error.message}", file=sys.stderr)
                    return 1
                counts = f"{receipt.created} created, {receipt.updated} updated, {receipt.unchanged} unchanged"
                print(f"{kind}: {receipt.received} received, {counts}")
        print(score_catalogue(engine, config))
    finally:
        engine.dispose()
    return 0


def _numbered(field: str, start: int) -> str:
    """A batch's field (`[3].finishedAt`) as the file's (`[1003].finishedAt`)."""
    return re.sub(r"^\[(\d+)\]", lambda match: f"[{int(match.group(1)) + start}]", field)


def shift_to(document: Mapping[str, Any], now: datetime) -> None:
    """Move every timestamp in `document` (in place) by the same amount, so that the newest is `now`.

    Timestamps that do not parse are left as they are, for the event checks to refuse with their field.
    """
    found = list(_timestamps(document))
    if not found:
        return
    shift = now - max(moment for _holder, _key, moment in found)
    for holder, key, moment in found:
        holder[key] = (moment + shift).astimezone(UTC).isoformat().replace("+00:00", "Z")


def _timestamps(document: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], str, datetime]]:
    """(the object holding it, its key, the instant) of every timestamp that parses, with an offset."""
    for kind, keys in TIMESTAMPS.items():
        for event in document.get(kind) or []:
            if not isinstance(event, dict):
                continue
            holders = [(event, key) for key in keys]
            commits = event.get("commits") if kind == "deployments" else None
            holders += [(commit, "committedAt") for commit in commits or [] if isinstance(commit, dict)]
            for holder, key in holders:
                moment = _instant(holder.get(key))
                if moment is not None:
                    yield holder, key, moment


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
