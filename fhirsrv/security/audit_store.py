"""Storing the server's own AuditEvents cheaply: index rows without FHIRPath, rows in bulk.

Every FHIR request writes an AuditEvent, so its storage is on the hot path. The general
write path (``ResourceStore.create``) evaluates all 22 AuditEvent search parameters through
FHIRPath (about 0.5-1 ms of CPU per event) and spends three statements per event. Our events
have one known shape (:func:`fhirsrv.security.audit.build_event`), so here:

* :func:`index_event` selects the elements each R4 AuditEvent SearchParameter names by
  plain dictionary walks and hands them to the indexer's own value converters, so the rows
  are those the general indexer would write (``tests/security/test_audit_store.py``
  compares both on every kind of event we build);
* :func:`store_events` writes a whole batch in one statement: surrogate keys, the
  resource rows and the index rows of every table.

Only events built by the server come here: AuditEvents cannot be written through the API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson

from .. import fhirjson
from ..store.indexer import TABLE_COLUMNS, ResourceIndex, _add_rows
from ..store.repository import new_id, now, with_server_fields

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


@lru_cache(maxsize=4096)
def _rows_of(code: str, param_type: str, value_json: bytes) -> tuple[tuple[str, tuple[tuple, ...]], ...]:
    """The index rows one element gives (per index attribute). Most elements of an event repeat
    from request to request (the client, the user, the event type), and the string and token
    normalisation they need is the bulk of indexing: so it is remembered by the element's JSON."""
    index = ResourceIndex(rtype=AUDIT_TYPE)
    _add_rows(index, code, param_type, [(orjson.loads(value_json), None)], 0)
    return tuple((attribute, tuple(getattr(index, attribute))) for attribute in TABLE_COLUMNS
                 if getattr(index, attribute))


def index_event(event: Event) -> ResourceIndex:
    """The search index rows of one of our AuditEvents (the general indexer's rows)."""
    index = ResourceIndex(rtype=AUDIT_TYPE)
    for code, param_type, select in PARAMETERS:
        values = select(event)
        if param_type == "date":  # unique per event: not worth remembering
            _add_rows(index, code, param_type, [(value, None) for value in values], 0)
            continue
        for value in values:
            for attribute, rows in _rows_of(code, param_type, orjson.dumps(value)):
                getattr(index, attribute).extend(rows)
    index.dedupe()
    patients: list[str] = []
    for param, target_type, target_id, _url, _grp in index.references:
        if param == "patient" and target_type == "Patient" and target_id and target_id not in patients:
            patients.append(target_id)
    index.patient_ids = patients
    return index


def _insert_sql() -> str:
    """One statement storing a batch: surrogate keys, resource rows and every index table.

    Rows travel as one JSON document per table (``json_array_elements``): orjson writes it
    in microseconds, where psycopg's per-element array adaptation cost more than the rest of
    the audit together.
    """
    parts = [
        "ev AS MATERIALIZED (SELECT (x->>0)::int AS n, x->>1 AS id, x->>2 AS patient_id, (x->>3)::json AS body,"
        " nextval('resource_rid_seq') AS rid FROM json_array_elements(%(events)s::json) AS x)",
        "r AS (INSERT INTO resource (rtype, id, version, rid, current, deleted, last_updated, method, patient_id, body)"
        f" SELECT '{AUDIT_TYPE}', id, 1, rid, true, false, %(moment)s, 'POST', patient_id, body FROM ev)",
    ]
    for attribute, (table, columns, types) in TABLE_COLUMNS.items():
        values = ", ".join(f"(x->>{i + 2})::{t}" for i, t in enumerate(types))
        parts.append(
            f"i_{table} AS (INSERT INTO {table} (rid, rtype, param, {', '.join(columns)})"
            f" SELECT ev.rid, '{AUDIT_TYPE}', x->>1, {values} FROM json_array_elements(%({attribute})s::json) AS x"
            " JOIN ev ON ev.n = (x->>0)::int)"
        )
    return "WITH " + ", ".join(parts) + " SELECT 1"


_INSERT = _insert_sql()


def store_events(cur: Any, events: Iterable[Event], moment: datetime | None = None) -> list[str]:
    """Store new AuditEvents (version 1) in the caller's transaction, in one statement;
    returns their ids."""
    moment = moment or now()
    rows: list[list[Any]] = []
    index_rows: dict[str, list[list[Any]]] = {attribute: [] for attribute in TABLE_COLUMNS}
    for n, event in enumerate(events):
        rid = new_id()
        stored = with_server_fields(event, rid, 1, moment)
        index = index_event(stored)
        rows.append([n, rid, index.patient_ids[0] if index.patient_ids else None, fhirjson.dumps_str(stored)])
        for attribute, found in index_rows.items():
            found.extend([n, *row] for row in getattr(index, attribute))
    if not rows:
        return []
    params = {attribute: _json(found) for attribute, found in index_rows.items()}
    cur.execute(_INSERT, {"events": _json(rows), "moment": moment, **params})
    return [row[1] for row in rows]


def _json(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()
