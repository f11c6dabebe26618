"""Service settings, from arguments and the environment."""

from __future__ import annotations

from dataclasses import dataclass

from catalog.database import database_url


@dataclass(frozen=True)
class Settings:
    """What `create_app` needs to know."""

    database_url: str
    graphiql: bool = False
    migrate_on_start: bool = True

    @classmethod
    def from_env(cls, *, database_url_override: str | None = None, graphiql: bool = False) -> Settings:
        """Settings with the database from the override, `STAIRWAY_DATABASE_URL`, or the default file."""
        return cls(database_url=database_url(database_url_override), graphiql=graphiql)
