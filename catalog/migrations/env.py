"""Alembic environment: migrations run on the connection Stairway hands over."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import catalog.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
import scorecards.tables  # noqa: F401  (one schema history for the whole service; only autogenerate reads these)

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
