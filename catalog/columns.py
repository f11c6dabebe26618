"""What fits the indexed columns of the catalogue's tables (catalog/tables.py).

PostgreSQL refuses over-long values where SQLite takes them, and one refused row would fail a
whole ingest, so values are checked before they are stored. This module stays import-light: the
worker processes use it.
"""

from __future__ import annotations

MAX_SPEC_VALUE = 255  # spec.type, spec.lifecycle, a template version
MAX_REF = 512  # entity refs


def too_long(text: str, limit: int) -> bool:
    """Over `limit` characters, or bytes: PostgreSQL's B-tree entries (the covering indexes) must
    stay under 2.7 kB, and a non-ASCII character takes up to four."""
    return len(text) > limit or (not text.isascii() and len(text.encode()) > limit)
