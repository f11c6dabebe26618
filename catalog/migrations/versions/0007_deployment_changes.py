"""the changes each deployment shipped, with their lead times, in place of its commits; the DORA counts
covered by the deployments' entity index, and no index of deployments by time alone

Revision ID: 0007
Revises: 0006

`deployment_changes` holds a row per commit a deployment shipped and one for a lead time reported instead
of commits, each with the deployment's entity, environment and finish and the lead time it counts with
(NULL when the deployment failed). The DORA lead-time medians then read one index instead of joining the
commits to their deployments and working out every lead time again. Existing rows are carried over here,
lead times computed as the DORA keys computed them from the commits until now.

The deployments' index by environment and time goes: the counts read the entity index, which now covers
them, but SQLite chose the time index whenever it had one (and then sorted the window's deployments by
entity), and every deployment written paid for it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

DEPLOYMENTS = sa.table(
    "deployments",
    sa.column("id", sa.String),
    sa.column("entity_ref", sa.String),
    sa.column("environment", sa.String),
    sa.column("finished_at", sa.DateTime(timezone=True)),
    sa.column("status", sa.String),
    sa.column("lead_time_seconds", sa.Float),
)
COMMITS = sa.table(
    "deployment_commits",
    sa.column("deployment_id", sa.String),
    sa.column("sha", sa.String),
    sa.column("committed_at", sa.DateTime(timezone=True)),
)
CHANGES = sa.table(
    "deployment_changes",
    sa.column("deployment_id", sa.String),
    sa.column("position", sa.Integer),
    sa.column("sha", sa.String),
    sa.column("committed_at", sa.DateTime(timezone=True)),
    sa.column("entity_ref", sa.String),
    sa.column("environment", sa.String),
    sa.column("finished_at", sa.DateTime(timezone=True)),
    sa.column("lead_seconds", sa.Float),
)
CHANGE_COLUMNS = ("deployment_id", "position", "sha", "committed_at", "entity_ref", "environment", "finished_at")


def upgrade() -> None:
    op.create_table(
        "deployment_changes",
        sa.Column("deployment_id", sa.String(length=255), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sha", sa.String(length=64), nullable=True),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("entity_ref", sa.String(length=512), nullable=False),
        sa.Column("environment", sa.String(length=63), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lead_seconds", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("deployment_id", "position"),
    )
    _carry_over_commits()
    op.create_index(  # after the rows: one sort instead of an insert per row
        "ix_deployment_changes_entity_time",
        "deployment_changes",
        ["entity_ref", "environment", "finished_at", "lead_seconds"],
    )
    op.drop_table("deployment_commits")
    op.drop_index("ix_deployments_environment_time", table_name="deployments")
    op.drop_index("ix_deployments_entity_time", table_name="deployments")
    op.create_index(
        "ix_deployments_entity_time",
        "deployments",
        ["entity_ref", "environment", "finished_at", "status", "rollback"],
    )


def _carry_over_commits() -> None:
    """A change for each stored commit (numbered in sha order) and for each lead time given instead."""
    d, c = DEPLOYMENTS.c, COMMITS.c
    shipped = d.status == "success"
    position = sa.func.row_number().over(partition_by=c.deployment_id, order_by=c.sha) - 1
    commits = sa.select(
        d.id,
        position,
        c.sha,
        c.committed_at,
        d.entity_ref,
        d.environment,
        d.finished_at,
        sa.case((shipped, _seconds(d.finished_at, c.committed_at)), else_=None),
    ).join_from(COMMITS, DEPLOYMENTS, d.id == c.deployment_id)
    given = sa.select(
        d.id,
        sa.literal(0, sa.Integer),
        sa.cast(sa.null(), sa.String),  # typed: PostgreSQL takes an untyped NULL for text
        sa.cast(sa.null(), sa.DateTime(timezone=True)),
        d.entity_ref,
        d.environment,
        d.finished_at,
        sa.case((shipped, d.lead_time_seconds), else_=None),
    ).where(d.lead_time_seconds.is_not(None))
    for rows in (commits, given):
        op.execute(CHANGES.insert().from_select([*CHANGE_COLUMNS, "lead_seconds"], rows))


def _seconds(later: sa.ColumnElement[object], earlier: sa.ColumnElement[object]) -> sa.ColumnElement[float]:
    """The seconds from `earlier` to `later` as the DORA keys computed them before this revision."""
    if op.get_bind().dialect.name == "sqlite":
        # Timestamps are stored as text; julianday resolves milliseconds, the rounding drops float noise.
        return sa.func.round((sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0, 3)
    return sa.cast(sa.extract("epoch", later - earlier), sa.Float)


def downgrade() -> None:
    op.drop_index("ix_deployments_entity_time", table_name="deployments")
    op.create_index("ix_deployments_entity_time", "deployments", ["entity_ref", "environment", "finished_at"])
    op.create_index("ix_deployments_environment_time", "deployments", ["environment", "finished_at"])
    op.create_table(
        "deployment_commits",
        sa.Column("deployment_id", sa.String(length=255), primary_key=True),
        sa.Column("sha", sa.String(length=64), primary_key=True),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=False),
    )
    changes = CHANGES.c
    commits = sa.select(changes.deployment_id, changes.sha, changes.committed_at).where(changes.sha.is_not(None))
    op.execute(COMMITS.insert().from_select(["deployment_id", "sha", "committed_at"], commits))
    op.drop_index("ix_deployment_changes_entity_time", table_name="deployment_changes")
    op.drop_table("deployment_changes")
