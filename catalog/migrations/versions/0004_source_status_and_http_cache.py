"""remote sources: each source's refresh status, the ETags (and listing bodies) of upstream responses,
and source_files.has_errors renamed read_again (a file with placeholders is read again too)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("source_files") as source_files:
        source_files.alter_column("has_errors", new_column_name="read_again", existing_type=sa.Boolean())
    op.create_table(
        "source_status",
        sa.Column("name", sa.String(length=255), primary_key=True),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
    )
    op.create_table(
        "http_cache",
        sa.Column("source", sa.String(length=255), primary_key=True),
        sa.Column("url", sa.String(length=2048), primary_key=True),
        sa.Column("etag", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("source_files") as source_files:
        source_files.alter_column("read_again", new_column_name="has_errors", existing_type=sa.Boolean())
    op.drop_table("http_cache")
    op.drop_table("source_status")
