"""Which Postgres to use: ``DATABASE_URL`` when set, else the embedded cluster in the data folder."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import psycopg
from psycopg import sql

from ..config import Settings
from .embedded import EmbeddedPostgres
from .migrate import migrate

_log = logging.getLogger("fhirsrv.db")
EMBEDDED_DATABASE = "fhirsrv"


@dataclass
class Database:
    conninfo: str
    embedded: EmbeddedPostgres | None = None

    def release(self) -> None:
        """Unregister from the embedded cluster (which stops when its last user leaves)."""
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None


def ensure_database(admin_conninfo: str, name: str) -> None:
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            # another process may create it at the same moment: that is fine
            with contextlib.suppress(psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def open_database(settings: Settings, *, apply_migrations: bool = True) -> Database:
    if settings.database_url:
        database = Database(settings.database_url)
        _log.info("using the Postgres at DATABASE_URL")
    else:
        embedded = EmbeddedPostgres(settings.pgdata)
        admin = embedded.start()
        ensure_database(admin, EMBEDDED_DATABASE)
        database = Database(embedded.uri(EMBEDDED_DATABASE), embedded)
        _log.info("using the embedded Postgres in %s", embedded.pgdata)
    if apply_migrations:
        applied = migrate(database.conninfo)
        if applied:
            _log.info("applied migrations %s", applied)
    return database
