"""The AuditEvent fast path indexes exactly as the general indexer would, for every kind of
event the server builds, and stores them searchable."""

from __future__ import annotations

import pytest

from fhirsrv.security import audit
from fhirsrv.security.audit_store import index_event, store_events
from fhirsrv.security.context import AccessContext, Professional
from fhirsrv.security.scopes import ScopeSet
from fhirsrv.store.indexer import TABLE_COLUMNS
from fhirsrv.store.repository import now, with_server_fields

GP = AccessContext(client_id="ehr", scopes=ScopeSet.parse("user/*.rs"), issuer="urn:fhirsrv:local",
                   user=Professional("10000000001", "gp", "Dr. Peeters"))
NO_NIHDI = AccessContext(client_id="ehr", scopes=ScopeSet.parse("user/*.rs"), user=Professional(None, "nurse"))
SYSTEM = AccessContext(client_id="ncp", scopes=ScopeSet.parse("system/*.rs"))
PATIENT = AccessContext(client_id="portal", scopes=ScopeSet.parse("patient/*.rs"), patient="p-me")

CASES = [
    # (ctx, interaction, rtype, rid, operation, query, patients, break-the-glass, status, request id)
    (GP, "read", "Observation", "o1", None, "", ["p1"], None, 200, "req-1"),
    (GP, "search-type", "Observation", None, None, "code=8867-4&_count=5", ["p1", "p2", "p3"], "ER", 200, None),
    (NO_NIHDI, "read", "Patient", "p1", None, "", ["p1"], None, 403, "r"),
    (SYSTEM, "create", "Observation", None, None, "", ["p1"], None, 201, None),
    (SYSTEM, "operation", "Patient", "p1", "summary", "", ["p1"], None, 200, "x-y"),
    (SYSTEM, "search-system", None, None, None, "_type=Patient", [], None, 200, None),
    (PATIENT, "read", "Patient", "p-other", None, "", ["p-other"], None, 403, None),
    (PATIENT, "search-type", "AuditEvent", None, None, "patient=p-me", ["p-me"], None, 200, None),
    (None, "read", "Patient", "p1", None, "", [], None, 401, None),
    (SYSTEM, "delete", "Observation", "o2", None, "", ["p1"], None, 500, None),
]


def _event(app, case):
    ctx, interaction, rtype, rid, op, query, patients, btg, status, request_id = case
    headers = {"X-Request-Id": request_id} if request_id else {}
    with app.test_request_context(f"/fhir/{rtype or ''}?{query}", headers=headers):
        rec = audit.AuditRecord(interaction, rtype, rid, op, query, list(patients), btg, ctx=ctx,
                                failure="refused" if status >= 400 else None)
        return with_server_fields(audit.build_event(rec, status, rec.patients), "e1", 1, now())


@pytest.mark.parametrize("case", CASES, ids=[f"{c[1]}-{c[8]}-{len(c[6])}p" for c in CASES])
def test_fast_index_equals_the_general_indexer(app, case):
    event = _event(app, case)
    general = app.extensions["fhirsrv"].indexer.extract("AuditEvent", event)
    fast = index_event(event)
    for attribute in TABLE_COLUMNS:
        assert sorted(map(repr, getattr(fast, attribute))) == sorted(map(repr, getattr(general, attribute))), attribute
    assert fast.patient_ids == general.patient_ids
    assert fast.tokens and fast.strings and fast.dates  # not trivially equal
    assert len(fast.references) >= len(case[6])  # each patient is referenced


def test_stored_events_are_searchable_under_every_patient(app, fhir):
    """A multi-patient event is found by ``AuditEvent?patient=`` for each of its patients."""
    services = app.extensions["fhirsrv"]
    event = _event(app, CASES[1])
    with services.transaction() as cur:
        [event_id] = store_events(cur, [event])
    for patient in ("p1", "p2", "p3"):
        found = fhir.get(f"AuditEvent?patient={patient}&_id={event_id}")
        assert found.status_code == 200
        assert [e["resource"]["id"] for e in found.json().get("entry", [])] == [event_id], patient
    stored = fhir.get(f"AuditEvent/{event_id}").json()
    assert stored["meta"]["versionId"] == "1"
    assert [e["what"]["reference"] for e in stored["entity"] if e["role"]["code"] == "1"] == \
        ["Patient/p1", "Patient/p2", "Patient/p3"]
