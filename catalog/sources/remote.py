"""Descriptor files read over HTTP: fetched level by level, their Location targets and placeholders
resolved against their own URL, each asked for with its ETag so an unchanged file costs a 304."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urljoin, urlsplit

import httpx

from catalog.documents import DocumentError, decode
from catalog.locations import LocationError, location_path
from catalog.processing import (
    LOCATION,
    PLACEHOLDER,
    UNREADABLE_FILE,
    FileResult,
    Problem,
    content_hash,
    process_bytes,
)
from catalog.sources.refresh import RefreshContext
from catalog.sources.upstream import RefreshTimeout, UpstreamError, validator
from catalog.substitutions import SubstitutionError, TargetReader

OPTIONAL = "optional:"  # marks a target of a `presence: optional` Location: its absence is no error
MAX_URL = 2048  # longer URLs are refused: they are keys of indexed columns (and no real file has one)

# Why a URL may not be read from this source, or None when it may.
Guard = Callable[[str], str | None]


def host_guard(hosts: Sequence[str]) -> Guard:
    """Only http(s) URLs on these hosts (host:port) may be read."""
    hosts = [host.lower() for host in hosts]  # a URL's host is compared lower-cased

    def guard(url: str) -> str | None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return f"is not an http(s) URL; a remote source reads only {', '.join(hosts)}"
        if parts.netloc.lower() not in hosts:
            return f"is on {parts.netloc}, which this source may not read (allowed: {', '.join(hosts)})"
        return None

    return guard


@dataclass(frozen=True)
class RemoteFiles:
    """How one source reaches its files: which URLs it may read, and the request that reads one."""

    guard: Guard
    origin: str  # the location string of the source's registered location
    request_url: Callable[[str], str] = lambda url: url  # e.g. a GitHub blob URL -> its contents API URL
    headers: Mapping[str, str] = field(default_factory=dict)
    roots_required: bool = True  # a root that cannot be read fails the refresh (else: no file there)


@dataclass(frozen=True, slots=True)
class RemotePlace:
    """A descriptor read from a URL: targets and placeholders resolve against it, within the guard."""

    key: str
    origin: str
    files: RemoteFiles
    context: RefreshContext
    follows: str = "url"
    description: str = "remote source"
    keeps_annotations: bool = False
    # Why placeholder files could not be read this time (their upstream failed, not the descriptor):
    # the descriptor then keeps what it provided before, as an unreadable file does.
    unreachable: list[str] = field(default_factory=list)

    def reader(self) -> TargetReader:
        """Placeholder targets fetched from beside the descriptor, held to the size limit and UTF-8."""

        def read(kind: str, target: str) -> str:
            url = urljoin(self.key, target)
            problem = self.files.guard(url)
            if problem:
                raise SubstitutionError(f"Placeholder {kind} target {target!r} {problem}")
            try:
                response = self.context.upstream.fetch(
                    self.files.request_url(url), accept_404=True, headers=self.files.headers
                )
            except RefreshTimeout:
                raise  # the refresh is out of time: it fails as a whole, as with any other request
            except UpstreamError as error:
                message = f"Placeholder {kind} could not read {target!r}: {error.message}"
                self.unreachable.append(message)
                raise SubstitutionError(message) from None
            if response.status_code == 404:
                raise SubstitutionError(f"Placeholder {kind} could not read {target!r}: no such file (404) at {url}")
            try:
                return decode(response.content, self.context.reading.max_bytes)
            except DocumentError as error:
                raise SubstitutionError(f"Placeholder {kind} could not read {target!r}: {error.message}") from None

        return read

    def resolve_target(self, target: object) -> str:
        """The absolute URL a Location target names, refused outside the guard."""
        if not isinstance(target, str) or not target.strip():
            raise LocationError(f"Location target must be a non-empty string, got {target!r}")
        url = urljoin(self.key, target.strip())
        if len(url) > MAX_URL:
            raise LocationError(f'Location target "{target[:80]}..." is longer than {MAX_URL} characters')
        problem = self.files.guard(url)
        if problem:
            raise LocationError(f'Location target "{target}" {problem}')
        return url

    def optional(self, target: str) -> str:
        """The URL, marked as allowed to be missing."""
        return OPTIONAL + target


def read_remote(context: RefreshContext, roots: Sequence[str], files: RemoteFiles) -> None:
    """Read the files at `roots` and every file their Locations reach, breadth first, each once.

    A file that cannot be read, or not whole, keeps what it provided last time (and its targets are followed as
    they were); a file that is gone (404) provides nothing any more.
    """
    too_long = [url for url in roots if len(url) > MAX_URL]
    if too_long:
        problem = Problem(f"{len(too_long)} file(s) not read: a URL longer than {MAX_URL} characters", LOCATION)
        context.writer.add_problems(location_path(files.origin), [problem])
        roots = [url for url in roots if len(url) <= MAX_URL]
    visited = set(roots)
    level = [(url, files.roots_required) for url in roots]  # (url, whether its absence is an error)
    is_root = True
    while level:
        answers = context.upstream.fetch_all(
            [(files.request_url(url), _etag(context, url)) for url, _required in level],
            accept_404=True,
            headers=files.headers,
        )
        following: list[tuple[str, bool]] = []
        for (url, required), answer in zip(level, answers, strict=True):
            if is_root and files.roots_required:
                if isinstance(answer, UpstreamError):
                    raise answer
                if answer.status_code == 404:
                    raise UpstreamError(f"{url}: 404 Not Found: check the source's url", 404)
            for target in _apply(context, files, url, required, answer):
                optional = target.startswith(OPTIONAL)
                target = target.removeprefix(OPTIONAL)
                if target not in visited:
                    visited.add(target)
                    following.append((target, not optional))
        level = following
        is_root = False


def _etag(context: RefreshContext, url: str) -> str | None:
    """The ETag to ask with, only for a file whose last reading is stored and clean."""
    return context.cache.etag(url) if context.writer.known_hash(url) is not None else None


def _apply(
    context: RefreshContext, files: RemoteFiles, url: str, required: bool, answer: httpx.Response | UpstreamError
) -> list[str]:
    """Record one file's answer in the refresh; the targets to follow from it."""
    writer = context.writer
    if not isinstance(answer, UpstreamError) and answer.status_code == 304:
        known = writer.known_hash(url)
        if known is not None:
            writer.apply(FileResult(url, known, unchanged=True))
            context.cache.keep(url)
            return writer.stored_targets(url)
        # An ETag is only sent for a file read cleanly before: a 304 to any other request says nothing.
        answer = UpstreamError(f"{url}: the upstream answered 304 Not Modified to a request without an ETag", 304)
    if isinstance(answer, UpstreamError):
        # The message names the URL already when it is the one asked (not, say, an API URL behind it).
        reason = answer.message.removeprefix(f"{url}: ")
        writer.apply(FileResult(url, "", problems=[Problem(f"Could not read {url}: {reason}", UNREADABLE_FILE)]))
        context.cache.keep(url)
        return writer.stored_targets(url)
    if answer.status_code == 404:
        if required:
            writer.apply(FileResult(url, "", problems=[Problem(f"{url}: no such file (404)", LOCATION)]))
        context.cache.remember(url, None)
        return []
    context.cache.remember(url, validator(answer))
    data = answer.content
    reading = context.reading
    known = writer.known_hash(url)
    if known is not None and known == content_hash(data, reading.provenance_keys):
        writer.apply(FileResult(url, known, unchanged=True))
        return writer.stored_targets(url)
    place = RemotePlace(url, files.origin, files, context)
    result = process_bytes(place, data, reading.max_bytes, reading.provenance_keys)
    if place.unreachable:
        result.problems = [_unreadable(problem, place.unreachable) for problem in result.problems]
    writer.apply(result)  # merges in the stored targets of a file it could not read whole
    return result.targets


def _unreadable(problem: Problem, unreachable: list[str]) -> Problem:
    """A placeholder problem whose file could not be fetched marks the descriptor unreadable for now,
    so that the entities it provided stay as they were rather than vanish for an upstream hiccup."""
    if problem.code == PLACEHOLDER and any(problem.message.endswith(message) for message in unreachable):
        return replace(problem, code=UNREADABLE_FILE)
    return problem
