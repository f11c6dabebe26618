"""Scorecard tables: reported facts (latest and history), exemptions, results, daily level and adoption
snapshots, and delivery events (deployments, the changes each shipped, incidents) for the DORA keys."""

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


class Deployment(SQLModel, table=True):
    """A deployment of an entity to an environment, as a CI/CD system reported it (idempotent by `id`)."""

    __tablename__ = "deployments"
    __table_args__ = (
        # Covers the DORA counts (deployments, and those failed or rolled back, of one entity or of every
        # entity in entity order). No index by time alone: SQLite chose it for the counts, then sorted.
        sa.Index("ix_deployments_entity_time", "entity_ref", "environment", "finished_at", "status", "rollback"),
    )

    id: str = Field(sa_column=sa.Column(sa.String(255), primary_key=True))  # the reporter's id
    entity_ref: str = Field(sa_column=sa.Column(sa.String(512), nullable=False))
    environment: str = Field(sa_column=sa.Column(sa.String(63), nullable=False))  # production by default
    finished_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # success, failure
    rollback: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    version: str | None = Field(default=None, sa_column=sa.Column(sa.String(255)))
    lead_time_seconds: float | None = Field(default=None, sa_column=sa.Column(sa.Float))  # given, without commits
    content_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))  # a resend that changes nothing
    received_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class DeploymentChange(SQLModel, table=True):
    """A change a deployment shipped: one of its commits, or, for a deployment reported with a lead time
    instead of commits, that lead time (no sha). It repeats the deployment's entity, environment and finish,
    and holds the lead time it counts with (NULL when the deployment failed: it shipped nothing), so that the
    lead-time medians read one index and join nothing."""

    __tablename__ = "deployment_changes"
    __table_args__ = (
        # The lead times of one entity, or of every entity in entity order (grouped without a sort).
        sa.Index("ix_deployment_changes_entity_time", "entity_ref", "environment", "finished_at", "lead_seconds"),
    )

    deployment_id: str = Field(sa_column=sa.Column(sa.String(255), primary_key=True))
    position: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))  # in sha order
    sha: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))  # None: a lead time given
    committed_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True)))
    entity_ref: str = Field(sa_column=sa.Column(sa.String(512), nullable=False))
    environment: str = Field(sa_column=sa.Column(sa.String(63), nullable=False))
    finished_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    lead_seconds: float | None = Field(default=None, sa_column=sa.Column(sa.Float))  # None: the deployment failed


class Incident(SQLModel, table=True):
    """An incident on an entity, opened and (once) resolved, perhaps caused by a deployment."""

    __tablename__ = "incidents"
    __table_args__ = (
        sa.Index("ix_incidents_entity_time", "entity_ref", "opened_at"),
        sa.Index("ix_incidents_deployment", "deployment_id"),
    )

    id: str = Field(sa_column=sa.Column(sa.String(255), primary_key=True))
    entity_ref: str = Field(sa_column=sa.Column(sa.String(512), nullable=False))
    opened_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True)))
    deployment_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(255)))
    content_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    received_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


FACTS: sa.Table = LatestFact.__table__  # type: ignore[attr-defined]
FACT_HISTORY: sa.Table = FactObservation.__table__  # type: ignore[attr-defined]
EXEMPTIONS: sa.Table = ExemptionRow.__table__  # type: ignore[attr-defined]
RESULTS: sa.Table = ScorecardResultRow.__table__  # type: ignore[attr-defined]
HISTORY: sa.Table = LevelSnapshot.__table__  # type: ignore[attr-defined]
ADOPTION_HISTORY: sa.Table = AdoptionSnapshot.__table__  # type: ignore[attr-defined]
DEPLOYMENTS: sa.Table = Deployment.__table__  # type: ignore[attr-defined]
DEPLOYMENT_CHANGES: sa.Table = DeploymentChange.__table__  # type: ignore[attr-defined]
INCIDENTS: sa.Table = Incident.__table__  # type: ignore[attr-defined]
