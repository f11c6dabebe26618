"""Keyset pagination: opaque cursors and page-size limits."""

from __future__ import annotations

import base64
import binascii

from service.graphql.errors import bad_input

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50


def page_size(first: int | None) -> int:
    """`first` (null means the default), checked against the cap."""
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0 or first > MAX_PAGE_SIZE:
        raise bad_input(f"first must be between 0 and {MAX_PAGE_SIZE}, got {first}", "first")
    return first


def encode_cursor(kind: str, key: str | int) -> str:
    """An opaque cursor for the row with this sort key."""
    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> str | None:
    """The sort key inside a cursor made by `encode_cursor(kind, ...)`."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    prefix = f"{kind}:"
    if not text.startswith(prefix):
        raise bad_input(f"after is not a cursor this list returned: {cursor!r}", "after")
    return text[len(prefix) :]
