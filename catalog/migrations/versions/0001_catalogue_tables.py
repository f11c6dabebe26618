"""catalogue tables

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("ref", sa.String(length=512), nullable=False),
        sa.Column("kind", sa.String(length=63), nullable=False),
        sa.Column("namespace", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("type", sa.String(length=255), nullable=True),
        sa.Column("lifecycle", sa.String(length=255), nullable=True),
        sa.Column("owner_ref", sa.String(length=512), nullable=True),
        sa.Column("system_ref", sa.String(length=512), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ref"),
        sa.UniqueConstraint("uid"),
    )
    with op.batch_alter_table("entities", schema=None) as batch_op:
        batch_op.create_index("ix_entities_kind_ref", ["kind", "ref"], unique=False)
        batch_op.create_index("ix_entities_owner_ref", ["owner_ref", "ref"], unique=False)
        batch_op.create_index("ix_entities_system_ref", ["system_ref", "ref"], unique=False)

    op.create_table(
        "entity_tags",
        sa.Column("entity_ref", sa.String(length=512), nullable=False),
        sa.Column("tag", sa.String(length=63), nullable=False),
        sa.PrimaryKeyConstraint("entity_ref", "tag"),
    )
    with op.batch_alter_table("entity_tags", schema=None) as batch_op:
        batch_op.create_index("ix_entity_tags_tag", ["tag", "entity_ref"], unique=False)

    op.create_table(
        "processing_errors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("entity_ref", sa.String(length=512), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("processing_errors", schema=None) as batch_op:
        batch_op.create_index("ix_processing_errors_source_location", ["source", "location"], unique=False)

    op.create_table(
        "relations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_ref", sa.String(length=512), nullable=False),
        sa.Column("type", sa.String(length=63), nullable=False),
        sa.Column("target_ref", sa.String(length=512), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("relations", schema=None) as batch_op:
        batch_op.create_index("ix_relations_source", ["source_ref"], unique=False)
        batch_op.create_index("ix_relations_target", ["target_ref"], unique=False)

    op.create_table(
        "source_files",
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("targets", sa.Text(), nullable=False),
        sa.Column("has_errors", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("source", "path"),
    )


def downgrade() -> None:
    op.drop_table("source_files")
    with op.batch_alter_table("relations", schema=None) as batch_op:
        batch_op.drop_index("ix_relations_target")
        batch_op.drop_index("ix_relations_source")

    op.drop_table("relations")
    with op.batch_alter_table("processing_errors", schema=None) as batch_op:
        batch_op.drop_index("ix_processing_errors_source_location")

    op.drop_table("processing_errors")
    with op.batch_alter_table("entity_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_entity_tags_tag")

    op.drop_table("entity_tags")
    with op.batch_alter_table("entities", schema=None) as batch_op:
        batch_op.drop_index("ix_entities_system_ref")
        batch_op.drop_index("ix_entities_owner_ref")
        batch_op.drop_index("ix_entities_kind_ref")

    op.drop_table("entities")
