"""The psycopg connection pool, one per process (gunicorn workers open their own after fork)."""

from __future__ import annotations

from psycopg_pool import ConnectionPool


def open_pool(conninfo: str, *, min_size: int = 1, max_size: int = 8, name: str = "fhirsrv") -> ConnectionPool:
    """A pool of autocommit-off connections; every request runs in one explicit transaction."""
    pool = ConnectionPool(
        conninfo,
        min_size=min_size,
        max_size=max_size,
        name=name,
        open=False,
        kwargs={"autocommit": False, "application_name": name, "options": "-c TimeZone=UTC"},
        timeout=30,
    )
    pool.open(wait=True, timeout=30)
    return pool
