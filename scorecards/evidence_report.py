"""An evidence pack as a Markdown report, for people: the same content as the JSON, in sections."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson


def render_markdown(pack: Mapping[str, Any]) -> str:
    """The pack as a report for people: the same content under headings, in tables."""
    entity = pack["entity"]
    lines = [f"# Evidence pack: {entity['ref']}", "", f"Generated {pack['generatedAt']} ({pack['schema']}).", ""]
    lines += _summary(pack)
    lines += _lineage_section(pack["lineage"])
    for card in pack["scorecards"]:
        lines += _scorecard_section(card)
    lines += _dora_section(pack["dora"])
    lines += _seal_section(pack)
    descriptor = orjson.dumps(entity["descriptor"], option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
    lines += ["## Descriptor", "", f"From {_cell(entity.get('location'))}.", "", "```json", descriptor, "```", ""]
    return "\n".join(lines)


def _summary(pack: Mapping[str, Any]) -> list[str]:
    entity, owner = pack["entity"], pack["owner"]
    metadata = entity["descriptor"].get("metadata") or {}
    owned = "none" if owner is None else owner["ref"] + (f" ({owner['title']})" if owner.get("title") else "")
    rows = [
        ("Kind", entity.get("kind")),
        ("Title", metadata.get("title") or metadata.get("name")),
        ("Owner", owned),
        ("Risk tier", pack["riskTier"] or "not declared"),
        ("Model cards", ", ".join(pack["modelCards"]) or "none"),
    ]
    return ["## Summary", "", *_table(("", ""), rows), ""]


def _lineage_section(lineage: Mapping[str, list[dict[str, Any]]]) -> list[str]:
    lines = ["## Lineage", ""]
    for key, heading in (("dependsOn", "Depends on"), ("dependedOnBy", "Depended on by")):
        items = lineage[key]
        lines += [f"### {heading}", ""]
        if not items:
            lines += ["Nothing within two hops.", ""]
            continue
        names = sorted({name for item in items for name in item["levels"]})
        rows = [
            (
                item["ref"] + ("" if item["inCatalogue"] else " (not in the catalogue)"),
                item["hops"],
                item["via"],
                item["through"] or "",
                *(item["levels"][name] if item["levels"][name] is not None else "-" for name in names),
            )
            for item in items
        ]
        lines += [*_table(("Entity", "Hops", "Relation", "Through", *names), rows), ""]
    return lines


def _scorecard_section(card: Mapping[str, Any]) -> list[str]:
    level = card["level"]
    lines = [
        f"## Scorecard: {card['title']} ({card['name']})",
        "",
        f"Level {level['ordinal']} {level['title']}; definition {card['definition']['digest']}.",
        "",
        *([f"**Paper maturity:** {card['paperMaturity']['reason']}.", ""] if card.get("paperMaturity") else []),
        "### Checks",
        "",
    ]
    rows = [
        (
            check["level"],
            check["area"],
            check["id"],
            check["status"],
            _observed(check["observed"]),
            check["message"],
            "; ".join(f"{name} {when or 'never'}" for name, when in check["factTimestamps"].items()),
        )
        for check in card["checks"]
    ]
    lines += [*_table(("Level", "Area", "Check", "Status", "Observed", "Reason", "Facts observed"), rows), ""]
    lines += ["### Exemptions", ""]
    exemptions = [(e["check"], e["reason"], e["createdBy"] or "", e["expiresAt"]) for e in card["exemptions"]]
    lines += [*_table(("Check", "Reason", "By", "Expires"), exemptions), ""] if exemptions else ["None.", ""]
    lines += ["### Level history", ""]
    changes = [point for index, point in enumerate(card["history"]) if not index or _changed(card["history"], index)]
    steps = [(point["day"], point["level"]) for point in changes]
    lines += [*_table(("Since", "Level"), steps), ""] if steps else ["No daily snapshot in the window.", ""]
    return lines


def _changed(history: list[dict[str, Any]], index: int) -> bool:
    return bool(history[index]["level"] != history[index - 1]["level"])


def _dora_section(dora: Mapping[str, Any]) -> list[str]:
    found = dora["bands"]
    rows = [
        ("Deployments per week", _number(dora["deploymentsPerWeek"], "{:.2f}"), found["deploymentFrequency"]),
        ("Lead time for changes", _number(dora["leadTimeHours"], "{:.1f} hours"), found["leadTime"]),
        ("Change failure rate", _number(dora["changeFailureRate"], "{:.1%}"), found["changeFailureRate"]),
        ("Recovery time", _number(dora["recoveryHours"], "{:.1f} hours"), found["recoveryTime"]),
    ]
    events = dora["events"]
    return [
        f"## DORA ({dora['profile']}, {dora['windowDays']} days)",
        "",
        *_table(("Key", "Value", "Band"), rows),
        "",
        f"Overall band {dora['band']}, from {events['deployments']} {events['environment']} deployments "
        f"({dora['failures']} failed) and {events['incidents']} incidents.",
        "",
    ]


def _seal_section(pack: Mapping[str, Any]) -> list[str]:
    integrity, signature = pack.get("integrity"), pack.get("signature")
    lines = ["## Integrity", ""]
    if integrity:
        lines.append(f"SHA-256 of the JSON pack's canonical form: `{integrity['digest']}`.")
    if signature:
        lines.append(f"Signed ({signature['algorithm']}) by key `{signature['keyId']}`.")
    elif integrity:
        lines.append("Not signed.")
    return [*lines, ""] if integrity else []


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    return [
        "| " + " | ".join(map(_cell, header)) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(map(_cell, row)) + " |" for row in rows),
    ]


def _cell(value: object) -> str:
    return " ".join(str(value).split()).replace("|", "\\|") if value is not None else ""


def _observed(value: object) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= 80 else text[:77] + "..."


def _number(value: float | None, form: str) -> str:
    return "not reported" if value is None else form.format(value)
