"""The catalogue's tables. Alembic migrations in `catalog/migrations` create and change them."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class Entity(SQLModel, table=True):
    """One catalogue entity. `kind`, `namespace`, `name`, `type` and `lifecycle` are lower-cased for
    case-insensitive filtering; the body keeps the descriptor as written."""

    __tablename__ = "entities"
    __table_args__ = (
        sa.Index("ix_entities_kind_ref", "kind", "ref"),
        sa.Index("ix_entities_owner_ref", "owner_ref", "ref"),
        sa.Index("ix_entities_system_ref", "system_ref", "ref"),
        # Covers what adoption counts (scorecards/adoption.py), so a count by owner reads this index
        # alone, already in owner order, instead of 30,000 rows with their descriptors.
        sa.Index(
            "ix_entities_adoption",
            "kind",
            "owner_ref",
            "template_ref",
            "system_ref",
            "lifecycle",
            "template_version",
            "created_at",
            "first_seen_at",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(sa_column=sa.Column(sa.String(36), nullable=False, unique=True))
    ref: str = Field(sa_column=sa.Column(sa.String(512), nullable=False, unique=True))
    kind: str = Field(sa_column=sa.Column(sa.String(63), nullable=False))
    namespace: str = Field(sa_column=sa.Column(sa.String(63), nullable=False))
    name: str = Field(sa_column=sa.Column(sa.String(255), nullable=False))
    title: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    description: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    type: str | None = Field(default=None, sa_column=sa.Column(sa.String(255)))
    lifecycle: str | None = Field(default=None, sa_column=sa.Column(sa.String(255)))
    owner_ref: str | None = Field(default=None, sa_column=sa.Column(sa.String(512)))
    system_ref: str | None = Field(default=None, sa_column=sa.Column(sa.String(512)))
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    content_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    source: str = Field(sa_column=sa.Column(sa.String(255), nullable=False))
    location: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    line: int | None = Field(default=None)
    # Provenance (catalog/provenance.py): the source template, the `backstage.io/template-version`
    # annotation (a Template's current version, or the one a component was made from), createdAt.
    template_ref: str | None = Field(default=None, sa_column=sa.Column(sa.String(512)))
    template_version: str | None = Field(default=None, sa_column=sa.Column(sa.String(255)))
    created_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True)))
    first_seen_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class EntityRelation(SQLModel, table=True):
    """A relation an entity's spec declares (`source_ref` is that entity). The inverse direction is read
    from the same row, so each relation is stored once and goes when its declaring entity goes."""

    __tablename__ = "relations"
    __table_args__ = (
        sa.Index("ix_relations_source", "source_ref"),
        sa.Index("ix_relations_target", "target_ref"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source_ref: str = Field(sa_column=sa.Column(sa.String(512), nullable=False))
    type: str = Field(sa_column=sa.Column(sa.String(63), nullable=False))
    target_ref: str = Field(sa_column=sa.Column(sa.String(512), nullable=False))


class EntityTag(SQLModel, table=True):
    """A tag of an entity, kept beside it so tag filters and facets need no JSON scans."""

    __tablename__ = "entity_tags"
    __table_args__ = (sa.Index("ix_entity_tags_tag", "tag", "entity_ref"),)

    entity_ref: str = Field(sa_column=sa.Column(sa.String(512), primary_key=True))
    tag: str = Field(sa_column=sa.Column(sa.String(63), primary_key=True))


class SourceFile(SQLModel, table=True):
    """A file a source read: its content hash (to skip it when unchanged) and its Location targets."""

    __tablename__ = "source_files"

    source: str = Field(sa_column=sa.Column(sa.String(255), primary_key=True))
    path: str = Field(sa_column=sa.Column(sa.Text, primary_key=True))
    content_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    targets: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # JSON list of paths and globs
    # Read it again next time even when unchanged: it had errors (which other files may clear), or it
    # takes values from placeholder files (which may change while it does not).
    read_again: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))


class ProcessingError(SQLModel, table=True):
    """A file, document or entity that could not be ingested, or a warning about one that was."""

    __tablename__ = "processing_errors"
    __table_args__ = (sa.Index("ix_processing_errors_source_location", "source", "location"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(sa_column=sa.Column(sa.String(255), nullable=False))
    location: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    line: int | None = Field(default=None)
    entity_ref: str | None = Field(default=None, sa_column=sa.Column(sa.String(512)))
    severity: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    code: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))  # e.g. yaml-error, invalid-entity
    message: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class SourceStatus(SQLModel, table=True):
    """How a configured source's refreshes went: the last attempt, the last success, what it holds."""

    __tablename__ = "source_status"

    name: str = Field(sa_column=sa.Column(sa.String(255), primary_key=True))
    type: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # refreshing, ok, failed
    last_attempt_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True)))
    last_success_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True)))
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    summary: str | None = Field(default=None, sa_column=sa.Column(sa.Text))  # JSON: the last refresh's counts


class HttpCacheEntry(SQLModel, table=True):
    """An upstream response a source may ask for again with If-None-Match: its ETag and, where a 304
    must be answered from it (listings), the part of its body the source needs."""

    __tablename__ = "http_cache"

    source: str = Field(sa_column=sa.Column(sa.String(255), primary_key=True))
    url: str = Field(sa_column=sa.Column(sa.String(2048), primary_key=True))
    etag: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    body: str | None = Field(default=None, sa_column=sa.Column(sa.Text))


# The tables as SQLAlchemy Core sees them, typed, for set-based statements.
class AuditRecord(SQLModel, table=True):
    """One change made through the API: who, what, to which target, when, and the state before and after."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False, index=True))
    actor: str = Field(sa_column=sa.Column(sa.String(512), nullable=False))  # token:NAME, a user's ref, or anyone
    action: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))  # the mutation, e.g. createExemption
    target: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # an entity ref, a source's name, ...
    before: str | None = Field(default=None, sa_column=sa.Column(sa.Text))  # JSON, null when nothing was there
    after: str | None = Field(default=None, sa_column=sa.Column(sa.Text))  # JSON, null when nothing is left
    request_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(128)))


ENTITIES: sa.Table = Entity.__table__  # type: ignore[attr-defined]
RELATIONS: sa.Table = EntityRelation.__table__  # type: ignore[attr-defined]
TAGS: sa.Table = EntityTag.__table__  # type: ignore[attr-defined]
SOURCE_FILES: sa.Table = SourceFile.__table__  # type: ignore[attr-defined]
PROCESSING_ERRORS: sa.Table = ProcessingError.__table__  # type: ignore[attr-defined]
SOURCE_STATUS: sa.Table = SourceStatus.__table__  # type: ignore[attr-defined]
HTTP_CACHE: sa.Table = HttpCacheEntry.__table__  # type: ignore[attr-defined]
AUDIT_LOG: sa.Table = AuditRecord.__table__  # type: ignore[attr-defined]
