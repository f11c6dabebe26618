"""Check rules: fact paths, operators, and their compilation into fast predicates.

A rule is a leaf `{fact, op, value?, maxAge?}` or `{all: [...]}`, `{any: [...]}`, `{not: rule}`.
Rules are compiled once per definition into closures, so evaluating thirty checks over tens of
thousands of components is a few hundred thousand plain Python calls, not an interpreter walk.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from scorecards import dora_facts


class CheckStatus(StrEnum):
    """What a check found for one entity."""

    PASSED = "PASSED"
    FAILED = "FAILED"
    NOT_REPORTED = "NOT_REPORTED"  # a reported fact it needs is missing, or older than its maxAge
    EXEMPT = "EXEMPT"
    NOT_APPLICABLE = "NOT_APPLICABLE"  # the check's filter excludes the entity


class Fact(NamedTuple):
    """A reported fact's latest value and when it was observed."""

    value: object
    observed_at: datetime


@dataclass(frozen=True, slots=True)
class FactDocument:
    """What rules read: the entity as ingested (with `relations`), its reported facts by source, and its
    DORA keys (`dora.*`) by window in days (a window without delivery events is absent)."""

    entity: Mapping[str, object]
    facts: Mapping[str, Mapping[str, Fact]]
    now: datetime
    dora: Mapping[int, Mapping[str, object]] = field(default_factory=dict)


class Outcome(NamedTuple):
    """A rule's verdict, the value it looked at, and a one-line reason."""

    status: CheckStatus
    observed: object
    message: str


@dataclass(frozen=True, slots=True)
class Rule:
    """A compiled rule: `status` decides (the fast path bulk scoring runs), `explain` also says what it saw;
    `dora_windows`, the windows (days) of the `dora.*` facts it reads, which the document must hold."""

    status: Callable[[FactDocument], CheckStatus]
    explain: Callable[[FactDocument], Outcome]
    dora_windows: frozenset[int] = frozenset()

    def __call__(self, document: FactDocument) -> Outcome:
        return self.explain(document)


class RuleError(ValueError):
    """A rule that cannot be compiled; `field` is where in the rule, e.g. `rule.all.1.op`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


OPS = ("exists", "absent", "equals", "notEquals", "in", "notIn", "contains", "matches", "gt", "gte", "lt", "lte")
_NEEDS_NO_VALUE = {"exists", "absent"}
_MISSING = object()
_SEGMENT = re.compile(r'\.?(?:([A-Za-z0-9_\-$@]+)|\["((?:[^"\\]|\\.)*)"\])')


def parse_fact_path(path: object) -> tuple[str, ...]:
    """The segments of `entity.metadata.annotations["backstage.io/techdocs-ref"]` or `facts.ci.coverage`."""
    if not isinstance(path, str) or not path:
        raise ValueError("must be a fact path such as entity.spec.owner or facts.ci.coverage")
    segments: list[str] = []
    position = 0
    while position < len(path):
        match = _SEGMENT.match(path, position)
        opening = match.group(0)[:1] if match else ""
        if match is None or (position == 0 and opening == ".") or (position > 0 and opening not in ".["):
            raise ValueError(
                f'cannot read {path!r} at character {position + 1}: use dotted names, and ["..."] for keys '
                "with dots or slashes"
            )
        plain, quoted = match.groups()
        segments.append(plain if plain is not None else re.sub(r"\\(.)", r"\1", quoted))
        position = match.end()
    root = segments[0]
    if root == "entity":
        return tuple(segments)
    if root == "facts":
        if len(segments) < 3:
            raise ValueError(f"{path!r} must name a source and a fact: facts.<source>.<name>")
        return tuple(segments)
    if root == "dora":
        dora_facts.check_path(segments[1:])
        return tuple(segments)
    raise ValueError(f"{path!r} must start with entity., facts. or dora.")


def describe_path(segments: Sequence[str]) -> str:
    """A path as people write it, without the leading `entity.` (e.g. `spec.owner`)."""
    parts = segments[1:] if segments[0] == "entity" else segments
    out = ""
    for part in parts:
        if _SEGMENT.fullmatch(part) and "." not in part and "/" not in part:
            out += ("." if out else "") + part
        else:
            out += '["' + part.replace('"', '\\"') + '"]'
    return out


def compile_rule(data: object, field: str = "rule") -> Rule:
    """A predicate for a rule definition; raises RuleError naming the faulty field."""
    if not isinstance(data, Mapping):
        raise RuleError(field, "must be a mapping: {fact, op, value} or {all: [...]}, {any: [...]}, {not: rule}")
    composites = [key for key in ("all", "any", "not") if key in data]
    if composites:
        if len(data) != 1:
            raise RuleError(field, f"{composites[0]} must be the rule's only key")
        key = composites[0]
        if key == "not":
            return _negate(compile_rule(data["not"], f"{field}.not"))
        children = data[key]
        if not isinstance(children, list) or not children:
            raise RuleError(f"{field}.{key}", "must be a non-empty list of rules")
        compiled = [compile_rule(child, f"{field}.{key}.{index}") for index, child in enumerate(children)]
        return _all(compiled) if key == "all" else _any(compiled)
    unknown = sorted(set(data) - {"fact", "op", "value", "maxAge"})
    if unknown:
        raise RuleError(field, f"unknown key {unknown[0]!r} (a leaf has fact, op, value, maxAge)")
    try:
        path = parse_fact_path(data.get("fact"))
    except ValueError as error:
        raise RuleError(f"{field}.fact", str(error)) from None
    op = data.get("op")
    if op not in OPS:
        raise RuleError(f"{field}.op", f"must be one of {', '.join(OPS)}; got {op!r}")
    has_value = "value" in data
    if op in _NEEDS_NO_VALUE and has_value:
        raise RuleError(f"{field}.value", f"{op} takes no value")
    if op not in _NEEDS_NO_VALUE and not has_value:
        raise RuleError(f"{field}.value", f"{op} needs a value")
    max_age = None
    if "maxAge" in data:
        if path[0] == "entity":
            raise RuleError(f"{field}.maxAge", "applies only to facts.* and dora.* paths (they have an age)")
        try:
            max_age = parse_duration(data["maxAge"])
        except ValueError as error:
            raise RuleError(f"{field}.maxAge", str(error)) from None
    try:
        test = _operator(op, data.get("value"))
    except ValueError as error:
        raise RuleError(f"{field}.value", str(error)) from None
    if path[0] == "dora":
        try:
            window = dora_facts.window_days(max_age)
        except ValueError as error:
            raise RuleError(f"{field}.maxAge", str(error)) from None
        return _measured(path, op, data.get("value"), test, window)
    return _leaf(path, op, data.get("value"), test, max_age)


_DURATION = re.compile(
    r"P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?"
)


def parse_duration(text: object) -> timedelta:
    """An ISO-8601 duration such as P30D, P1W or PT12H; a year counts 365 days and a month 30."""
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"must be an ISO-8601 duration such as P30D or PT12H; got {text!r}")
    parts = {key: int(value) for key, value in match.groupdict().items() if value}
    days = parts.get("years", 0) * 365 + parts.get("months", 0) * 30 + parts.get("weeks", 0) * 7 + parts.get("days", 0)
    return timedelta(
        days=days, hours=parts.get("hours", 0), minutes=parts.get("minutes", 0), seconds=parts.get("seconds", 0)
    )


def _operator(op: str, expected: Any) -> Callable[[Any], bool]:
    """The test an operator applies to an observed value (present, not None)."""
    if op in _NEEDS_NO_VALUE:  # presence is decided before the test: any present value is one
        return lambda _observed: True
    if op in ("equals", "notEquals"):
        negate = op == "notEquals"
        return lambda observed: _same(observed, expected) != negate
    if op in ("in", "notIn"):
        if not isinstance(expected, list):
            raise ValueError(f"{op} needs a list of values")
        negate = op == "notIn"
        return lambda observed: any(_same(observed, option) for option in expected) != negate
    if op == "contains":
        return lambda observed: (
            any(_same(item, expected) for item in observed)
            if isinstance(observed, list)
            else isinstance(observed, str) and isinstance(expected, str) and expected in observed
        )
    if op == "matches":
        if not isinstance(expected, str):
            raise ValueError("matches needs a regular expression as a string")
        try:
            pattern = re.compile(expected)
        except re.error as error:
            raise ValueError(f"is not a valid regular expression: {error}") from None
        return lambda observed: isinstance(observed, str) and pattern.search(observed) is not None
    if not _is_number(expected):
        raise ValueError(f"{op} needs a number")
    compare: Callable[[float, float], bool] = {
        "gt": float.__gt__,
        "gte": float.__ge__,
        "lt": float.__lt__,
        "lte": float.__le__,
    }[op]
    return lambda observed: _is_number(observed) and compare(float(observed), float(expected))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(observed: object, expected: object) -> bool:
    """Equality that keeps true apart from 1, as JSON does."""
    return observed == expected and (type(observed) is bool) == (type(expected) is bool)


def _leaf(
    path: tuple[str, ...], op: str, expected: object, test: Callable[[Any], bool], max_age: timedelta | None
) -> Rule:
    name = describe_path(path)
    wanted = _expectation(op, expected)
    absent = op == "absent"
    passed, failed, missing = CheckStatus.PASSED, CheckStatus.FAILED, CheckStatus.NOT_REPORTED
    if path[0] == "facts":
        source, fact_name, inner = path[1], path[2], path[3:]

        def reported_status(document: FactDocument) -> CheckStatus:
            fact = document.facts.get(source, {}).get(fact_name)
            if fact is None or (max_age is not None and document.now - fact.observed_at > max_age):
                return missing
            observed = _walk(fact.value, inner)
            if observed is _MISSING or observed is None:
                return passed if absent else missing
            return failed if absent or not test(observed) else passed

        def reported(document: FactDocument) -> Outcome:
            status = reported_status(document)
            fact = document.facts.get(source, {}).get(fact_name)
            if fact is None:
                return Outcome(status, None, f"{name} was never reported")
            when = fact.observed_at.date().isoformat()
            if max_age is not None and document.now - fact.observed_at > max_age:
                return Outcome(status, fact.value, f"{name} was last reported on {when}, too long ago")
            observed = _walk(fact.value, inner)
            if observed is _MISSING or observed is None:
                reason = f"{name} is absent" if absent else f"{name} was not in the facts reported on {when}"
                return Outcome(status, None, reason)
            verdict = "" if status is passed else f", expected {wanted}"
            return Outcome(status, observed, f"{name} was {_show(observed)} on {when}{verdict}")

        return Rule(reported_status, reported)
    inner = path[1:]

    def declared_status(document: FactDocument) -> CheckStatus:
        observed = _walk(document.entity, inner)
        if observed is _MISSING or observed is None:
            return passed if absent else failed
        return failed if absent or not test(observed) else passed

    def declared(document: FactDocument) -> Outcome:
        status = declared_status(document)
        observed = _walk(document.entity, inner)
        if observed is _MISSING or observed is None:
            return Outcome(status, None, f"{name} is absent")
        verdict = "" if status is passed else f", expected {wanted}"
        return Outcome(status, observed, f"{name} is {_show(observed)}{verdict}")

    return Rule(declared_status, declared)


def _measured(path: tuple[str, ...], op: str, expected: object, test: Callable[[Any], bool], window: int) -> Rule:
    """A leaf over the `dora.*` facts computed over `window` days: absent (nothing measured) is NOT_REPORTED."""
    name = describe_path(path)
    wanted = _expectation(op, expected)
    absent = op == "absent"
    inner = path[1:]
    over = f"over the last {window} days"

    def measured_status(document: FactDocument) -> CheckStatus:
        observed = _walk(document.dora.get(window, {}), inner)
        if observed is _MISSING or observed is None:
            return CheckStatus.PASSED if absent else CheckStatus.NOT_REPORTED
        return CheckStatus.FAILED if absent or not test(observed) else CheckStatus.PASSED

    def measured(document: FactDocument) -> Outcome:
        status = measured_status(document)
        keys = document.dora.get(window)
        observed = _walk(keys or {}, inner)
        if observed is _MISSING or observed is None:
            why = "no delivery events were reported" if keys is None else f"{name} could not be measured"
            return Outcome(status, None, f"{why} {over}")
        verdict = "" if status is CheckStatus.PASSED else f", expected {wanted}"
        return Outcome(status, observed, f"{name} was {_show(observed)} {over}{verdict}")

    return Rule(measured_status, measured, frozenset({window}))


def _walk(value: object, segments: Sequence[str]) -> object:
    for segment in segments:
        if type(value) is dict or isinstance(value, Mapping):  # the common case, without an ABC check
            value = value.get(segment, _MISSING)
        elif isinstance(value, list) and segment.isdigit() and int(segment) < len(value):
            value = value[int(segment)]
        else:
            return _MISSING
        if value is _MISSING:
            return value
    return value


def _expectation(op: str, expected: object) -> str:
    words = {
        "exists": "present",
        "equals": f"{_show(expected)}",
        "notEquals": f"anything but {_show(expected)}",
        "in": f"one of {_show(expected)}",
        "notIn": f"none of {_show(expected)}",
        "contains": f"to contain {_show(expected)}",
        "matches": f"to match /{expected}/",
        "gt": f"> {expected}",
        "gte": f">= {expected}",
        "lt": f"< {expected}",
        "lte": f"<= {expected}",
    }
    return words.get(op, op)


def _show(value: object, limit: int = 80) -> str:
    """A value as JSON-ish text for a one-line reason."""
    if isinstance(value, str):
        text = '"' + value + '"'
    elif value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, list):
        text = "[" + ", ".join(_show(item, limit) for item in value) + "]"
    elif isinstance(value, Mapping):
        text = "{" + ", ".join(f"{key}: {_show(item, limit)}" for key, item in value.items()) + "}"
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _negate(rule: Rule) -> Rule:
    swapped = {CheckStatus.PASSED: CheckStatus.FAILED, CheckStatus.FAILED: CheckStatus.PASSED}

    def negated_status(document: FactDocument) -> CheckStatus:
        status = rule.status(document)
        return swapped.get(status, status)

    def negated(document: FactDocument) -> Outcome:
        outcome = rule.explain(document)
        if outcome.status is CheckStatus.PASSED:
            return Outcome(CheckStatus.FAILED, outcome.observed, f"not expected: {outcome.message}")
        if outcome.status is CheckStatus.FAILED:
            return Outcome(CheckStatus.PASSED, outcome.observed, f"as expected, not: {outcome.message}")
        return outcome

    return Rule(negated_status, negated, rule.dora_windows)


def _first_deciding(
    rules: list[Rule], deciding: CheckStatus, otherwise: CheckStatus
) -> Callable[[FactDocument], CheckStatus]:
    """The status of `all` (a failure decides) or `any` (a pass decides): the deciding status as soon
    as a rule gives it, else NOT_REPORTED if a rule lacked its fact, else `otherwise`."""

    def status(document: FactDocument) -> CheckStatus:
        result = otherwise
        for rule in rules:
            found = rule.status(document)
            if found is deciding:
                return found
            if found is CheckStatus.NOT_REPORTED:
                result = found
        return result

    return status


def _all(rules: list[Rule]) -> Rule:
    def every(document: FactDocument) -> Outcome:
        outcomes = [rule.explain(document) for rule in rules]
        for status in (CheckStatus.FAILED, CheckStatus.NOT_REPORTED):
            deciding = next((outcome for outcome in outcomes if outcome.status is status), None)
            if deciding is not None:
                return deciding
        return Outcome(CheckStatus.PASSED, [o.observed for o in outcomes], "; ".join(o.message for o in outcomes))

    return Rule(_first_deciding(rules, CheckStatus.FAILED, CheckStatus.PASSED), every, _windows(rules))


def _any(rules: list[Rule]) -> Rule:
    def some(document: FactDocument) -> Outcome:
        outcomes = []
        for rule in rules:
            outcome = rule.explain(document)
            if outcome.status is CheckStatus.PASSED:
                return outcome
            outcomes.append(outcome)
        status = (
            CheckStatus.NOT_REPORTED
            if any(outcome.status is CheckStatus.NOT_REPORTED for outcome in outcomes)
            else CheckStatus.FAILED
        )
        return Outcome(status, [o.observed for o in outcomes], "none held: " + "; ".join(o.message for o in outcomes))

    return Rule(_first_deciding(rules, CheckStatus.PASSED, CheckStatus.FAILED), some, _windows(rules))


def _windows(rules: list[Rule]) -> frozenset[int]:
    return frozenset().union(*(rule.dora_windows for rule in rules))
