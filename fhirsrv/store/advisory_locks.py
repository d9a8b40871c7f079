"""Transaction-scoped advisory locks on text keys: the one place that writes their SQL.

Writers that must not interleave (two updates of one resource, two ingests of one person or
of one document) lock a text key that names what they touch; the lock is held until the
database transaction ends, so it is released by the commit or rollback that ends the work.
Callers prefix their keys with what they lock (``Patient/123``, ``document|…``,
``document-source|…``, ``Patient.identifier|…``) so that two purposes never share a key.

**The key is part of the protocol.** A text key becomes the lock ``hashtextextended(key, 0)``
(one bigint). During a rolling restart old and new workers run side by side and exclude each
other only if they derive the same bigint from the same key: neither the hashing nor a
caller's key format may change without stopping every worker first. Two different keys may
hash alike; that only makes two writers wait for each other needlessly, never lets them in
together.

**Several keys go in one statement, in sorted order.** :func:`lock_keys` sorts the keys in
Python (code-point order, whatever the database's collation) and Postgres takes them in the
order of the array, so two transactions wanting overlapping sets take the shared keys in the
same order and cannot wait for each other in a cycle. It is one statement whatever the number
of keys, and none for no keys.

**No round trip of its own.** Both functions only *send* a statement and read nothing back:
inside a pipeline (document ingest sends its locks beside its lookups) the lock shares the
round trip of the statements around it, outside one it costs the one ``execute``.

**The conditional-create locks stay in** :mod:`.condition_locks`. They lock
``(class, bucket)`` pairs of int4 — a different lock space from the bigint one used here, so
the two can never collide — and they hash criteria into a bounded number of buckets on
purpose, so that a batch of thousands of conditional creates cannot exhaust Postgres' lock
table; text keys here are one lock per key. Moving them to text keys would change which locks
a conditional create takes (breaking exclusion between old and new workers during a rolling
restart) and give up that bound, to save one line of SQL.
"""

from __future__ import annotations

from collections.abc import Iterable

from psycopg import Cursor

_LOCK_ONE = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"
_LOCK_MANY = "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest(%s::text[]) AS k"


def lock_key(cur: Cursor, key: str) -> None:
    """Wait for ``key`` and hold it until the transaction ends."""
    cur.execute(_LOCK_ONE, (key,))


def lock_keys(cur: Cursor, keys: Iterable[str]) -> None:
    """Wait for every one of ``keys`` (duplicates count once), taken in sorted order in one
    statement, and hold them until the transaction ends; sends nothing for no keys."""
    ordered = sorted(set(keys))
    if ordered:
        cur.execute(_LOCK_MANY, (ordered,))
