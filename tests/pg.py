"""A real Postgres for the tests: DATABASE_URL when set, else the embedded cluster.

Each test session gets a database of its own (dropped at the end), so parallel workers
and repeated runs never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from fhirsrv.db.embedded import EmbeddedPostgres
from fhirsrv.db.migrate import migrate

PROJECT = Path(__file__).resolve().parent.parent
TEST_PGDATA = Path(os.environ.get("FHIRSRV_TEST_PGDATA", PROJECT / ".fhirsrv" / "test-pgdata"))
FAST_OPTIONS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def _with_database(conninfo: str, name: str) -> str:
    if conninfo.startswith("postgresql://") or conninfo.startswith("postgres://"):
        parts = urlsplit(conninfo)
        return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))
    return f"{conninfo} dbname={name}"


@contextmanager
def test_database() -> Iterator[str]:
    """A fresh, migrated database; yields its conninfo."""
    embedded = None
    admin = os.environ.get("DATABASE_URL")
    if not admin:
        embedded = EmbeddedPostgres(TEST_PGDATA, extra_options=FAST_OPTIONS)
        admin = embedded.start()
    name = f"fhirsrv_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conninfo = _with_database(admin, name)
    try:
        migrate(conninfo)
        yield conninfo
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if embedded is not None:
            embedded.stop()
