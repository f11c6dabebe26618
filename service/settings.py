"""Service settings, as the CLI or a test builds them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """What `create_app` needs to know."""

    database_url: str
    graphiql: bool = False
    migrate_on_start: bool = True
