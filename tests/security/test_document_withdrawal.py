"""Withdrawing a stored document (DELETE Bundle/{id}) changes the patient's DocumentReference
and clinical resources: the caller must be allowed those writes too, and the audit names the
patient whose record changed."""

from __future__ import annotations

import json

from ..documents.examples import example, fresh, unique_ssin
from .conftest import consent


def _stored_document(fhir, world) -> tuple[str, str, str]:
    """(Bundle id, DocumentReference id, Patient/id) of a document ingested on the open server,
    its patient consenting to data sharing."""
    bundle = fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=unique_ssin())
    posted = fhir.post("Bundle", data=json.dumps(bundle))
    assert posted.status_code == 201, posted.text
    docref = fhir.get(posted.headers["X-Document-Reference"]).json()
    patient = docref["subject"]["reference"]
    world.create(consent(patient.split("/")[1]))
    return posted.json()["id"], docref["id"], patient


def test_withdrawal_needs_the_right_to_change_what_it_changes(fhir, world, api, tokens):
    rid, docref, _patient = _stored_document(fhir, world)
    refused = api.call("DELETE", f"Bundle/{rid}", tokens.system("system/Bundle.d"))
    assert refused.status_code == 403, refused.text
    [issue] = refused.json()["issue"]
    assert issue["code"] == "forbidden" and "DocumentReference" in issue["diagnostics"], issue
    assert fhir.get(f"Bundle/{rid}").json()["meta"]["versionId"] == "1"  # rolled back whole
    assert fhir.get(f"DocumentReference/{docref}").json()["meta"]["versionId"] == "1"


def test_withdrawal_is_audited_for_the_patient(fhir, world, api, tokens, audit_events):
    rid, docref, patient = _stored_document(fhir, world)
    withdrawn = api.call("DELETE", f"Bundle/{rid}", tokens.system())
    assert withdrawn.status_code == 200, withdrawn.text
    assert fhir.get(f"DocumentReference/{docref}").json()["status"] == "entered-in-error"
    [event] = audit_events(withdrawn)
    assert event["action"] == "D" and event["outcome"] == "0"
    named = [e["what"]["reference"] for e in event["entity"] if e.get("role", {}).get("code") == "1"]
    assert named == [patient]
