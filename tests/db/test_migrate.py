"""Migrations: recorded, idempotent, and safe when several processes start at once."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
from psycopg import sql

from fhirsrv.db.migrate import available_migrations, migrate


def _fresh_database(conninfo: str) -> str:
    name = f"fhirsrv_mig_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return conninfo.replace(conninfo.split("?")[0].rsplit("/", 1)[1], name, 1), name


def _drop(conninfo: str, name: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def test_migrations_are_numbered_and_unique():
    versions = [m.version for m in available_migrations()]
    assert versions == sorted(set(versions)) and versions[0] == 1


def test_migrate_twice_applies_once(conninfo):
    target, name = _fresh_database(conninfo)
    try:
        first = migrate(target)
        assert first == [m.version for m in available_migrations()]
        assert migrate(target) == []
        with psycopg.connect(target) as conn:
            recorded = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
        assert recorded == first
    finally:
        _drop(conninfo, name)


def test_concurrent_starters_apply_each_migration_once(conninfo):
    target, name = _fresh_database(conninfo)
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda _: migrate(target), range(4)))
        applied = [v for r in results for v in r]
        assert sorted(applied) == [m.version for m in available_migrations()]
    finally:
        _drop(conninfo, name)
