"""delivery events for the DORA keys: deployments (idempotent by the reporter's id), the commits each
shipped, and incidents

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.String(length=255), primary_key=True),
        sa.Column("entity_ref", sa.String(length=512), nullable=False),
        sa.Column("environment", sa.String(length=63), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rollback", sa.Boolean(), nullable=False),
        sa.Column("version", sa.String(length=255), nullable=True),
        sa.Column("lead_time_seconds", sa.Float(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("deployments") as deployments:
        deployments.create_index("ix_deployments_entity_time", ["entity_ref", "environment", "finished_at"])
        deployments.create_index("ix_deployments_environment_time", ["environment", "finished_at"])
    op.create_table(
        "deployment_commits",
        sa.Column("deployment_id", sa.String(length=255), primary_key=True),
        sa.Column("sha", sa.String(length=64), primary_key=True),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(length=255), primary_key=True),
        sa.Column("entity_ref", sa.String(length=512), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deployment_id", sa.String(length=255), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("incidents") as incidents:
        incidents.create_index("ix_incidents_entity_time", ["entity_ref", "opened_at"])
        incidents.create_index("ix_incidents_deployment", ["deployment_id"])


def downgrade() -> None:
    with op.batch_alter_table("incidents") as incidents:
        incidents.drop_index("ix_incidents_deployment")
        incidents.drop_index("ix_incidents_entity_time")
    op.drop_table("incidents")
    op.drop_table("deployment_commits")
    with op.batch_alter_table("deployments") as deployments:
        deployments.drop_index("ix_deployments_environment_time")
        deployments.drop_index("ix_deployments_entity_time")
    op.drop_table("deployments")
