"""A descriptor or Location file at an http(s) URL as a source; its targets stay on allowed hosts."""

from __future__ import annotations

from catalog.sources.definitions import UrlSource
from catalog.sources.refresh import RefreshContext, SourceError
from catalog.sources.remote import RemoteFiles, host_guard, read_remote


def read_url(source: UrlSource, context: RefreshContext) -> None:
    """Read the file at `source.url` and every file its Locations reach on the allowed hosts."""
    files = RemoteFiles(guard=host_guard(source.hosts()), origin=f"url:{source.url}")
    if files.guard(source.url):  # configuration refuses such a URL; a source made otherwise must not slip by
        raise SourceError(f"{source.url} is not an http(s) URL with a host; check the source's url")
    read_remote(context, [source.url], files)
