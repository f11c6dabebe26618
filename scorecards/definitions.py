"""Scorecard definitions: the `stairway.dev/v1alpha1` Scorecard file format, read, checked and linted.

A broken definition is refused with messages naming the file, the check and the field; the other
definitions still load.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from catalog.documents import Document, DocumentError, decode, read_at_most, read_documents
from catalog.refs import RefError, canonical_ref
from scorecards.rules import Rule, RuleError, compile_rule

API_VERSION = "stairway.dev/v1alpha1"
KIND = "Scorecard"
DEFAULT_LOPSIDED_THRESHOLD = 3
FILTER_KEYS = ("kind", "type", "lifecycle", "tags", "namespace", "owner", "system")


@dataclass(frozen=True, slots=True)
class Level:
    ordinal: int  # 1 is the floor
    id: str
    title: str


@dataclass(frozen=True, slots=True)
class Area:
    id: str
    title: str


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    title: str | None = None


@dataclass(frozen=True, slots=True)
class EntityScope:
    """Which entities a scorecard or check applies to: each key lists accepted values (any of them),
    and all given keys must match. Matching ignores case; `tags` accepts an entity with any listed tag."""

    values: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def matches(self, entity: Mapping[str, object]) -> bool:
        """Whether an ingested entity body falls in this scope."""
        for key, accepted in self.values.items():
            if key == "tags":
                tags = (entity.get("metadata") or {}).get("tags") or []  # type: ignore[attr-defined]
                if not any(str(tag).lower() in accepted for tag in tags):
                    return False
            elif _scope_value(entity, key) not in accepted:
                return False
        return True


_REF_KINDS = {"owner": "group", "system": "system"}  # filters on these compare canonical refs


def _scope_value(entity: Mapping[str, object], key: str) -> str | None:
    if key == "kind":
        value = entity.get("kind")
    else:
        holder: Any = entity.get("metadata" if key == "namespace" else "spec")
        value = holder.get(key) if isinstance(holder, dict) else None
        if key == "namespace" and not value:
            value = "default"
        elif key in _REF_KINDS and isinstance(value, str):
            metadata: Any = entity.get("metadata") or {}
            try:
                return canonical_ref(
                    value, default_kind=_REF_KINDS[key], default_namespace=metadata.get("namespace") or "default"
                )
            except RefError:
                return None
    return str(value).lower() if value is not None else None


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    title: str
    level: Level
    area: Area
    rule: Rule
    remediation: str
    description: str | None = None
    scope: EntityScope | None = None  # narrows the scorecard's own
    links: tuple[Link, ...] = ()
    definition: Mapping[str, object] = field(default_factory=dict)  # the rule as written, for display


@dataclass(frozen=True, slots=True)
class Scorecard:
    name: str
    title: str
    description: str | None
    scope: EntityScope
    levels: tuple[Level, ...]
    areas: tuple[Area, ...]
    checks: tuple[Check, ...]
    lopsided_threshold: int
    source: str  # the file it was read from

    def level(self, ordinal: int) -> Level:
        return self.levels[ordinal - 1]

    @property
    def check_ids(self) -> tuple[str, ...]:
        return tuple(check.id for check in self.checks)

    @property
    def dora_windows(self) -> frozenset[int]:
        """The windows (days) over which its checks read `dora.*` facts; empty when none does."""
        return frozenset().union(*(check.rule.dora_windows for check in self.checks))

    @property
    def check_places(self) -> tuple[tuple[str, int], ...]:
        """Each check's (area id, level ordinal), in definition order."""
        return tuple((check.area.id, check.level.ordinal) for check in self.checks)


@dataclass(frozen=True, slots=True)
class DefinitionProblem:
    """An error refuses the whole definition; a warning (from lint) does not."""

    file: str
    message: str
    check: str | None = None
    field: str | None = None
    severity: str = "error"

    def __str__(self) -> str:
        where = (
            self.file + (f": check {self.check!r}" if self.check else "") + (f": {self.field}" if self.field else "")
        )
        return f"{where}: {self.severity}: {self.message}"


class _Refused(Exception):
    def __init__(self, problem: DefinitionProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


Refuse = Callable[..., _Refused]  # (message, check=None, where=None): the error that refuses a definition


def parse_scorecard(data: object, file: str) -> tuple[Scorecard | None, list[DefinitionProblem]]:
    """A scorecard from one YAML document, or None and the errors that refuse it."""
    problems: list[DefinitionProblem] = []

    def refuse(message: str, check: str | None = None, where: str | None = None) -> _Refused:
        return _Refused(DefinitionProblem(file, message, check, where))

    try:
        if not isinstance(data, Mapping):
            raise refuse("a Scorecard definition must be a mapping")
        if data.get("apiVersion") != API_VERSION or data.get("kind") != KIND:
            raise refuse(f"must have apiVersion: {API_VERSION} and kind: {KIND}", where="apiVersion")
        metadata = data.get("metadata")
        if not isinstance(metadata, Mapping) or not _is_id(metadata.get("name")):
            raise refuse("must be a lower-case name of letters, digits and dashes", where="metadata.name")
        spec = data.get("spec")
        if not isinstance(spec, Mapping):
            raise refuse("must be a mapping", where="spec")
        scope = _scope(spec.get("filter"), "spec.filter", None, refuse)
        if not spec.get("filter"):
            scope = EntityScope({"kind": frozenset({"component"})})
        levels = tuple(
            Level(index, item["id"], item.get("title") or item["id"])
            for index, item in enumerate(_named_list(spec.get("levels"), "spec.levels", refuse), start=1)
        )
        if len(levels) < 2:
            raise refuse("needs at least two levels: the first is the floor, with no checks", where="spec.levels")
        areas = tuple(
            Area(item["id"], item.get("title") or item["id"])
            for item in _named_list(spec.get("areas"), "spec.areas", refuse)
        )
        if not areas:
            raise refuse("needs at least one area", where="spec.areas")
        threshold = spec.get("lopsidedThreshold", DEFAULT_LOPSIDED_THRESHOLD)
        if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
            raise refuse("must be a whole number of levels, 1 or more", where="spec.lopsidedThreshold")
        raw_checks = spec.get("checks")
        if not isinstance(raw_checks, list) or not raw_checks:
            raise refuse("must be a non-empty list of checks", where="spec.checks")
        checks: list[Check] = []
        seen: set[str] = set()
        for index, raw in enumerate(raw_checks):
            try:
                check = _check(raw, index, levels, areas, refuse)
            except _Refused as refused:
                problems.append(refused.problem)
                continue
            if check.id in seen:
                problems.append(DefinitionProblem(file, "duplicate check id", check.id, f"spec.checks.{index}.id"))
                continue
            seen.add(check.id)
            checks.append(check)
        if problems:
            return None, problems
        scorecard = Scorecard(
            name=metadata["name"],
            title=str(metadata.get("title") or metadata["name"]),
            description=_optional_text(metadata.get("description")),
            scope=scope,
            levels=levels,
            areas=areas,
            checks=tuple(checks),
            lopsided_threshold=threshold,
            source=file,
        )
        return scorecard, []
    except _Refused as refused:
        return None, [*problems, refused.problem]


def _check(raw: object, index: int, levels: Sequence[Level], areas: Sequence[Area], refuse: Refuse) -> Check:
    where = f"spec.checks.{index}"
    if not isinstance(raw, Mapping):
        raise refuse("must be a mapping", where=where)
    if not _is_id(raw.get("id")):
        raise refuse("must be a lower-case id of letters, digits and dashes", where=f"{where}.id")
    check_id: str = raw["id"]
    level = next((level for level in levels if level.id == raw.get("level")), None)
    if level is None:
        known = ", ".join(level.id for level in levels[1:])
        raise refuse(f"unknown level {raw.get('level')!r}; one of {known}", check_id, f"{where}.level")
    if level.ordinal == 1:
        raise refuse(f"{level.id!r} is the floor and has no checks; use a higher level", check_id, f"{where}.level")
    area = next((area for area in areas if area.id == raw.get("area")), None)
    if area is None:
        known = ", ".join(area.id for area in areas)
        raise refuse(f"unknown area {raw.get('area')!r}; one of {known}", check_id, f"{where}.area")
    if not isinstance(raw.get("title"), str) or not raw["title"].strip():
        raise refuse("is required", check_id, f"{where}.title")
    if not isinstance(raw.get("remediation"), str) or not raw["remediation"].strip():
        raise refuse("is required: say how to pass the check", check_id, f"{where}.remediation")
    try:
        rule = compile_rule(raw.get("rule"), f"{where}.rule")
    except RuleError as error:
        raise refuse(error.message, check_id, error.field) from None
    scope = _scope(raw.get("filter"), f"{where}.filter", check_id, refuse) if raw.get("filter") else None
    links = tuple(
        _link(link, f"{where}.links.{number}", check_id, refuse) for number, link in enumerate(raw.get("links") or [])
    )
    return Check(
        id=check_id,
        title=raw["title"],
        level=level,
        area=area,
        rule=rule,
        remediation=raw["remediation"].strip(),
        description=_optional_text(raw.get("description")),
        scope=scope,
        links=links,
        definition=raw["rule"],
    )


def _scope(raw: object, where: str, check: str | None, refuse: Refuse) -> EntityScope:
    if raw is None:
        return EntityScope()
    if not isinstance(raw, Mapping):
        raise refuse("must be a mapping of " + ", ".join(FILTER_KEYS), check, where)
    values: dict[str, frozenset[str]] = {}
    for key, accepted in raw.items():
        if key not in FILTER_KEYS:
            raise refuse(f"unknown key {key!r}; one of {', '.join(FILTER_KEYS)}", check, f"{where}.{key}")
        options = accepted if isinstance(accepted, list) else [accepted]
        if not options or not all(isinstance(option, str) and option for option in options):
            raise refuse("must be a string or a list of strings", check, f"{where}.{key}")
        if key in _REF_KINDS:
            try:
                options = [canonical_ref(option, default_kind=_REF_KINDS[key]) for option in options]
            except RefError as error:
                raise refuse(str(error), check, f"{where}.{key}") from None
        values[key] = frozenset(option.lower() for option in options)
    return EntityScope(values)


def _link(raw: object, where: str, check: str, refuse: Refuse) -> Link:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("url"), str) or "://" not in raw["url"]:
        raise refuse("must be {url, title} with an absolute url", check, where)
    return Link(raw["url"], _optional_text(raw.get("title")))


def _named_list(raw: object, where: str, refuse: Refuse) -> list[Mapping[str, str]]:
    if not isinstance(raw, list):
        raise refuse("must be a list of {id, title}", where=where)
    items = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        if isinstance(item, str):
            item = {"id": item}
        if not isinstance(item, Mapping) or not _is_id(item.get("id")):
            raise refuse("must have a lower-case id of letters, digits and dashes", where=f"{where}.{index}.id")
        if item["id"] in seen:
            raise refuse(f"duplicate id {item['id']!r}", where=f"{where}.{index}.id")
        seen.add(item["id"])
        items.append(item)
    return items


def _is_id(value: object) -> bool:
    return (
        isinstance(value, str) and 0 < len(value) <= 63 and value.replace("-", "").isalnum() and value == value.lower()
    )


def _optional_text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def read_scorecards(path: str) -> tuple[list[Scorecard], list[DefinitionProblem]]:
    """Every Scorecard in one file; documents that are not Scorecards are refused."""
    try:
        text = decode(read_at_most(path))
    except OSError as error:
        return [], [DefinitionProblem(path, f"cannot read the file: {error.strerror}")]
    except DocumentError as error:
        return [], [DefinitionProblem(path, error.message)]
    scorecards: list[Scorecard] = []
    problems: list[DefinitionProblem] = []
    for document in read_documents(text):
        if isinstance(document, DocumentError):
            line = f" (line {document.line})" if document.line else ""
            problems.append(DefinitionProblem(path, document.message + line))
            continue
        if document.data is None:
            continue
        scorecard, refused = parse_scorecard(document.data, _where(path, document))
        problems += refused
        if scorecard is not None:
            scorecards.append(scorecard)
    return scorecards, problems


def _where(path: str, document: Document) -> str:
    return f"{path}:{document.line}" if document.line > 1 else path


def load_scorecards(folders: Iterable[str]) -> tuple[list[Scorecard], list[DefinitionProblem]]:
    """Every `*.yaml`/`*.yml` Scorecard in these folders (or files); a name defined twice keeps the first."""
    scorecards: dict[str, Scorecard] = {}
    problems: list[DefinitionProblem] = []
    for folder in folders:
        paths = (
            [folder]
            if os.path.isfile(folder)
            else sorted(glob.glob(os.path.join(folder, "*.yaml")) + glob.glob(os.path.join(folder, "*.yml")))
        )
        if not paths:
            problems.append(DefinitionProblem(folder, "no scorecard definitions (*.yaml) here"))
        for path in paths:
            found, refused = read_scorecards(path)
            problems += refused
            for scorecard in found:
                if scorecard.name in scorecards:
                    first = scorecards[scorecard.name].source
                    problems.append(
                        DefinitionProblem(path, f"scorecard {scorecard.name!r} is already defined in {first}")
                    )
                else:
                    scorecards[scorecard.name] = scorecard
    return list(scorecards.values()), problems


def lint(scorecard: Scorecard) -> list[DefinitionProblem]:
    """Warnings about a definition that loads but would mislead: gaps in the staircase."""
    warnings: list[DefinitionProblem] = []
    for level in scorecard.levels[1:]:
        if not any(check.level == level for check in scorecard.checks):
            warnings.append(
                DefinitionProblem(
                    scorecard.source,
                    f"level {level.id!r} has no checks: every entity at the level below reaches it for free",
                    field="spec.checks",
                    severity="warning",
                )
            )
        for area in scorecard.areas:
            if not any(check.level == level and check.area == area for check in scorecard.checks):
                warnings.append(
                    DefinitionProblem(
                        scorecard.source,
                        f"area {area.id!r} has no check at level {level.id!r}",
                        field="spec.checks",
                        severity="warning",
                    )
                )
    return warnings
