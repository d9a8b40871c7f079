"""Storing the server's own AuditEvents cheaply: index rows without FHIRPath, rows in bulk.

Every FHIR request writes an AuditEvent, so its storage is on the hot path. The general
write path (``ResourceStore.create``) evaluates all 22 AuditEvent search parameters through
FHIRPath (about 1 ms of CPU per event) and spends three statements per event. Our events
have one known shape (:func:`fhirsrv.security.audit.build_event`), so here:

* :func:`index_event` selects the elements each R4 AuditEvent SearchParameter names by
  plain dictionary walks and hands them to the indexer's own value converters, so the rows
  are those the general indexer would write (``tests/security/test_audit_store.py``
  compares both on every kind of event we build);
* :func:`store_events` writes a whole batch in three statements: surrogate keys, the
  resource rows (``unnest``), the index rows (one statement for all tables).

Only events built by the server come here: AuditEvents cannot be written through the API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from .. import fhirjson
from ..store.indexer import Indexer, ResourceIndex, _add_rows
from ..store.repository import ResourceStore, new_id, now, with_server_fields

AUDIT_TYPE = "AuditEvent"
Event = dict[str, Any]


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _each(event: Event, *path: str) -> list[Any]:
    """The values at ``path`` (FHIRPath-style: lists are flattened at every step)."""
    values: list[Any] = [event]
    for key in path:
        values = [item for v in values if isinstance(v, dict) for item in _items(v.get(key))]
    return values


def patient_references(event: Event) -> list[Any]:
    """``agent.who.where(resolve() is Patient) | entity.what.where(resolve() is Patient)``."""
    found: list[Any] = []
    for ref in _each(event, "agent", "who") + _each(event, "entity", "what"):
        text = ref.get("reference") if isinstance(ref, dict) else None
        if isinstance(text, str) and text.startswith("Patient/") and ref not in found:
            found.append(ref)
    return found


# (code, type, selector): the R4 AuditEvent search parameters and Resource's common ones, with
# their FHIRPath expressions as walks over the dictionary.
PARAMETERS: tuple[tuple[str, str, Callable[[Event], list[Any]]], ...] = (
    ("_profile", "uri", lambda e: _each(e, "meta", "profile")),
    ("_security", "token", lambda e: _each(e, "meta", "security")),
    ("_source", "uri", lambda e: _each(e, "meta", "source")),
    ("_tag", "token", lambda e: _each(e, "meta", "tag")),
    ("action", "token", lambda e: _each(e, "action")),
    ("address", "string", lambda e: _each(e, "agent", "network", "address")),
    ("agent", "reference", lambda e: _each(e, "agent", "who")),
    ("agent-name", "string", lambda e: _each(e, "agent", "name")),
    ("agent-role", "token", lambda e: _each(e, "agent", "role")),
    ("altid", "token", lambda e: _each(e, "agent", "altId")),
    ("date", "date", lambda e: _each(e, "recorded")),
    ("entity", "reference", lambda e: _each(e, "entity", "what")),
    ("entity-name", "string", lambda e: _each(e, "entity", "name")),
    ("entity-role", "token", lambda e: _each(e, "entity", "role")),
    ("entity-type", "token", lambda e: _each(e, "entity", "type")),
    ("outcome", "token", lambda e: _each(e, "outcome")),
    ("patient", "reference", patient_references),
    ("policy", "uri", lambda e: _each(e, "agent", "policy")),
    ("site", "token", lambda e: _each(e, "source", "site")),
    ("source", "reference", lambda e: _each(e, "source", "observer")),
    ("subtype", "token", lambda e: _each(e, "subtype")),
    ("type", "token", lambda e: _each(e, "type")),
)


def index_event(event: Event) -> ResourceIndex:
    """The search index rows of one of our AuditEvents (the general indexer's rows)."""
    index = ResourceIndex(rtype=AUDIT_TYPE)
    for code, param_type, select in PARAMETERS:
        _add_rows(index, code, param_type, [(value, None) for value in select(event)], 0)
    index.dedupe()
    patients: list[str] = []
    for param, target_type, target_id, _url, _grp in index.references:
        if param == "patient" and target_type == "Patient" and target_id and target_id not in patients:
            patients.append(target_id)
    index.patient_ids = patients
    return index


def store_events(cur: Any, indexer: Indexer, events: Iterable[Event], moment: datetime | None = None) -> list[str]:
    """Store new AuditEvents (version 1) in the caller's transaction; returns their ids."""
    prepared: list[tuple[str, str, ResourceIndex]] = []
    moment = moment or now()
    for event in events:
        rid = new_id()
        stored = with_server_fields(event, rid, 1, moment)
        prepared.append((rid, fhirjson.dumps_str(stored), index_event(stored)))
    if not prepared:
        return []
    surrogates = ResourceStore.allocate_surrogates(cur, len(prepared))
    cur.execute(
        "INSERT INTO resource (rtype, id, version, rid, current, deleted, last_updated, method, patient_id, body)"
        " SELECT %s, id, 1, rid, true, false, %s, 'POST', patient_id, body::json"
        " FROM unnest(%b::text[], %b::bigint[], %b::text[], %b::text[]) AS t(id, rid, patient_id, body)",
        (AUDIT_TYPE, moment, [p[0] for p in prepared], surrogates,
         [p[2].patient_ids[0] if p[2].patient_ids else None for p in prepared], [p[1] for p in prepared]),
    )
    indexer.write_many(cur, [(surrogate, p[2]) for surrogate, p in zip(surrogates, prepared, strict=True)],
                       replace=False)
    return [p[0] for p in prepared]
