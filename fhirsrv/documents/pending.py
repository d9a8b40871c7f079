"""A query sent now and read later, so that several lookups share one round trip.

Inside ``connection.pipeline()`` psycopg sends each statement at once and waits only when a
result is read; a :class:`Pending` runs on a cursor of its own, so the lookups of one step of
document ingest (locks, the document by identifier, the patient by identifier, surrogate
keys) go out together and cost one wait for the database instead of one each.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from psycopg import Cursor

T = TypeVar("T")


class Pending(Generic[T]):
    """The answer of one statement, converted by ``convert(rows)`` on first use."""

    def __init__(self, cur: Cursor, sql: str, params: Any, convert: Callable[[list[tuple]], T]) -> None:
        self._cursor = cur.connection.cursor()
        self._cursor.execute(sql, params)
        self._convert = convert
        self._done = False
        self._value: T | None = None

    def result(self) -> T:
        if not self._done:
            self._value = self._convert(self._cursor.fetchall())
            self._cursor.close()
            self._done = True
        return self._value  # type: ignore[return-value]
