"""Golden paths: the scaffolder Templates the platform blesses, and who starts components from them.

Which Templates are golden paths is configuration (every Template by default; or those with one
of some tags, or named by ref); which template started a component is catalogue data, read at
ingest into `entities.template_ref` (catalog/provenance.py). Everything here is counted in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from catalog.queries import EntityFilter, filter_conditions
from catalog.tables import ENTITIES, TAGS

DEFAULT_SCOPE_KIND = ("component",)


@dataclass(frozen=True)
class GoldenPathSettings:
    """Which Templates count as golden paths: every Template when neither `tags` nor `templates` is
    given, else those with any of `tags` and those named in `templates` (canonical refs).
    `annotations` are further annotation keys that name a component's source template."""

    tags: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()
    annotations: tuple[str, ...] = ()


def golden_template_refs(settings: GoldenPathSettings) -> sa.Select[tuple[str]]:
    """The refs of the Template entities that are golden paths (a ref with no entity is none)."""
    query = sa.select(ENTITIES.c.ref).where(ENTITIES.c.kind == "template")
    chosen: list[sa.ColumnElement[bool]] = []
    if settings.templates:
        chosen.append(ENTITIES.c.ref.in_(settings.templates))
    if settings.tags:
        tagged = sa.select(TAGS.c.entity_ref).where(TAGS.c.tag.in_([tag.lower() for tag in settings.tags]))
        chosen.append(ENTITIES.c.ref.in_(tagged))
    return query.where(sa.or_(*chosen)) if chosen else query


def on_golden_path(settings: GoldenPathSettings) -> sa.ColumnElement[bool]:
    """Whether an entity (a row of `entities`) started from a golden path that still exists."""
    return ENTITIES.c.template_ref.in_(golden_template_refs(settings))


def scope(entity_filter: EntityFilter | None) -> EntityFilter:
    """The entities a measure counts: the filter's, Components when it names no kind."""
    entity_filter = entity_filter or EntityFilter()
    return entity_filter if entity_filter.kind else replace(entity_filter, kind=DEFAULT_SCOPE_KIND)


def scope_conditions(entity_filter: EntityFilter | None) -> list[sa.ColumnElement[bool]]:
    """SQL conditions on `entities` for `scope(entity_filter)`."""
    return filter_conditions(scope(entity_filter))


@dataclass(frozen=True)
class GoldenPathUse:
    """A template and the components in scope started from it; versions compare the component's
    `backstage.io/template-version` with the template's own (unknown when either is missing)."""

    template_ref: str
    owner_ref: str | None
    version: str | None
    golden: bool
    adopters: int
    cross_team_adopters: int  # distinct owners of adopters, other than the template's owner
    current: int
    behind: int
    unknown_version: int


def golden_paths(
    connection: Connection,
    settings: GoldenPathSettings,
    entity_filter: EntityFilter | None = None,
    every_template: bool = False,
) -> list[GoldenPathUse]:
    """Each golden path (every Template with `every_template`) and its use in scope, by template ref."""
    # Components in scope counted by (template, owner, version) first: one pass over the covering
    # index, then a few thousand groups to join to the templates rather than every component.
    adopters = (
        sa.select(
            ENTITIES.c.template_ref, ENTITIES.c.owner_ref, ENTITIES.c.template_version, sa.func.count().label("n")
        )
        .where(ENTITIES.c.template_ref.is_not(None), *scope_conditions(entity_filter))
        .group_by(ENTITIES.c.template_ref, ENTITIES.c.owner_ref, ENTITIES.c.template_version)
        .subquery("adopter")
    )
    template = ENTITIES.alias("template")
    golden_refs = golden_template_refs(settings)
    versioned = sa.and_(adopters.c.template_version.is_not(None), template.c.template_version.is_not(None))
    current = sa.and_(versioned, adopters.c.template_version == template.c.template_version)
    behind = sa.and_(versioned, adopters.c.template_version != template.c.template_version)
    other_team = sa.case((adopters.c.owner_ref != template.c.owner_ref, adopters.c.owner_ref))
    query = (
        sa.select(
            template.c.ref,
            template.c.owner_ref,
            template.c.template_version,
            template.c.ref.in_(golden_refs),
            sa.func.sum(adopters.c.n),
            sa.func.count(sa.distinct(other_team)),
            _sum_where(current, adopters.c.n),
            _sum_where(behind, adopters.c.n),
            _sum_where(sa.and_(adopters.c.template_ref.is_not(None), sa.not_(versioned)), adopters.c.n),
        )
        .select_from(template.outerjoin(adopters, adopters.c.template_ref == template.c.ref))
        .where(template.c.kind == "template")
        .group_by(template.c.ref, template.c.owner_ref, template.c.template_version)
        .order_by(template.c.ref)
    )
    if not every_template:
        query = query.where(template.c.ref.in_(golden_refs))
    return [
        GoldenPathUse(ref, owner, version, bool(golden), *(int(n or 0) for n in counts))
        for ref, owner, version, golden, *counts in connection.execute(query)
    ]


def _sum_where(condition: sa.ColumnElement[bool], value: sa.ColumnElement[int]) -> sa.ColumnElement[int]:
    return sa.func.sum(sa.case((condition, value), else_=0))


def golden_path_owners(connection: Connection, settings: GoldenPathSettings) -> list[tuple[str, int]]:
    """(owner ref, how many golden paths it owns), most first, then by ref."""
    count = sa.func.count()
    query = (
        sa.select(ENTITIES.c.owner_ref, count)
        .where(ENTITIES.c.ref.in_(golden_template_refs(settings)), ENTITIES.c.owner_ref.is_not(None))
        .group_by(ENTITIES.c.owner_ref)
        .order_by(count.desc(), ENTITIES.c.owner_ref)
    )
    return [(owner, int(n)) for owner, n in connection.execute(query)]
