"""provenance columns on entities (source template, template version, createdAt); daily adoption snapshots

Revision ID: 0003
Revises: 0002

Existing entities get their provenance read from their stored descriptors here, so adoption is
right before the next ingest (which re-reads it anyway when a file changes).
"""

from __future__ import annotations

import orjson
import sqlalchemy as sa
from alembic import op

from catalog.provenance import SCAFFOLDED_FROM, read_provenance

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("entities") as entities:
        entities.add_column(sa.Column("template_ref", sa.String(length=512), nullable=True))
        entities.add_column(sa.Column("template_version", sa.String(length=255), nullable=True))
        entities.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
        entities.create_index(
            "ix_entities_adoption",
            [
                "kind",
                "owner_ref",
                "template_ref",
                "system_ref",
                "lifecycle",
                "template_version",
                "created_at",
                "first_seen_at",
            ],
        )
    op.create_table(
        "adoption_history",
        sa.Column("scope", sa.String(length=63), nullable=False),
        sa.Column("group_by", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=800), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("on_golden_path", sa.Integer(), nullable=False),
        sa.Column("new_total", sa.Integer(), nullable=False),
        sa.Column("new_on_golden_path", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "group_by", "key", "day"),
    )
    op.create_index("ix_adoption_history_day", "adoption_history", ["day", "scope"])
    _read_stored_provenance()


def _read_stored_provenance() -> None:
    connection = op.get_bind()
    table = sa.table(
        "entities",
        sa.column("id", sa.Integer),
        sa.column("ref", sa.String),
        sa.column("body", sa.Text),
        sa.column("template_ref", sa.String),
        sa.column("template_version", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    relations = sa.table("relations", sa.column("source_ref"), sa.column("type"), sa.column("target_ref"))
    updates: list[dict[str, object]] = []
    scaffolded: list[dict[str, object]] = []
    for entity_id, ref, body in connection.execute(sa.select(table.c.id, table.c.ref, table.c.body)):
        descriptor = orjson.loads(body)
        metadata = descriptor.get("metadata") or {}
        spec = descriptor.get("spec") if isinstance(descriptor.get("spec"), dict) else {}
        found = read_provenance(metadata, spec)
        if found.template_ref or found.template_version or found.created_at:
            updates.append(
                {
                    "entity_id": entity_id,
                    "template_ref": found.template_ref,
                    "template_version": found.template_version,
                    "created_at": found.created_at,
                }
            )
        if found.from_spec and found.template_ref:
            scaffolded.append({"source_ref": ref, "type": SCAFFOLDED_FROM, "target_ref": found.template_ref})
    if updates:
        connection.execute(
            table.update()
            .where(table.c.id == sa.bindparam("entity_id"))
            .values(
                template_ref=sa.bindparam("template_ref"),
                template_version=sa.bindparam("template_version"),
                created_at=sa.bindparam("created_at"),
            ),
            updates,
        )
    if scaffolded:
        connection.execute(relations.insert(), scaffolded)


def downgrade() -> None:
    op.drop_index("ix_adoption_history_day", table_name="adoption_history")
    op.drop_table("adoption_history")
    with op.batch_alter_table("entities") as entities:
        entities.drop_index("ix_entities_adoption")
        entities.drop_column("created_at")
        entities.drop_column("template_version")
        entities.drop_column("template_ref")
