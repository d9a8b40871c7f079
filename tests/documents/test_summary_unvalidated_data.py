"""``$summary`` over data stored without validation (FHIRSRV_VALIDATE_ON_WRITE=false, or written
before a stricter release): values of the wrong JSON type are read as absent, the summary is
still generated — a 500 for data the server accepted would make the patient's summary
unobtainable."""

from __future__ import annotations

import json

import pytest
import requests

from ..serving import serve_with
from .document_checks import check_document

HEADERS = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}


@pytest.fixture(scope="module")
def unvalidated_base(conninfo: str):
    yield from serve_with(conninfo, validate_on_write=False)


def _create(base: str, resource: dict) -> str:
    response = requests.post(f"{base}/{resource['resourceType']}", data=json.dumps(resource), headers=HEADERS, timeout=30)
    assert response.status_code == 201, response.text[:300]
    return f"{resource['resourceType']}/{response.json()['id']}"


def test_summary_of_malformed_stored_data_is_generated(unvalidated_base: str) -> None:
    base = unvalidated_base
    patient = _create(base, {"resourceType": "Patient", "name": [{"family": "Malformed"}]})
    subject = {"reference": patient}
    condition = _create(base, {"resourceType": "Condition", "subject": subject,
                               "code": {"coding": 5, "text": "Asthma"}, "clinicalStatus": {"coding": 3}})
    allergy = _create(base, {"resourceType": "AllergyIntolerance", "patient": subject,
                             "code": {"coding": [{"system": "http://snomed.info/sct", "code": {"x": 1}}]},
                             "reaction": [{"manifestation": 7}]})
    medication = _create(base, {"resourceType": "MedicationStatement", "status": "active", "subject": subject,
                                "medicationReference": {"reference": {"a": 1}, "display": ["x"]},
                                "dosage": {"text": "twice"}})
    response = requests.get(f"{base}/{patient}/$summary", headers=HEADERS, timeout=30)
    assert response.status_code == 200, response.text[:500]
    bundle = response.json()
    check_document(bundle)
    included = {e["resource"]["resourceType"] + "/" + e["resource"]["id"] for e in bundle["entry"]}
    assert {condition, allergy, medication} <= included
