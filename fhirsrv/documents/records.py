"""The document registry tables (migration 010): which documents we hold, from which source,
which one is current, and which resources each contributed.

All functions run in the caller's transaction, beside the resource writes they describe.
Lookups answer a :class:`~.pending.Pending`: sent at once, read when needed, so that inside a
pipeline they share a round trip with the statements around them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg import Cursor

from ..store.advisory_locks import lock_key
from .pending import Pending


@dataclass(frozen=True)
class DocumentRecord:
    bundle_id: str
    patient_id: str
    source_key: str
    composition_id: str
    docref_id: str
    document_date: datetime
    superseded_by: str | None
    withdrawn_at: datetime | None = None  # set by a withdrawal (DELETE of the Bundle): never current again
    identifier: tuple[str, str] | None = None  # Bundle.identifier, read only where a withdrawal needs it


_COLUMNS = "bundle_id, patient_id, source_key, composition_id, docref_id, document_date, superseded_by, withdrawn_at"

def lock_identifier(cur: Cursor, system: str, value: str) -> None:
    """Serialise the writers of one ``Bundle.identifier`` (ingest, withdrawal) until the
    transaction ends. The key is part of the lock protocol (:mod:`..store.advisory_locks`)."""
    lock_key(cur, f"document|{system}|{value}")


def lock_source(cur: Cursor, patient_id: str, source_key: str) -> None:
    """Serialise the writers of one patient's documents from one source (supersession,
    withdrawal) until the transaction ends."""
    lock_key(cur, f"document-source|{patient_id}|{source_key}")


def is_document(cur: Cursor, bundle_id: str) -> bool:
    """Whether ``Bundle/bundle_id`` is a document that ingest stored (one indexed lookup)."""
    cur.execute("SELECT EXISTS (SELECT 1 FROM document WHERE bundle_id = %s)", (bundle_id,))
    row = cur.fetchone()
    return bool(row is not None and row[0])


# A document is current for its source while it is neither superseded nor withdrawn.
_CURRENT = "{d}superseded_by IS NULL AND {d}withdrawn_at IS NULL"


def _first_record(rows: list[tuple]) -> DocumentRecord | None:
    return DocumentRecord(*rows[0]) if rows else None


def by_identifier(cur: Cursor, system: str, value: str) -> Pending[DocumentRecord | None]:
    return Pending(
        cur, f"SELECT {_COLUMNS} FROM document WHERE identifier_system = %s AND identifier_value = %s",
        (system, value), _first_record,
    )


def by_bundle_id(cur: Cursor, bundle_id: str) -> Pending[DocumentRecord | None]:
    """The record of the stored document ``Bundle/bundle_id`` (None: a plain Bundle)."""
    return Pending(
        cur, f"SELECT {_COLUMNS}, identifier_system, identifier_value FROM document WHERE bundle_id = %s",
        (bundle_id,),
        lambda rows: DocumentRecord(*rows[0][:8], identifier=(rows[0][8], rows[0][9])) if rows else None,
    )


def current_from_source(cur: Cursor, patient_id: str, source_key: str) -> Pending[DocumentRecord | None]:
    """The newest current (neither superseded nor withdrawn) document of this patient from this source."""
    return Pending(
        cur,
        f"SELECT {_COLUMNS} FROM document WHERE patient_id = %s AND source_key = %s AND {_CURRENT.format(d='')}"
        " ORDER BY document_date DESC, received_at DESC LIMIT 1",
        (patient_id, source_key), _first_record,
    )


def insert(
    cur: Cursor,
    record: DocumentRecord,
    identifier: tuple[str, str],
    received_at: datetime,
    members: list[tuple[str, str]],
) -> None:
    cur.execute(
        "INSERT INTO document (bundle_id, identifier_system, identifier_value, patient_id, source_key,"
        " composition_id, docref_id, document_date, received_at, superseded_by)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (record.bundle_id, identifier[0], identifier[1], record.patient_id, record.source_key,
         record.composition_id, record.docref_id, record.document_date, received_at, record.superseded_by),
    )
    cur.execute(
        "INSERT INTO document_member (bundle_id, rtype, id) SELECT %s, t.rtype, t.id"
        " FROM unnest(%s::text[], %s::text[]) AS t(rtype, id) ON CONFLICT DO NOTHING",
        (record.bundle_id, [m[0] for m in members], [m[1] for m in members]),
    )


def mark_superseded(cur: Cursor, bundle_id: str, by: str) -> None:
    cur.execute("UPDATE document SET superseded_by = %s WHERE bundle_id = %s", (by, bundle_id))


def orphaned_members(cur: Cursor, bundle_id: str) -> Pending[list[tuple[str, str]]]:
    """Resources of ``bundle_id`` that no other current (neither superseded nor withdrawn)
    document holds: what stops being current when ``bundle_id`` is superseded or withdrawn."""
    return Pending(
        cur,
        "SELECT m.rtype, m.id FROM document_member m WHERE m.bundle_id = %s AND NOT EXISTS ("
        " SELECT 1 FROM document_member o JOIN document d ON d.bundle_id = o.bundle_id"
        f" WHERE o.rtype = m.rtype AND o.id = m.id AND {_CURRENT.format(d='d.')} AND d.bundle_id <> m.bundle_id)"
        " ORDER BY m.rtype, m.id",
        (bundle_id,), lambda rows: [(r[0], r[1]) for r in rows],
    )


def mark_withdrawn(cur: Cursor, bundle_id: str, moment: datetime) -> None:
    cur.execute("UPDATE document SET withdrawn_at = %s WHERE bundle_id = %s", (moment, bundle_id))


def mark_current(cur: Cursor, bundle_id: str) -> None:
    """``bundle_id`` is current again: the document that superseded it was withdrawn."""
    cur.execute("UPDATE document SET superseded_by = NULL WHERE bundle_id = %s", (bundle_id,))


def latest_superseded_by(cur: Cursor, bundle_id: str) -> Pending[DocumentRecord | None]:
    """The newest not withdrawn document that ``bundle_id`` superseded: the one current again
    for its source when ``bundle_id`` is withdrawn."""
    return Pending(
        cur,
        f"SELECT {_COLUMNS} FROM document WHERE superseded_by = %s AND withdrawn_at IS NULL"
        " ORDER BY document_date DESC, received_at DESC LIMIT 1",
        (bundle_id,), _first_record,
    )


def members(cur: Cursor, bundle_id: str) -> Pending[list[tuple[str, str]]]:
    return Pending(cur, "SELECT rtype, id FROM document_member WHERE bundle_id = %s ORDER BY rtype, id",
                   (bundle_id,), lambda rows: [(r[0], r[1]) for r in rows])


# A resource is current for $summary unless every document that contributed it is superseded
# or withdrawn. The Patient always is: documents match it, they do not own it (its only
# document withdrawn, the patient is still there).
CURRENT_FOR_SOURCE = (
    "(r.rtype = 'Patient' OR NOT EXISTS (SELECT 1 FROM document_member m WHERE m.rtype = r.rtype AND m.id = r.id)"
    " OR EXISTS (SELECT 1 FROM document_member m JOIN document d ON d.bundle_id = m.bundle_id"
    f" WHERE m.rtype = r.rtype AND m.id = r.id AND {_CURRENT.format(d='d.')}))"
)
