"""User-stored CodeSystems, ValueSets and ConceptMaps, found by canonical URL.

Until the search module offers ``url``/``version`` search, this is the one place that reads
the ``resource`` table directly for terminology. Each query is a scan of the live rows of one
resource type filtered on ``body->>'url'``; terminology resources are few, and the live-by-type
index keeps the scan to that type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg import Cursor

from .. import fhirjson
from ..conformance.registry import version_key

_BY_URL = (
    "SELECT body::text FROM resource"
    " WHERE rtype = %s AND current AND NOT deleted AND body::jsonb ->> 'url' = %s"
)
_ALL = "SELECT body::text FROM resource WHERE rtype = %s AND current AND NOT deleted"


class DatabaseResources:
    """Implements :class:`fhirsrv.terminology.content.StoredResources` over one cursor.

    ``cursor`` may be a cursor or a function returning one, so that a request whose answer
    comes from shipped content alone never opens a database transaction.
    """

    def __init__(self, cursor: Cursor | Callable[[], Cursor]) -> None:
        self._cursor = cursor

    @property
    def cursor(self) -> Cursor:
        return self._cursor() if callable(self._cursor) else self._cursor

    def find(self, rtype: str, url: str, version: str | None) -> dict[str, Any] | None:
        cursor = self.cursor
        cursor.execute(_BY_URL, (rtype, url))
        candidates = [fhirjson.loads(row[0]) for row in cursor.fetchall()]
        if version is not None:
            candidates = [
                c for c in candidates
                if (c.get("version") or "") == version or (c.get("version") or "").startswith(version + ".")
            ]
        if not candidates:
            return None
        return max(candidates, key=lambda c: version_key(c.get("version") or ""))

    def all_of_type(self, rtype: str) -> list[dict[str, Any]]:
        cursor = self.cursor
        cursor.execute(_ALL, (rtype,))
        return [fhirjson.loads(row[0]) for row in cursor.fetchall()]
