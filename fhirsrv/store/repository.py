"""The resource repository: versioned create, read, update, delete and history in Postgres.

Every write adds a row to ``resource`` (all versions are kept) and flips the ``current`` flag
of the previous one, and replaces the resource's search index rows — all inside the caller's
transaction, so a request (or a whole transaction Bundle) is stored all or nothing. Writes to
one logical resource are serialised with a transaction-scoped advisory lock, which also makes
concurrent update-as-create of the same id safe.

Bodies are stored as the exact JSON text we return and read back with ``body::text``: no
model, no float, no re-ordering in between.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from psycopg import Cursor

from .. import fhirjson
from ..errors import Gone, NotFound, PreconditionFailed
from .advisory_locks import lock_key, lock_keys


class IndexLike(Protocol):
    patient_ids: list[str]


class IndexerLike(Protocol):
    def extract(self, rtype: str, resource: dict[str, Any]) -> IndexLike: ...
    def write(self, cur: Cursor, rid: int, index: IndexLike, *, replace: bool = True) -> None: ...
    def write_many(self, cur: Cursor, items: list[tuple[int, Any]], *, replace: Any = True) -> None: ...
    def remove(self, cur: Cursor, rid: int) -> None: ...


@dataclass
class IndexBatch:
    """Index rows of several writes, stored together by :meth:`ResourceStore.write_index_batch`.

    A transaction Bundle passes one to each create/update, so the index rows of all its
    entries go to Postgres in one statement instead of one per entry. Only the search engine
    reads the index: whoever searches in between must write the batch first.
    """

    items: list[tuple[int, Any]] = field(default_factory=list)  # (surrogate key, index rows)
    replaced: list[int] = field(default_factory=list)  # surrogate keys whose old rows go

    def add(self, rid: int, index: Any, *, replace: bool) -> None:
        self.items.append((rid, index))
        if replace:
            self.replaced.append(rid)


@dataclass(frozen=True)
class Stored:
    """One stored version, as read from the database (body as text, never re-serialised)."""

    rtype: str
    id: str
    version: int
    last_updated: datetime
    deleted: bool
    method: str
    body: str | None  # exact JSON text; None for a delete marker
    patient_id: str | None = None

    @property
    def etag(self) -> str:
        return f'W/"{self.version}"'

    @property
    def last_updated_fhir(self) -> str:
        return format_instant(self.last_updated)


def format_instant(moment: datetime) -> str:
    """FHIR instant with millisecond precision in UTC (what we store: see :func:`now`)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def now() -> datetime:
    """The server time of a write, truncated to milliseconds so that the stored timestamp and
    the ``meta.lastUpdated`` text a client sees are the same instant (``_since`` is exact)."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=(moment.microsecond // 1000) * 1000)


def new_id() -> str:
    return str(uuid.uuid4())


def with_server_fields(resource: dict[str, Any], rid: str, version: int, moment: datetime) -> dict[str, Any]:
    """The resource with the server-owned ``id`` and ``meta.versionId/lastUpdated`` set.

    Everything else keeps its place and text: a client's ``meta.profile``, tags and
    extensions stay; ``id`` and ``meta`` go where the client put them, or right after
    ``resourceType`` / ``id`` when absent.
    """
    old_meta = resource.get("meta")
    meta: dict[str, Any] = dict(old_meta) if isinstance(old_meta, dict) else {}
    meta["versionId"] = str(version)
    meta["lastUpdated"] = format_instant(moment)
    if "id" in resource and "meta" in resource:
        out = dict(resource)
        out["id"] = rid
        out["meta"] = meta
        return out
    out = {}
    for key, value in resource.items():
        if key == "id":
            out["id"] = rid
            if "meta" not in resource:
                out["meta"] = meta
            continue
        if key == "meta":
            if "id" not in out:
                out["id"] = rid
            out["meta"] = meta
            continue
        out[key] = value
        if key == "resourceType" and "id" not in resource:
            out["id"] = rid
            if "meta" not in resource:
                out["meta"] = meta
    if "id" not in out:
        out = {"id": rid, "meta": meta, **out}
    return out


@dataclass(frozen=True)
class Current:
    """The current version of a resource with its surrogate key, read to be revised (:meth:`ResourceStore.revise_many`)."""

    stored: Stored
    surrogate: int


@dataclass(frozen=True)
class _Prepared:
    rtype: str
    id: str
    version: int
    body: dict[str, Any]  # with server fields
    text: str  # the exact stored JSON text
    index: Any  # the search index rows (IndexLike)
    patient_id: str | None


# ``count`` surrogate keys (:meth:`ResourceStore.allocate_surrogates`; document ingest sends it
# with its other lookups and reads the answer later)
SURROGATES_SQL = "SELECT nextval('resource_rid_seq') FROM generate_series(1, %s)"

_SELECT = "SELECT rtype, id, version, last_updated, deleted, method, body::text, patient_id FROM resource"


def _row(row: tuple) -> Stored:
    return Stored(*row)


def _write_lock_key(rtype: str, rid: str) -> str:
    """The advisory lock key of one logical resource (``Patient/123``): every write to it holds it."""
    return f"{rtype}/{rid}"


# (cursor, id) -> None, raising FhirError when that resource may not be updated.
WriteProtection = Callable[[Cursor, str], None]
# (writer, cursor, id, moment) -> None: what else a delete of that resource changes, run under its
# write lock, in the delete's transaction, just before its delete marker is written. ``writer``
# is the store those changes go through: the caller's guarded store when it has one.
DeleteHook = Callable[[Any, Cursor, str, datetime], None]


class ResourceStore:
    """Versioned storage of FHIR resources; every method runs in the caller's transaction.

    ``protected``: per resource type, a check every update of that type must pass first (stored
    documents, :mod:`fhirsrv.documents.immutable`). ``on_delete``: per resource type, what a
    delete of a live resource of that type also changes (withdrawal of a stored document,
    :mod:`fhirsrv.documents.withdraw`). The store knows no rule itself.
    """

    def __init__(self, indexer: IndexerLike, protected: Mapping[str, WriteProtection] | None = None,
                 on_delete: Mapping[str, DeleteHook] | None = None) -> None:
        self.indexer = indexer
        self.protected = dict(protected or {})
        self.on_delete = dict(on_delete or {})

    def _check_protected(self, cur: Cursor, rtype: str, rid: str) -> None:
        check = self.protected.get(rtype)
        if check is not None:
            check(cur, rid)

    # -- writes ------------------------------------------------------------------------
    @staticmethod
    def _lock(cur: Cursor, rtype: str, rid: str) -> None:
        lock_key(cur, _write_lock_key(rtype, rid))

    @staticmethod
    def _current(cur: Cursor, rtype: str, rid: str) -> tuple[int, int, bool] | None:
        cur.execute(
            "SELECT version, rid, deleted FROM resource WHERE rtype = %s AND id = %s AND current",
            (rtype, rid),
        )
        return cur.fetchone()

    def _insert(
        self,
        cur: Cursor,
        rtype: str,
        rid: str,
        version: int,
        surrogate: int | None,
        resource: dict[str, Any] | None,
        method: str,
        moment: datetime,
        new_surrogate: int | None = None,
        index_batch: IndexBatch | None = None,
    ) -> tuple[Stored, dict[str, Any] | None]:
        body_text: str | None = None
        patient_id: str | None = None
        stored_resource: dict[str, Any] | None = None
        index = None
        if resource is not None:
            stored_resource = with_server_fields(resource, rid, version, moment)
            body_text = fhirjson.dumps_str(stored_resource)
            index = self.indexer.extract(rtype, stored_resource)
            patient_id = index.patient_ids[0] if index.patient_ids else None
        new = surrogate is None
        if new and new_surrogate is not None:
            surrogate = new_surrogate
        elif new:
            cur.execute("SELECT nextval('resource_rid_seq')")
            surrogate = cur.fetchone()[0]
        else:
            cur.execute("UPDATE resource SET current = false WHERE rtype = %s AND id = %s AND current", (rtype, rid))
        cur.execute(
            "INSERT INTO resource (rtype, id, version, rid, current, deleted, last_updated, method, patient_id, body)"
            " VALUES (%s, %s, %s, %s, true, %s, %s, %s, %s, %s)",
            (rtype, rid, version, surrogate, resource is None, moment, method, patient_id, body_text),
        )
        if index is not None and index_batch is not None:
            index_batch.add(surrogate, index, replace=not new)
        elif index is not None:
            self.indexer.write(cur, surrogate, index, replace=not new)  # a new resource has no old rows
        else:
            self.indexer.remove(cur, surrogate)
        stored = Stored(rtype, rid, version, moment, resource is None, method, body_text, patient_id)
        return stored, stored_resource

    def _prepare(self, rtype: str, rid: str, version: int, resource: dict[str, Any], moment: datetime) -> _Prepared:
        """A version ready to store: server fields set, serialised once, index rows extracted."""
        body = with_server_fields(resource, rid, version, moment)
        index = self.indexer.extract(rtype, body)
        patient_id = index.patient_ids[0] if index.patient_ids else None
        return _Prepared(rtype, rid, version, body, fhirjson.dumps_str(body), index, patient_id)

    def _insert_many(
        self, cur: Cursor, rows: list[_Prepared], surrogates: list[int], method: str, moment: datetime, *, replace: bool
    ) -> list[Stored]:
        """One INSERT for every version row and one statement for all their index rows.

        The arrays go in binary (``%b``): in text, psycopg escapes every quote of every body
        with a regular expression, which cost more than the rest of the INSERT.
        """
        cur.execute(
            "INSERT INTO resource (rtype, id, version, rid, current, deleted, last_updated, method, patient_id, body)"
            " SELECT t.rtype, t.id, t.version, t.rid, true, false, %s, %s, t.patient_id, t.body::json"
            " FROM unnest(%b::text[], %b::text[], %b::int[], %b::bigint[], %b::text[], %b::text[])"
            " AS t(rtype, id, version, rid, patient_id, body)",
            (moment, method, [r.rtype for r in rows], [r.id for r in rows], [r.version for r in rows], surrogates,
             [r.patient_id for r in rows], [r.text for r in rows]),
        )
        self.indexer.write_many(cur, [(key, r.index) for key, r in zip(surrogates, rows, strict=True)], replace=replace)
        return [Stored(r.rtype, r.id, r.version, moment, False, method, r.text, r.patient_id) for r in rows]

    def create_many(
        self,
        cur: Cursor,
        items: list[tuple[str, str, dict[str, Any]]],
        *,
        surrogates: list[int],
        moment: datetime | None = None,
    ) -> list[Stored]:
        """Store several new resources ``(type, pre-assigned id, resource)`` as version 1 in two
        statements, whatever their number (a document's entries): one INSERT of every row from
        column arrays, one for every index row. ``surrogates`` from :meth:`allocate_surrogates`.
        """
        if not items:
            return []
        moment = moment or now()
        rows = [self._prepare(rtype, rid, 1, resource, moment) for rtype, rid, resource in items]
        return self._insert_many(cur, rows, surrogates, "POST", moment, replace=False)

    @staticmethod
    def lock_many(cur: Cursor, keys: list[tuple[str, str]]) -> None:
        """The write locks of several resources (the same ones :meth:`update` takes), in one
        statement and a fixed order, so that two callers never wait for each other in a cycle."""
        lock_keys(cur, (_write_lock_key(rtype, rid) for rtype, rid in keys))

    @staticmethod
    def current_many(cur: Cursor, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Current]:
        """The current, not deleted versions of several resources, in one query (missing ones absent)."""
        if not keys:
            return {}
        cur.execute(
            "SELECT r.rtype, r.id, r.version, r.last_updated, r.deleted, r.method, r.body::text, r.patient_id, r.rid"
            " FROM resource r JOIN unnest(%s::text[], %s::text[]) AS k(rtype, id) ON r.rtype = k.rtype AND r.id = k.id"
            " WHERE r.current AND NOT r.deleted",
            ([k[0] for k in keys], [k[1] for k in keys]),
        )
        return {(row[0], row[1]): Current(Stored(*row[:8]), row[8]) for row in cur.fetchall()}

    def revise_many(
        self, cur: Cursor, items: list[tuple[Current, dict[str, Any]]], *, moment: datetime | None = None
    ) -> list[Stored]:
        """A new version of each ``(current version, new content)``, in three statements.

        The caller holds the locks (:meth:`lock_many`) since it read ``current`` (:meth:`current_many`),
        so the versions are still current: this is :meth:`update` for many resources at once.
        """
        if not items:
            return []
        moment = moment or now()
        rows = [self._prepare(c.stored.rtype, c.stored.id, c.stored.version + 1, resource, moment)
                for c, resource in items]
        cur.execute(
            "UPDATE resource r SET current = false FROM unnest(%s::bigint[]) AS k(rid)"
            " WHERE r.rid = k.rid AND r.current",
            ([c.surrogate for c, _ in items],),
        )
        return self._insert_many(cur, rows, [c.surrogate for c, _ in items], "PUT", moment, replace=True)

    def create(
        self,
        cur: Cursor,
        rtype: str,
        resource: dict[str, Any],
        *,
        moment: datetime | None = None,
        rid: str | None = None,
        surrogate: int | None = None,
        index_batch: IndexBatch | None = None,
    ) -> tuple[Stored, dict[str, Any]]:
        """Store a new resource under a fresh server id (version 1).

        ``rid`` is an id the caller already chose with :func:`new_id` — a transaction must know
        every new id before storing anything, since its resources reference each other.
        ``surrogate`` comes from :meth:`allocate_surrogates`: with it, a create reads nothing
        back, so a transaction can send its creates pipelined, without a round trip each.
        With ``index_batch`` the index rows wait in it (see :class:`IndexBatch`).
        """
        stored, body = self._insert(
            cur, rtype, rid or new_id(), 1, None, resource, "POST", moment or now(), new_surrogate=surrogate,
            index_batch=index_batch,
        )
        assert body is not None
        return stored, body

    def write_index_batch(self, cur: Cursor, batch: IndexBatch) -> None:
        """Store the index rows collected in ``batch`` (one statement) and empty it."""
        if batch.items:
            self.indexer.write_many(cur, batch.items, replace=batch.replaced)
        batch.items, batch.replaced = [], []

    @staticmethod
    def allocate_surrogates(cur: Cursor, count: int) -> list[int]:
        """``count`` surrogate keys for new resources, in one round trip."""
        cur.execute(SURROGATES_SQL, (count,))
        return [row[0] for row in cur.fetchall()]

    def update(
        self,
        cur: Cursor,
        rtype: str,
        rid: str,
        resource: dict[str, Any],
        *,
        if_match: int | None = None,
        moment: datetime | None = None,
        index_batch: IndexBatch | None = None,
    ) -> tuple[Stored, dict[str, Any], bool]:
        """Store a new version (or the first one: update-as-create). Returns (stored, body, created).
        With ``index_batch`` the index rows wait in it (see :class:`IndexBatch`)."""
        self._check_protected(cur, rtype, rid)
        self._lock(cur, rtype, rid)
        current = self._current(cur, rtype, rid)
        if if_match is not None and (current is None or current[0] != if_match or current[2]):
            have = "no version" if current is None else f"version {current[0]}"
            raise PreconditionFailed(
                f"If-Match asked for version {if_match} of {rtype}/{rid}, but the server has {have}; "
                "read the resource again and retry with its current ETag"
            )
        version = 1 if current is None else current[0] + 1
        surrogate = None if current is None else current[1]
        created = current is None or current[2]
        stored, body = self._insert(cur, rtype, rid, version, surrogate, resource, "PUT", moment or now(),
                                    index_batch=index_batch)
        assert body is not None
        return stored, body, created

    def delete(
        self, cur: Cursor, rtype: str, rid: str, *, if_match: int | None = None, moment: datetime | None = None,
        writer: Any = None,
    ) -> Stored | None:
        """Logically delete; returns the delete marker, or None when there was nothing to delete.

        ``writer``: the store an ``on_delete`` hook writes through (default: this one); a guarded
        store passes itself, so that what the hook changes is authorised and audited too."""
        self._lock(cur, rtype, rid)
        current = self._current(cur, rtype, rid)
        if if_match is not None and (current is None or current[0] != if_match):
            raise PreconditionFailed(f"If-Match asked for version {if_match} of {rtype}/{rid}, which is not current")
        if current is None or current[2]:
            return None
        moment = moment or now()
        hook = self.on_delete.get(rtype)
        if hook is not None:
            hook(writer or self, cur, rid, moment)
        stored, _ = self._insert(cur, rtype, rid, current[0] + 1, current[1], None, "DELETE", moment)
        return stored

    # -- reads -------------------------------------------------------------------------
    def read(self, cur: Cursor, rtype: str, rid: str) -> Stored:
        """The current version; NotFound or Gone (deleted) otherwise."""
        cur.execute(_SELECT + " WHERE rtype = %s AND id = %s AND current", (rtype, rid))
        row = cur.fetchone()
        if row is None:
            raise NotFound(f"{rtype}/{rid} is not known to this server")
        stored = _row(row)
        if stored.deleted:
            raise Gone(
                f"{rtype}/{rid} was deleted (version {stored.version})",
                headers={"ETag": stored.etag},
            )
        return stored

    def find_current(self, cur: Cursor, rtype: str, rid: str) -> Stored | None:
        cur.execute(_SELECT + " WHERE rtype = %s AND id = %s AND current AND NOT deleted", (rtype, rid))
        row = cur.fetchone()
        return _row(row) if row else None

    def vread(self, cur: Cursor, rtype: str, rid: str, version: int) -> Stored:
        cur.execute(_SELECT + " WHERE rtype = %s AND id = %s AND version = %s", (rtype, rid, version))
        row = cur.fetchone()
        if row is None:
            raise NotFound(f"{rtype}/{rid} has no version {version}")
        stored = _row(row)
        if stored.deleted:
            raise Gone(f"version {version} of {rtype}/{rid} is a deletion")
        return stored

    def history(
        self,
        cur: Cursor,
        *,
        rtype: str | None = None,
        rid: str | None = None,
        since: datetime | None = None,
        at: datetime | None = None,
        count: int = 20,
        offset: int = 0,
        total: bool = True,
    ) -> tuple[list[Stored], int | None, bool]:
        """Versions newest first: (page, total count of matching versions, more after this page?).

        With ``total=False`` the count is given only when it comes free (this page reaches the
        end), else None: counting a system's or a type's whole history scans every version.
        """
        where: list[str] = []
        args: list[Any] = []
        if rtype is not None:
            where.append("rtype = %s")
            args.append(rtype)
        if rid is not None:
            where.append("id = %s")
            args.append(rid)
        if since is not None:
            where.append("last_updated >= %s")
            args.append(since)
        if at is not None:
            where.append("last_updated <= %s")
            args.append(at)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        counted: int | None = None
        if total:
            cur.execute("SELECT count(*) FROM resource" + clause, args)
            counted = cur.fetchone()[0]
        cur.execute(
            _SELECT + clause + " ORDER BY last_updated DESC, rtype, id, version DESC LIMIT %s OFFSET %s",
            [*args, count + 1, offset],
        )
        rows = cur.fetchall()
        more = len(rows) > count
        if counted is None and not more and (rows or offset == 0):
            counted = offset + len(rows)
        return [_row(r) for r in rows[:count]], counted, more

    def exists(self, cur: Cursor, rtype: str, rid: str) -> bool:
        cur.execute("SELECT 1 FROM resource WHERE rtype = %s AND id = %s AND current AND NOT deleted", (rtype, rid))
        return cur.fetchone() is not None
