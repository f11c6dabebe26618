"""The REST surface as an OpenAPI document: generated from the app, committed as openapi/openapi.yaml."""

from __future__ import annotations

import yaml

from service.app import create_app
from service.settings import Settings


def openapi_document() -> dict[str, object]:
    """The app's OpenAPI document (the app is built, not started: no database is opened)."""
    return create_app(Settings(database_url="sqlite://")).openapi()


def openapi_yaml() -> str:
    """The document as `stairway openapi` prints it and openapi/openapi.yaml holds it."""
    return yaml.safe_dump(openapi_document(), sort_keys=False, allow_unicode=True, width=100)
