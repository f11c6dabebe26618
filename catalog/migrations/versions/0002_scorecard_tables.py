"""scorecard tables: facts and their history, exemptions, results, daily level snapshots

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "facts",
        sa.Column("entity_ref", sa.String(length=512), nullable=False),
        sa.Column("source", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("entity_ref", "source", "name"),
    )
    op.create_table(
        "fact_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_ref", sa.String(length=512), nullable=False),
        sa.Column("source", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_fact_history_entity", "fact_history", ["entity_ref", "source", "name", "observed_at"])
    op.create_table(
        "exemptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_ref", sa.String(length=512), nullable=False),
        sa.Column("scorecard", sa.String(length=63), nullable=False),
        sa.Column("check_id", sa.String(length=63), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_exemptions_entity", "exemptions", ["entity_ref", "scorecard"])
    op.create_table(
        "scorecard_results",
        sa.Column("entity_ref", sa.String(length=512), nullable=False),
        sa.Column("scorecard", sa.String(length=63), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("floor", sa.Integer(), nullable=False),
        sa.Column("spread", sa.Integer(), nullable=False),
        sa.Column("lopsided", sa.Boolean(), nullable=False),
        sa.Column("area_levels", sa.Text(), nullable=False),
        sa.Column("statuses", sa.Text(), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("entity_ref", "scorecard"),
    )
    op.create_index("ix_scorecard_results_scorecard", "scorecard_results", ["scorecard", "level"])
    op.create_table(
        "scorecard_history",
        sa.Column("entity_ref", sa.String(length=512), nullable=False),
        sa.Column("scorecard", sa.String(length=63), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("floor", sa.Integer(), nullable=False),
        sa.Column("area_levels", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("entity_ref", "scorecard", "day"),
    )


def downgrade() -> None:
    for table in ("scorecard_history", "scorecard_results", "exemptions", "fact_history", "facts"):
        op.drop_table(table)
