"""Service settings, as the CLI or a test builds them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from service.config import Config

DEFAULT_SCORECARD_FOLDERS = ("examples/scorecards",)


def scorecard_folders() -> tuple[str, ...]:
    """Where scorecard definitions live: `STAIRWAY_SCORECARDS` (`:`-separated), else examples/scorecards."""
    configured = os.environ.get("STAIRWAY_SCORECARDS")
    if not configured:
        return DEFAULT_SCORECARD_FOLDERS
    return tuple(folder for folder in configured.split(":") if folder)


@dataclass(frozen=True)
class Settings:
    """What `create_app` needs to know."""

    database_url: str
    graphiql: bool = False
    migrate_on_start: bool = True
    scorecard_folders: tuple[str, ...] = DEFAULT_SCORECARD_FOLDERS
    max_body_bytes: int = 1024 * 1024
    config: Config = field(default_factory=Config)  # what stairway.yaml says
    schedule_sources: bool = True  # refresh the configured sources on their schedules
