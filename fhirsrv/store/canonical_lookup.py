"""Resources users stored, found by canonical URL while a resource is being validated.

The validator asks only when nothing shipped answers (a QuestionnaireResponse naming a
Questionnaire a user stored), so a validation that never asks costs nothing; each question
is one query on a connection of the server's lookup pool (``Services.lookup_pool``: the
request's own pool may be held by the very transaction being validated). Stored terminology
has its own generation-cached reader (:mod:`fhirsrv.terminology.stored`) over the same
queries and version rule defined here; this serves the other canonical resources, which are
not cached: a stored Questionnaire may change at any write. Should the lookup pool stay
exhausted for ``WAIT_SECONDS``, a lookup answers "not stored" (the validator then warns that
the definition could not be found) rather than hold the request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg_pool import ConnectionPool, PoolTimeout

from .. import fhirjson
from ..conformance.registry import latest

WAIT_SECONDS = 2.0

BY_URL = (
    "SELECT body::text FROM resource"
    " WHERE rtype = %s AND current AND NOT deleted AND body::jsonb ->> 'url' = %s"
)
ALL_OF_TYPE = "SELECT body::text FROM resource WHERE rtype = %s AND current AND NOT deleted"


class PooledCanonicalLookup:
    """Implements :class:`fhirsrv.terminology.content.StoredResources` over the server's pool."""

    def __init__(self, pool: Callable[[], ConnectionPool]) -> None:
        self._pool = pool  # asked each time: the server re-opens its pool after a fork

    def _rows(self, sql: str, args: tuple[Any, ...]) -> list[dict[str, Any]]:
        try:
            with self._pool().connection(timeout=WAIT_SECONDS) as connection:
                return [fhirjson.loads(row[0]) for row in connection.execute(sql, args).fetchall()]
        except PoolTimeout:
            return []

    def find(self, rtype: str, url: str, version: str | None) -> dict[str, Any] | None:
        return latest(self._rows(BY_URL, (rtype, url)), version)

    def all_of_type(self, rtype: str) -> list[dict[str, Any]]:
        return self._rows(ALL_OF_TYPE, (rtype,))
