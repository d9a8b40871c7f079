"""Withdrawal of a document sent in error: ``DELETE [base]/Bundle/{id}`` of a stored document.

A document sent for the wrong patient, or with wrong content, must stop counting without
being erased (what was received, and when, stays in the history). :func:`withdraw_document`
is the ``ResourceStore`` delete hook for ``Bundle`` (:mod:`fhirsrv.services`), so REST,
conditional and transaction DELETEs all withdraw, in the delete's transaction, after the
caller's guards authorised the delete, and just before the Bundle's delete marker is written
(``GET Bundle/{id}`` → 410, its history still readable):

* its DocumentReference gets a new version with ``status = entered-in-error``;
* its registry row is marked withdrawn: never current again, its identifier stays taken;
* its resources that no other current document holds stop being current exactly as
  superseded ones do (:mod:`.currency`); the Patient is never touched;
* when it was the current document of its source and had superseded an older one, that
  one is current again: DocumentReference ``current``, record no longer superseded, its
  resources untagged.

The identifier's and the source's locks (the ones ingest takes) keep a concurrent ingest of
the same source from interleaving with a withdrawal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import Cursor

from . import currency, records


def withdraw_document(store: Any, cur: Cursor, bundle_id: str, moment: datetime) -> None:
    """Withdraw ``Bundle/bundle_id`` if it is a stored document (a plain Bundle: nothing to do)."""
    found = records.by_bundle_id(cur, bundle_id).result()
    if found is None or found.withdrawn_at is not None:
        return
    assert found.identifier is not None
    with cur.connection.pipeline():
        records.lock_identifier(cur, *found.identifier)
        records.lock_source(cur, found.patient_id, found.source_key)
        locked = records.by_bundle_id(cur, bundle_id)  # read again: an ingest may have superseded it
        predecessor = records.latest_superseded_by(cur, bundle_id)
    record = locked.result()
    assert record is not None
    restored = predecessor.result() if record.superseded_by is None else None
    with cur.connection.pipeline():
        records.mark_withdrawn(cur, bundle_id, moment)
        if restored is not None:
            records.mark_current(cur, restored.bundle_id)
        orphans = records.orphaned_members(cur, bundle_id)  # after both updates: the restored one holds its own
        returning = records.members(cur, restored.bundle_id) if restored is not None else None
    changes: list[tuple[tuple[str, str], currency.Change]] = [
        (("DocumentReference", record.docref_id), currency.with_status("entered-in-error")),
        *((key, currency.tag_superseded) for key in orphans.result() if key[0] != "Patient"),
    ]
    if restored is not None and returning is not None:
        changes.append((("DocumentReference", restored.docref_id), currency.with_status("current")))
        changes += [(key, currency.untag_superseded) for key in returning.result() if key[0] != "Patient"]
    store.revise_many(cur, currency.revisions(cur, store, changes), moment=moment)
