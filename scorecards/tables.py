"""Scorecard tables: reported facts (latest and history), exemptions, results, daily level and adoption snapshots."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class LatestFact(SQLModel, table=True):
    """The newest observation of each (entity, source, fact name): what checks read."""

    __tablename__ = "facts"

    entity_ref: str = Field(sa_column=sa.Column(sa.String(512), primary_key=True))
    source: str = Field(sa_column=sa.Column(sa.String(63), primary_key=True))
    name: str = Field(sa_column=sa.Column(sa.String(255), primary_key=True))
    value: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # JSON
    observed_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class FactObservation(SQLModel, table=True):
    """Every fact ever reported, as it was reported."""

    __tablename__ = "fact_history"
    __table_args__ = (sa.Index("ix_fact_history_entity", "entity_ref", "source", "name", "observed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    entity_ref: str = Field(sa_column=sa.Column(sa.String(512), nullable=False))
    source: str = Field(sa_column=sa.Column(sa.String(63), nullable=False))
    name: str = Field(sa_column=sa.Column(sa.String(255), nullable=False))
    value: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # JSON
    observed_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    received_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class ExemptionRow(SQLModel, table=True):
    """A check waived for one entity until it expires."""

    __tablename__ = "exemptions"
    __table_args__ = (sa.Index("ix_exemptions_entity", "entity_ref", "scorecard"),)

    id: int | None = Field(default=None, primary_key=True)
    entity_ref: str = Field(sa_column=sa.Column(sa.String(512), nullable=False))
    scorecard: str = Field(sa_column=sa.Column(sa.String(63), nullable=False))
    check_id: str = Field(sa_column=sa.Column(sa.String(63), nullable=False))
    reason: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    expires_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    created_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(255)))
    created_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class ScorecardResultRow(SQLModel, table=True):
    """One entity's latest result on one scorecard: its levels, and each check's status in definition order."""

    __tablename__ = "scorecard_results"
    __table_args__ = (sa.Index("ix_scorecard_results_scorecard", "scorecard", "level"),)

    entity_ref: str = Field(sa_column=sa.Column(sa.String(512), primary_key=True))
    scorecard: str = Field(sa_column=sa.Column(sa.String(63), primary_key=True))
    level: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    floor: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    spread: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    lopsided: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    area_levels: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # JSON {area id: ordinal}
    statuses: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # JSON {check id: status}
    evaluated_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class LevelSnapshot(SQLModel, table=True):
    """An entity's levels on a scorecard as of one day (the last evaluation of that day)."""

    __tablename__ = "scorecard_history"

    entity_ref: str = Field(sa_column=sa.Column(sa.String(512), primary_key=True))
    scorecard: str = Field(sa_column=sa.Column(sa.String(63), primary_key=True))
    day: date = Field(sa_column=sa.Column(sa.Date, primary_key=True))
    level: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    floor: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    area_levels: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # JSON {area id: ordinal}


class AdoptionSnapshot(SQLModel, table=True):
    """Golden-path adoption in a trend scope as of one day (the last ingest of that day): the whole
    scope (group_by ALL, key "") and each of its groups, with the new workloads of the trailing window."""

    __tablename__ = "adoption_history"
    __table_args__ = (sa.Index("ix_adoption_history_day", "day", "scope"),)

    scope: str = Field(sa_column=sa.Column(sa.String(63), primary_key=True))
    group_by: str = Field(sa_column=sa.Column(sa.String(16), primary_key=True))
    # An entity ref (at most 512 bytes), or for a template version "<ref>@<version>" (255 more).
    key: str = Field(sa_column=sa.Column(sa.String(800), primary_key=True))
    day: date = Field(sa_column=sa.Column(sa.Date, primary_key=True))
    total: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    on_golden_path: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    new_total: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    new_on_golden_path: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))


FACTS: sa.Table = LatestFact.__table__  # type: ignore[attr-defined]
FACT_HISTORY: sa.Table = FactObservation.__table__  # type: ignore[attr-defined]
EXEMPTIONS: sa.Table = ExemptionRow.__table__  # type: ignore[attr-defined]
RESULTS: sa.Table = ScorecardResultRow.__table__  # type: ignore[attr-defined]
HISTORY: sa.Table = LevelSnapshot.__table__  # type: ignore[attr-defined]
ADOPTION_HISTORY: sa.Table = AdoptionSnapshot.__table__  # type: ignore[attr-defined]
