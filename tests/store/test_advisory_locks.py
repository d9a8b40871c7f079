"""Transaction-scoped advisory locks on text keys (fhirsrv.store.advisory_locks), on a real Postgres.

The probe asks Postgres directly with the SQL every worker has used so far
(``hashtextextended(key, 0)``): a worker started before this module existed must still be
excluded by one started after it, so the lock a key becomes is pinned here, not just "some lock".
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from fhirsrv.documents import records
from fhirsrv.documents.patients import SSIN, SSIN_ALIASES, lock_identifiers
from fhirsrv.store.advisory_locks import lock_key, lock_keys
from fhirsrv.store.repository import ResourceStore


@pytest.fixture()
def probe(conninfo: str) -> Iterator[psycopg.Connection]:
    """Autocommit: each try-lock is its own transaction and lets go of what it got at once."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        yield conn


def _held(probe: psycopg.Connection, key: str) -> bool:
    """Whether another transaction holds ``key`` (the way the workers before this module locked it)."""
    return not probe.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", (key,)).fetchone()[0]


def _waiting(probe: psycopg.Connection, backend_pid: int) -> bool:
    return probe.execute(
        "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND pid = %s", (backend_pid,),
    ).fetchone()[0]


def _key(name: str) -> str:
    return f"test-advisory|{uuid.uuid4().hex}|{name}"


def test_a_locked_key_excludes_other_transactions_until_the_first_ends(conninfo, probe):
    key, other = _key("k"), _key("other")
    with psycopg.connect(conninfo) as holder, psycopg.connect(conninfo) as contender:
        lock_key(holder.cursor(), key)
        assert _held(probe, key)
        assert not _held(probe, other)
        contender.execute("SET LOCAL lock_timeout = '100ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            lock_key(contender.cursor(), key)  # waits for the holder (here: until lock_timeout)
        contender.rollback()
        holder.commit()  # the end of the transaction releases the key
        assert not _held(probe, key)


def test_lock_keys_holds_every_key_until_the_transaction_ends(conninfo, probe):
    keys = [_key("b"), _key("a")]
    with psycopg.connect(conninfo) as holder:
        lock_keys(holder.cursor(), iter([*keys, keys[0]]))  # any iterable; a key given twice is fine
        assert [_held(probe, k) for k in keys] == [True, True]
        assert not _held(probe, _key("c"))
        holder.rollback()
        assert [_held(probe, k) for k in keys] == [False, False]


def test_lock_keys_takes_the_keys_in_sorted_order(conninfo, probe):
    """Given z, m, a while another transaction holds m: it takes a, waits for m, and has not
    touched z — the sorted order, whatever order the caller gave."""
    prefix = _key("")
    first, middle, last = f"{prefix}a", f"{prefix}m", f"{prefix}z"
    with (psycopg.connect(conninfo) as blocker, psycopg.connect(conninfo) as locker,
          ThreadPoolExecutor(max_workers=1) as pool):
        lock_key(blocker.cursor(), middle)
        locked = pool.submit(lock_keys, locker.cursor(), [last, middle, first])
        try:
            deadline = time.monotonic() + 20
            while not _waiting(probe, locker.info.backend_pid):
                assert time.monotonic() < deadline, "lock_keys did not wait for the key held by the blocker"
                assert not locked.done(), locked.result()
                time.sleep(0.02)
            held_while_waiting = {"a": _held(probe, first), "z": _held(probe, last)}
        finally:
            blocker.rollback()  # lets the waiting lock_keys go on (also when an assertion failed)
        locked.result(timeout=20)
        assert held_while_waiting == {"a": True, "z": False}
        assert [_held(probe, k) for k in (first, middle, last)] == [True, True, True]
        locker.rollback()


def test_lock_keys_sends_nothing_for_no_keys(conninfo):
    with psycopg.connect(conninfo) as conn:
        cur = conn.cursor()
        with pytest.raises(psycopg.errors.DivisionByZero):
            cur.execute("SELECT 1 / 0")
        lock_keys(cur, [])  # any statement now would raise InFailedSqlTransaction
        conn.rollback()


def test_resource_write_locks_keep_their_keys(conninfo, probe):
    """``Type/id``: the key every update, delete and ingest supersession of a resource holds."""
    rid = uuid.uuid4().hex
    with psycopg.connect(conninfo) as holder:
        ResourceStore.lock_many(holder.cursor(), [("DocumentReference", rid), ("Condition", rid)])
        assert _held(probe, f"DocumentReference/{rid}")
        assert _held(probe, f"Condition/{rid}")
        holder.rollback()


def test_patient_identifier_locks_keep_their_keys(conninfo, probe):
    """``Patient.identifier|system|value``, every SSIN alias under the one SSIN system."""
    value = uuid.uuid4().hex
    with psycopg.connect(conninfo) as holder:
        lock_identifiers(holder.cursor(), [(SSIN_ALIASES[2], value), ("https://example.org/mrn", value)])
        assert _held(probe, f"Patient.identifier|{SSIN}|{value}")
        assert _held(probe, f"Patient.identifier|https://example.org/mrn|{value}")
        assert not _held(probe, f"Patient.identifier|{SSIN_ALIASES[2]}|{value}")
        holder.rollback()


def test_document_locks_keep_their_keys(conninfo, probe):
    """Ingest and withdrawal exclude each other through these two keys: ``document|system|value``
    (one Bundle.identifier) and ``document-source|patient|source`` (one patient's source)."""
    value = uuid.uuid4().hex
    with psycopg.connect(conninfo) as holder:
        records.lock_identifier(holder.cursor(), "urn:ietf:rfc:3986", value)
        records.lock_source(holder.cursor(), value, "https://example.org/gp|1")
        assert _held(probe, f"document|urn:ietf:rfc:3986|{value}")
        assert _held(probe, f"document-source|{value}|https://example.org/gp|1")
        holder.rollback()
