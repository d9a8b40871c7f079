"""User-stored CodeSystems, ValueSets, ConceptMaps and NamingSystems, cached per generation.

Users store terminology through the REST API, and the operations, the validator and ingest
enrichment must see it. Reading the ``resource`` table on every membership test would cost a
query per binding; caching it per process would go stale as soon as another gunicorn worker
(or server) accepts a write. So every process caches what it read and built under the value
of a change counter (``terminology_generation``, bumped by a trigger on every write of one of
these types, see migration 020): one one-row query tells whether the cache is current. The
counter is read lazily — only when shipped content cannot answer — and at most once per HTTP
request (remembered on ``flask.g``).

Until the search module offers ``url``/``version`` search, this is the one place that reads
the ``resource`` table directly for terminology; each lookup is a scan of the live rows of one
resource type (terminology resources are few), done once per URL and generation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from .. import fhirjson
from ..conformance.registry import latest
from ..store.canonical_lookup import ALL_OF_TYPE, BY_URL
from .uris import Aliases

if TYPE_CHECKING:
    from . import CodeCheck
    from .codesystems import CodeSystemIndex
    from .conceptmaps import MapIndex
    from .valuesets import Expansion

Connect = Callable[[], AbstractContextManager[Any]]  # a pooled psycopg connection

# The change counter; public for a caller that sends it on its own connection (document ingest
# pipelines it with its lookups) and hands the answer to :meth:`StoredTerminology.remember`.
GENERATION_SQL = "SELECT generation FROM terminology_generation"


class Snapshot:
    """The stored terminology as of one generation, and everything built from it.

    Implements :class:`fhirsrv.terminology.content.StoredResources`. Shared by the threads of
    a process until the generation changes; ``lock`` serialises builds (a half-built
    expansion must never be seen by another thread), cache hits take no lock.
    """

    def __init__(self, generation: int, connect: Connect, base_aliases: Aliases, known: Callable[[str], bool]) -> None:
        self.generation = generation
        self._connect = connect
        self._base_aliases = base_aliases
        self._known = known
        self._by_url: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._by_type: dict[str, list[dict[str, Any]]] = {}
        self._aliases: Aliases | None = None
        self.lock = threading.RLock()
        self.codesystems: dict[tuple, CodeSystemIndex] = {}
        self.expansions: dict[str, Expansion | None] = {}
        self.maps: MapIndex | None = None
        # (value set, system, code) → the membership answer as of this generation
        # (BoundTerminology.validate_code, for what shipped content alone cannot answer)
        self.answers: dict[tuple[str, str | None, str], CodeCheck] = {}

    def _rows(self, sql: str, args: tuple[Any, ...]) -> list[dict[str, Any]]:
        with self._connect() as connection:
            return [fhirjson.loads(row[0]) for row in connection.execute(sql, args).fetchall()]

    def find(self, rtype: str, url: str, version: str | None) -> dict[str, Any] | None:
        candidates = self._by_url.get((rtype, url))
        if candidates is None:
            candidates = self._by_url[(rtype, url)] = self._rows(BY_URL, (rtype, url))
        # A resource that states no version cannot contradict a pinned reference (the R4
        # core pins every binding to |4.0.1, the FHIR version, not the value set's).
        return latest(candidates, version) or latest((c for c in candidates if not c.get("version")), None)

    def all_of_type(self, rtype: str) -> list[dict[str, Any]]:
        found = self._by_type.get(rtype)
        if found is None:
            found = self._by_type[rtype] = self._rows(ALL_OF_TYPE, (rtype,))
        return found

    @property
    def aliases(self) -> Aliases:
        """The shipped and packaged aliases plus those of stored NamingSystems (which only add
        spellings: they never redirect one the server already knows)."""
        if self._aliases is None:
            self._aliases = self._base_aliases.extended(self.all_of_type("NamingSystem"), self._known)
        return self._aliases


class StoredTerminology:
    """The current :class:`Snapshot` of one database, for one process."""

    _G_KEY = "_fhirsrv_terminology_generations"

    def __init__(self, connect: Connect, base_aliases: Aliases, known: Callable[[str], bool]) -> None:
        self._connect = connect
        self._base_aliases = base_aliases
        self._known = known  # systems shipped content knows (stored NamingSystems cannot redirect them)
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def generation(self) -> int:
        with self._connect() as connection:
            row = connection.execute(GENERATION_SQL).fetchone()
        return int(row[0]) if row else 0

    def current(self) -> Snapshot:
        """The snapshot for the database's current generation (read once per HTTP request)."""
        remembered = _request_memo(self._G_KEY)
        snapshot = remembered.get(id(self)) if remembered is not None else None
        if snapshot is None:
            snapshot = self._for(self.generation())
            if remembered is not None:
                remembered[id(self)] = snapshot
        return snapshot

    def remember(self, generation: int) -> None:
        """Use ``generation`` (read by the caller itself) for the rest of this HTTP request, so
        that :meth:`current` needs no query of its own; outside a request, nothing changes."""
        remembered = _request_memo(self._G_KEY)
        if remembered is not None and id(self) not in remembered:
            remembered[id(self)] = self._for(generation)

    def _for(self, generation: int) -> Snapshot:
        snapshot = self._snapshot
        if snapshot is not None and snapshot.generation == generation:
            return snapshot
        with self._lock:
            snapshot = self._snapshot
            if snapshot is None or snapshot.generation != generation:
                snapshot = Snapshot(generation, self._connect, self._base_aliases, self._known)
                if self._snapshot is None or generation > self._snapshot.generation:
                    self._snapshot = snapshot  # a slow reader of an older generation keeps its own
            return snapshot


def _request_memo(key: str) -> dict[int, Snapshot] | None:
    """A dict living as long as the current Flask request (None outside a request)."""
    from flask import g, has_app_context, has_request_context

    if not (has_request_context() and has_app_context()):
        return None
    memo = g.get(key)
    if memo is None:
        memo = {}
        setattr(g, key, memo)
    return memo
