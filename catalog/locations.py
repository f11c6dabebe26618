"""Location targets: resolving relative paths and globs, confined to the ingested root."""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass


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
    """The location Backstage writes for where a document was read: `url:` for a URL, else `file:`."""
    return f"url:{path}" if "://" in path else f"file:{path}"


def location_path(location: str) -> str:
    """The path or URL a location string names (the inverse of `location_string`)."""
    kind, _colon, target = location.partition(":")
    return target if kind in ("file", "url") else location


def resolve_target(target: object, location_file: str, root: Root) -> str:
    """The absolute path or glob a Location target names, refused when it climbs out of the root."""
    if not isinstance(target, str) or not target.strip():
        raise LocationError(f"Location target must be a non-empty string, got {target!r}")
    if "://" in target:
        raise LocationError(f'Location target "{target}" is a URL; a file location only reads local paths')
    path = target.removeprefix("file:")
    path = os.path.normpath(os.path.join(os.path.dirname(location_file), path))
    if not root.contains(static_prefix(path)):
        raise LocationError(f'Location target "{target}" resolves outside the ingested root {root.path}')
    return path


def expand(pattern: str, root: Root) -> tuple[list[str], list[str]]:
    """The descriptor files a path, folder or glob matches, sorted, and the problems met on the way
    ("path: reason")."""
    files, refused = expand_paths(pattern, root)
    return files, [f"{path}: {reason}" for path, reason in refused]


def expand_paths(pattern: str, root: Root) -> tuple[list[str], list[tuple[str, str]]]:
    """The descriptor files a path, folder or glob matches, sorted, and the paths met on the way that
    are not read, each with the reason (a symlink out of the root, a folder that cannot be listed).

    One `scandir` walk of the pattern's fixed folder; only symlinks pay for a `realpath`, so that
    tens of thousands of files cost milliseconds. Hidden files and folders are skipped, as glob does.
    """
    outside = f"a symlink that leads outside the ingested root {root.path}; not read"
    if glob.has_magic(pattern):
        top = static_prefix(pattern)
        relative = os.path.relpath(pattern, top)
        matcher = glob_regex(relative).fullmatch
        descends = os.sep in relative
    elif os.path.isdir(pattern):
        top = pattern
        matcher = DESCRIPTOR_NAME.search
        descends = True
    elif os.path.lexists(pattern):
        if not root.contains(pattern):
            return [], [(pattern, outside)]
        return ([os.path.abspath(pattern)] if os.path.isfile(pattern) else []), []
    else:
        return [], [(pattern, "no such file")]
    files: list[str] = []
    problems: list[tuple[str, str]] = []
    if not os.path.isdir(top):
        return files, problems
    if not root.contains(top):
        return files, [(top, outside)]
    top = os.path.abspath(top)
    cut = len(top.rstrip(os.sep)) + 1  # entry.path[cut:] is the path relative to top
    folders = [top]
    entered = {os.path.realpath(top)}  # folders reached through symlinks: each once, so cycles end
    while folders:
        folder = folders.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as error:
            problems.append((folder, str(error.strerror)))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                linked = entry.is_symlink()
                if linked and not root.contains(entry.path):
                    if (descends and entry.is_dir()) or matcher(entry.path[cut:]):
                        problems.append((entry.path, outside))
                    continue
                if entry.is_dir():
                    real = os.path.realpath(entry.path) if linked else None
                    if real is None or real not in entered:
                        folders.append(entry.path)
                        if real is not None:
                            entered.add(real)
                elif entry.is_file() and matcher(entry.path[cut:]):
                    files.append(entry.path)
            except OSError as error:  # e.g. a symlink loop
                problems.append((entry.path, str(error.strerror)))
    files.sort()
    return files, problems


DESCRIPTOR_NAME = re.compile(r"\.ya?ml\Z")


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regex for a relative glob: `**` matches any number of folders, `*` and `?` never a `/`."""
    parts = pattern.split("/")
    regex = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            regex.append(".*" if last else "(?:[^/]+/)*")
        else:
            regex.append(_glob_segment(part) + ("" if last else "/"))
    return re.compile("".join(regex))


def _glob_segment(part: str) -> str:
    """One folder or file name of a glob as a regex: `*`, `?` and `[...]` (`[!...]` negated)."""
    regex = []
    index = 0
    while index < len(part):
        char = part[index]
        end = part.find("]", index + 2) if char == "[" else -1
        if char == "*":
            regex.append("[^/]*")
        elif char == "?":
            regex.append("[^/]")
        elif end != -1:
            body = part[index + 1 : end]
            negated = body.startswith("!")
            regex.append("[" + ("^/" if negated else "") + re.escape(body[negated:]).replace(r"\-", "-") + "]")
            index = end
        else:
            regex.append(re.escape(char))
        index += 1
    return "".join(regex)


def optional_pattern(path: str) -> str:
    """A target for `presence: optional`: a glob matching just `path`, so that its absence is no
    error (a glob that matches nothing is not one) while it is followed when it exists."""
    if glob.has_magic(path) or path[-1] in "[]":
        return path
    escaped = glob.escape(path)
    return f"{escaped[:-1]}[{escaped[-1]}]"


def static_prefix(path: str) -> str:
    """The part of a path before its first glob character."""
    parts = path.split(os.sep)
    for index, part in enumerate(parts):
        if glob.has_magic(part):
            return os.sep.join(parts[:index]) or os.sep
    return path
