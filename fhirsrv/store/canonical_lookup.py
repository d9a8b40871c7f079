"""Resources users stored, found by canonical URL while a resource is being validated.

The validator asks for a stored resource only when nothing shipped answers (a
QuestionnaireResponse naming a Questionnaire a user stored), so the database connection is
taken from the pool on the first question and given back when the validation ends: a
validation that never asks costs nothing. A create or update validates before its own
transaction opens; the entries of a transaction Bundle are validated inside it, so there a
lookup takes a second connection — with a short wait: when the pool is exhausted the lookup
answers "not stored" (the validator then warns that the definition could not be found)
instead of waiting on connections that requests like it hold.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from psycopg import Cursor
from psycopg_pool import ConnectionPool, PoolTimeout

from ..terminology.stored import DatabaseResources

WAIT_SECONDS = 2.0


class PooledCanonicalLookup:
    """Implements :class:`fhirsrv.terminology.content.StoredResources`; use as a context manager."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._stack = ExitStack()
        self._cursor: Cursor | None = None
        self._resources = DatabaseResources(self._take_cursor)

    def _take_cursor(self) -> Cursor:
        if self._cursor is None:
            connection = self._stack.enter_context(self._pool.connection(timeout=WAIT_SECONDS))
            self._cursor = self._stack.enter_context(connection.cursor())
        return self._cursor

    def find(self, rtype: str, url: str, version: str | None) -> dict[str, Any] | None:
        try:
            return self._resources.find(rtype, url, version)
        except PoolTimeout:
            return None

    def all_of_type(self, rtype: str) -> list[dict[str, Any]]:
        try:
            return self._resources.all_of_type(rtype)
        except PoolTimeout:
            return []

    def __enter__(self) -> PooledCanonicalLookup:
        return self

    def __exit__(self, *exc: object) -> None:
        self._cursor = None
        self._stack.close()
