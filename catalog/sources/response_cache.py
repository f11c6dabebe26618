"""ETags of a source's upstream responses, so an unchanged upstream costs a 304 and no reading."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from catalog.driver import insert_rows
from catalog.tables import HTTP_CACHE

READING = "stairway:reading"  # the entry that records how the files were read


class ResponseCache:
    """The ETag (and, for listings, the body) of each URL a source read, loaded once per refresh.

    Changes are written by `save`, inside the refresh's transaction, and only where they differ.
    """

    def __init__(self, connection: Connection, source: str, reading: str = "") -> None:
        self.connection = connection
        self.source = source
        query = sa.select(HTTP_CACHE.c.url, HTTP_CACHE.c.etag, HTTP_CACHE.c.body).where(HTTP_CACHE.c.source == source)
        self._stored: dict[str, tuple[str, str | None]] = {
            url: (etag, body) for url, etag, body in connection.execute(query)
        }
        self._fresh: dict[str, tuple[str, str | None] | None] = {}  # None: forget the URL
        self._used: set[str] = set()
        # A 304 says the bytes did not change, not that they were read as they would be now: when how
        # files are read changed (e.g. the annotations that name a template), every file is read anew.
        marker = reading or "default"
        if self._stored and self._stored.get(READING, ("", None))[0] != marker:
            self._fresh = dict.fromkeys(self._stored)
        self.remember(READING, marker)

    def etag(self, url: str) -> str | None:
        """The ETag to send as If-None-Match for `url`, if it was read before."""
        entry = self._current(url)
        return entry[0] if entry else None

    def body(self, url: str) -> str | None:
        """What was kept of `url`'s body when it was last read (answers a 304)."""
        entry = self._current(url)
        return entry[1] if entry else None

    def remember(self, url: str, etag: str | None, body: str | None = None) -> None:
        """Record the answer just read; without an ETag there is nothing to ask with next time."""
        self._used.add(url)
        self._fresh[url] = (etag, body) if etag else None

    def keep(self, url: str) -> None:
        """The stored entry still holds (a 304, or a part of the upstream this refresh did not read)."""
        self._used.add(url)

    def save(self, prune: bool) -> None:
        """Write what changed; with `prune`, also forget URLs this refresh never asked for."""
        changed = {url: entry for url, entry in self._fresh.items() if entry != self._stored.get(url)}
        stale = [url for url in changed if url in self._stored]
        if prune:
            stale += [url for url in self._stored if url not in self._used and url not in changed]
        for start in range(0, len(stale), 500):
            chunk = stale[start : start + 500]
            self.connection.execute(
                sa.delete(HTTP_CACHE).where(HTTP_CACHE.c.source == self.source, HTTP_CACHE.c.url.in_(chunk))
            )
        rows: list[tuple[object, ...]] = [
            (self.source, url, *entry) for url, entry in changed.items() if entry is not None
        ]
        insert_rows(self.connection, "http_cache", ("source", "url", "etag", "body"), rows)

    def _current(self, url: str) -> tuple[str, str | None] | None:
        if url in self._fresh:
            return self._fresh[url]
        return self._stored.get(url)
