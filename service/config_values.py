"""Reading the values of `stairway.yaml`: mappings with known keys, lists of strings, and the error
that names the key at fault."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and the key."""


def mapping(value: object, where: str, allowed: tuple[str, ...] | None) -> Mapping[str, Any]:
    """A mapping (empty when absent) whose keys are all `allowed` (any keys when None)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a mapping")
    if allowed is not None:
        unknown = [str(key) for key in value if key not in allowed]
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(allowed)})")
    return value


def strings(value: object, where: str) -> tuple[str, ...]:
    """A list of non-empty strings (one string counts as a list of one; absent is empty)."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ConfigError(f"{where} must be a list of strings")
    return tuple(value)
