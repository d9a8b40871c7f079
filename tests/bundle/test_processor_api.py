"""The processor without HTTP: what document ingest (issue 4) builds on.

``process_bundle(cursor, bundle, context)`` runs in the caller's database transaction and
returns the response Bundle plus per-entry results (the stored versions, hence the new ids).
"""

from __future__ import annotations

import json
import uuid

import pytest

from fhirsrv.errors import FhirError
from fhirsrv.store.transaction import BundleContext, process_bundle


def _context(app) -> BundleContext:
    svc = app.extensions["fhirsrv"]
    return BundleContext(store=svc.store, model=svc.model, base="http://fhirsrv.test/fhir")


def _document(patient_url: str) -> dict:
    """A document whose entries use the same urn:uuid the outer transaction uses."""
    return {
        "resourceType": "Bundle", "type": "document",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"},
        "timestamp": "2024-05-01T10:00:00+02:00",
        "entry": [
            {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": {
                "resourceType": "Composition", "status": "final", "type": {"text": "summary"},
                "subject": {"reference": patient_url}, "date": "2024-05-01", "author": [{"display": "x"}],
                "title": "summary"}},
            {"fullUrl": patient_url, "resource": {"resourceType": "Patient", "gender": "female"}},
        ],
    }


def test_a_document_is_stored_atomically_with_its_entries_and_kept_as_received(app):
    patient_url = f"urn:uuid:{uuid.uuid4()}"
    document = _document(patient_url)
    doc_url = f"urn:uuid:{uuid.uuid4()}"
    transaction = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": doc_url, "resource": document, "request": {"method": "POST", "url": "Bundle"}},
        {"fullUrl": patient_url, "resource": document["entry"][1]["resource"],
         "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "DocumentReference", "status": "current",
                      "subject": {"reference": patient_url},
                      "content": [{"attachment": {"contentType": "application/fhir+json", "url": doc_url}}]},
         "request": {"method": "POST", "url": "DocumentReference"}},
    ]}
    sent = json.dumps(transaction)
    svc = app.extensions["fhirsrv"]
    with svc.transaction() as cur:
        result = process_bundle(cur, transaction, _context(app))
    assert json.dumps(transaction) == sent  # the caller's Bundle is not modified
    stored_doc, stored_patient, stored_ref = (r.stored for r in result.results)
    assert [r.status for r in result.results] == [201, 201, 201]
    kept = json.loads(stored_doc.body)
    kept.pop("id"), kept.pop("meta")
    assert kept == document  # a nested Bundle is stored as received: its references are its own
    ref = json.loads(stored_ref.body)
    assert ref["subject"]["reference"] == f"Patient/{stored_patient.id}"
    assert ref["content"][0]["attachment"]["url"] == f"Bundle/{stored_doc.id}"
    assert result.bundle["type"] == "transaction-response"


def test_a_failing_entry_raises_and_the_caller_rolls_back(app):
    svc = app.extensions["fhirsrv"]
    marker = f"rb-{uuid.uuid4().hex[:8]}"
    transaction = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Patient", "id": marker}, "request": {"method": "PUT", "url": f"Patient/{marker}"}},
        {"request": {"method": "GET", "url": "Patient/not-there"}},
    ]}
    with pytest.raises(FhirError) as failure, svc.transaction() as cur:
        process_bundle(cur, transaction, _context(app))
    assert failure.value.status == 404
    with svc.transaction() as cur:
        assert svc.store.find_current(cur, "Patient", marker) is None
