"""The psycopg connection pool, one per process (gunicorn workers open their own after fork)."""

from __future__ import annotations

from psycopg_pool import ConnectionPool


def open_pool(conninfo: str, *, min_size: int = 1, max_size: int = 8, name: str = "fhirsrv") -> ConnectionPool:
    """A pool of autocommit connections.

    Writes run in an explicit transaction (``conn.transaction()``); a single-statement read
    then costs one round trip instead of three (no implicit BEGIN, no COMMIT).
    """
    pool = ConnectionPool(
        conninfo,
        min_size=min_size,
        max_size=max_size,
        name=name,
        open=False,
        kwargs={"autocommit": True, "application_name": name, "options": "-c TimeZone=UTC"},
        timeout=30,
    )
    pool.open(wait=True, timeout=30)
    return pool
