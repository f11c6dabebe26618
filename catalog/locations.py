"""Location targets: resolving relative paths and globs, confined to the ingested root."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass

DESCRIPTOR_SUFFIXES = (".yaml", ".yml")


class LocationError(ValueError):
    """A target that cannot be followed: outside the root, of an unsupported type, or malformed."""


@dataclass(frozen=True, slots=True)
class Root:
    """The folder an ingest argument grants: nothing outside it is read."""

    path: str  # absolute, symlinks resolved

    @classmethod
    def of(cls, directory: str) -> Root:
        return cls(os.path.realpath(directory))

    def contains(self, path: str) -> bool:
        """True when `path`, with symlinks resolved, lies inside the root."""
        real = os.path.realpath(path)
        return real == self.path or real.startswith(self.path.rstrip(os.sep) + os.sep)


def location_string(path: str) -> str:
    """The `file:` location Backstage writes for a local path."""
    return f"file:{path}"


def resolve_target(target: object, location_file: str, root: Root) -> str:
    """The absolute path or glob a Location target names, refused when it climbs out of the root."""
    if not isinstance(target, str) or not target.strip():
        raise LocationError(f"Location target must be a non-empty string, got {target!r}")
    if "://" in target:
        raise LocationError(f'Location target "{target}" is a URL; a file location only reads local paths')
    path = target.removeprefix("file:")
    path = os.path.normpath(os.path.join(os.path.dirname(location_file), path))
    if not root.contains(_static_prefix(path)):
        raise LocationError(f'Location target "{target}" resolves outside the ingested root {root.path}')
    return path


def expand(pattern: str, root: Root) -> tuple[list[str], list[str]]:
    """The descriptor files a path or glob matches, sorted, and the problems met on the way."""
    problems: list[str] = []
    if glob.has_magic(pattern):
        matches = sorted(glob.glob(pattern, recursive=True))
    elif os.path.isdir(pattern):
        matches = sorted(
            os.path.join(folder, name)
            for folder, _dirs, names in os.walk(pattern)
            for name in names
            if name.endswith(DESCRIPTOR_SUFFIXES)
        )
    elif os.path.exists(pattern):
        matches = [pattern]
    else:
        return [], [f"{pattern}: no such file"]
    files = []
    for match in matches:
        if not os.path.isfile(match):
            continue
        if not root.contains(match):
            problems.append(f"{match}: a symlink that leads outside the ingested root {root.path}; not read")
            continue
        files.append(os.path.abspath(match))
    return files, problems


def _static_prefix(path: str) -> str:
    """The part of a path before its first glob character."""
    parts = path.split(os.sep)
    for index, part in enumerate(parts):
        if glob.has_magic(part):
            return os.sep.join(parts[:index]) or os.sep
    return path
