"""Conditional create, update and delete (resolved through the search engine)."""

from __future__ import annotations

import json
import uuid


def _patient(mrn: str, gender: str = "female", rid: str | None = None) -> str:
    body = {"resourceType": "Patient", "identifier": [{"system": "https://example.org/mrn", "value": mrn}],
            "gender": gender}
    if rid:
        body = {"resourceType": "Patient", "id": rid, **{k: v for k, v in body.items() if k != "resourceType"}}
    return json.dumps(body)


def test_conditional_create_returns_the_existing_match(fhir):
    mrn = uuid.uuid4().hex
    condition = {"If-None-Exist": f"identifier=https://example.org/mrn|{mrn}"}
    first = fhir.post("Patient", data=_patient(mrn), headers=condition)
    assert first.status_code == 201
    second = fhir.post("Patient", data=_patient(mrn), headers=condition)
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]


def test_conditional_create_with_several_matches_is_412(fhir):
    mrn = uuid.uuid4().hex
    fhir.post("Patient", data=_patient(mrn))
    fhir.post("Patient", data=_patient(mrn))
    third = fhir.post("Patient", data=_patient(mrn), headers={"If-None-Exist": f"identifier={mrn}"})
    assert third.status_code == 412
    assert third.json()["issue"][0]["code"] == "multiple-matches"


def test_conditional_update_creates_then_updates(fhir):
    mrn = uuid.uuid4().hex
    url = f"Patient?identifier=https://example.org/mrn|{mrn}"
    created = fhir.put(url, data=_patient(mrn))
    assert created.status_code == 201
    rid = created.json()["id"]
    updated = fhir.put(url, data=_patient(mrn, gender="male"))
    assert updated.status_code == 200
    assert updated.json()["id"] == rid
    assert fhir.get(f"Patient/{rid}").json()["gender"] == "male"
    assert fhir.get(f"Patient/{rid}").headers["ETag"] == 'W/"2"'


def test_conditional_delete(fhir):
    mrn = uuid.uuid4().hex
    rid = fhir.post("Patient", data=_patient(mrn)).json()["id"]
    deleted = fhir.delete(f"Patient?identifier={mrn}")
    assert deleted.status_code == 200
    assert fhir.get(f"Patient/{rid}").status_code == 410
    nothing = fhir.delete(f"Patient?identifier={mrn}")
    assert nothing.status_code == 200
