"""Resources users stored, found by canonical URL while a resource is being validated.

The validator asks only when nothing shipped answers (a QuestionnaireResponse naming a
Questionnaire a user stored), so a validation that never asks costs nothing; each question
is one query on a pooled connection held for that query alone. Stored terminology has its
own generation-cached path (:mod:`fhirsrv.terminology.stored`); this serves the other
canonical resources, which are not cached: a stored Questionnaire may change at any write.

The entries of a transaction Bundle are validated inside the transaction, so there a lookup
takes a second connection — with a short wait: when the pool is exhausted the lookup answers
"not stored" (the validator then warns that the definition could not be found) instead of
waiting on connections that requests like it hold.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg_pool import ConnectionPool, PoolTimeout

from .. import fhirjson
from ..conformance.registry import version_key

WAIT_SECONDS = 2.0

_BY_URL = (
    "SELECT body::text FROM resource"
    " WHERE rtype = %s AND current AND NOT deleted AND body::jsonb ->> 'url' = %s"
)
_ALL = "SELECT body::text FROM resource WHERE rtype = %s AND current AND NOT deleted"


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
        candidates = self._rows(_BY_URL, (rtype, url))
        if version is not None:
            candidates = [c for c in candidates
                          if (c.get("version") or "") == version or (c.get("version") or "").startswith(version + ".")]
        return max(candidates, key=lambda c: version_key(c.get("version") or ""), default=None)

    def all_of_type(self, rtype: str) -> list[dict[str, Any]]:
        return self._rows(_ALL, (rtype,))
