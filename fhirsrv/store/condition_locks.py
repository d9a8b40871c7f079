"""Serialise conditional creates with the same criteria (``If-None-Exist``, ``ifNoneExist``).

Two concurrent conditional creates with equal criteria would otherwise both search, both
find nothing and both create. Each takes a transaction-scoped advisory lock on its criteria
before searching; the second waits until the first commits and then finds its resource.
The REST create and the transaction processor take the *same* locks, so a conditional
create through either path serialises with one through the other.

Locks are held to the end of the database transaction, so criteria are hashed into
:data:`CONDITION_LOCK_BUCKETS` buckets (a batch of thousands of conditional creates must not
exhaust Postgres' lock table), and taken in order, so two requests cannot deadlock on them.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from psycopg import Cursor

from .bundle_entries import condition_key

# (class, bucket) pairs of int4: a lock space apart from the bigint text-key locks of
# .advisory_locks (whose docstring says why these do not move there).
CONDITION_LOCK_CLASS = 0x46484952  # "FHIR"
CONDITION_LOCK_BUCKETS = 256


def condition_bucket(rtype: str, query: str) -> int:
    """A stable bucket for search criteria (crc32: the same in every process, unlike hash())."""
    return zlib.crc32(condition_key(rtype, query).encode()) % CONDITION_LOCK_BUCKETS


def lock_conditions(cur: Cursor, conditions: Iterable[tuple[str, str]]) -> None:
    """Lock the buckets of ``(resource type, criteria)`` pairs, in order, until commit."""
    buckets = sorted({condition_bucket(rtype, query) for rtype, query in conditions})
    if buckets:
        cur.execute(
            "SELECT pg_advisory_xact_lock(%s, b) FROM unnest(%s::int[]) AS b ORDER BY b",
            (CONDITION_LOCK_CLASS, buckets),
        )
