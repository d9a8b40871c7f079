"""batch Bundles (one outcome per entry) and Bundles refused as a whole (400)."""

from __future__ import annotations

import json
import uuid

import pytest


def _bundle(btype: str, *entries: dict) -> str:
    return json.dumps({"resourceType": "Bundle", "type": btype, "entry": list(entries)})


def _patient(**extra) -> dict:
    return {"resourceType": "Patient", "identifier": [{"system": "https://example.org/mrn", "value": str(uuid.uuid4())}],
            **extra}


def test_batch_partial_failure_keeps_the_others(fhir):
    good_id = f"b-{uuid.uuid4().hex[:8]}"
    answer = fhir.post("", data=_bundle(
        "batch",
        {"resource": _patient(), "request": {"method": "POST", "url": "Patient"}},
        {"request": {"method": "GET", "url": "Patient/no-such-patient"}},
        {"resource": _patient(id="bad id!"), "request": {"method": "POST", "url": "Patient"}},
        {"request": {"method": "PATCH", "url": "Patient/x"}},
        {"resource": _patient(id=good_id), "request": {"method": "PUT", "url": f"Patient/{good_id}"}},
    ))
    assert answer.status_code == 200, answer.text
    bundle = answer.json()
    assert bundle["type"] == "batch-response"
    statuses = [e["response"]["status"] for e in bundle["entry"]]
    assert statuses == ["201 Created", "404 Not Found", "422 Unprocessable Entity", "400 Bad Request", "201 Created"]
    not_found = bundle["entry"][1]["response"]["outcome"]["issue"][0]
    assert not_found["code"] == "not-found" and not_found["expression"] == ["Bundle.entry[1]"]
    invalid = bundle["entry"][2]["response"]["outcome"]["issue"][0]
    assert invalid["expression"] == ["Bundle.entry[2].resource.id"]
    assert bundle["entry"][3]["response"]["outcome"]["issue"][0]["expression"] == ["Bundle.entry[3].request.method"]
    created = bundle["entry"][0]["response"]["location"].split("/_history/")[0]
    assert fhir.get(created).status_code == 200
    assert fhir.get(f"Patient/{good_id}").status_code == 200


def test_batch_failed_entry_rolls_back_only_itself(fhir):
    """A batch entry that fails after writing (stale ifMatch) leaves nothing; its neighbours stay."""
    rid = f"b-{uuid.uuid4().hex[:8]}"
    fhir.put(f"Patient/{rid}", data=json.dumps(_patient(id=rid)))
    answer = fhir.post("", data=_bundle(
        "batch",
        {"resource": _patient(id=rid, gender="male"), "request": {"method": "PUT", "url": f"Patient/{rid}"}},
        {"resource": _patient(id=rid, gender="female"),
         "request": {"method": "PUT", "url": f"Patient/{rid}", "ifMatch": 'W/"1"'}},
    ))
    assert [e["response"]["status"] for e in answer.json()["entry"]] == ["200 OK", "412 Precondition Failed"]
    assert fhir.get(f"Patient/{rid}").json()["gender"] == "male"
    assert fhir.get(f"Patient/{rid}/_history").json()["total"] == 2


def test_batch_conditional_create(fhir):
    patient = _patient()
    ident = patient["identifier"][0]
    entry = {"resource": patient, "request": {"method": "POST", "url": "Patient",
                                              "ifNoneExist": f"identifier={ident['system']}|{ident['value']}"}}
    first = fhir.post("", data=_bundle("batch", entry)).json()["entry"][0]["response"]
    second = fhir.post("", data=_bundle("batch", entry)).json()["entry"][0]["response"]
    assert (first["status"], second["status"]) == ("201 Created", "200 OK")
    assert first["location"] == second["location"]


@pytest.mark.parametrize(
    ("body", "words", "expression"),
    [
        ('{"resourceType":"Patient"}', "Bundle of type batch or transaction", "Bundle"),
        ('{"resourceType":"Bundle","type":"document","entry":[]}', "POST it to [base]/Bundle", "Bundle.type"),
        ('{"resourceType":"Bundle","type":"transaction","entry":{}}', "must be an array", "Bundle.entry"),
        ('{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:1","resource":'
         '{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},{"fullUrl":"urn:uuid:1",'
         '"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]}',
         "same fullUrl", "Bundle.entry[1].fullUrl"),
        ('{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"}}]}',
         "has no request", "Bundle.entry[0]"),
        ('{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"FETCH","url":"Patient/1"}}]}',
         "not valid", "Bundle.entry[0].request.method"),
        ('{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"POST","url":"Patient"}}]}',
         "needs a resource", "Bundle.entry[0]"),
        ('{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","id":"a"},'
         '"request":{"method":"PUT","url":"Patient/b"}}]}', "does not match", "Bundle.entry[0].resource.id"),
        ('{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"GET",'
         '"url":"http://other.example/fhir/Patient/1"}}]}', "not on this server", "Bundle.entry[0].request.url"),
        ('{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"POST","url":"Patient"},'
         '"resource":{"resourceType":"Observation"}}]}', "is a Observation", "Bundle.entry[0].resource.resourceType"),
    ],
)
def test_malformed_bundles_are_refused_with_a_located_reason(fhir, body, words, expression):
    answer = fhir.post("", data=body)
    assert answer.status_code in {400, 422}, answer.text
    issue = answer.json()["issue"][0]
    assert words in issue["diagnostics"]
    assert issue["expression"] == [expression]


def test_unknown_type_in_url_is_404(fhir):
    answer = fhir.post("", data=_bundle("transaction", {"request": {"method": "GET", "url": "Patients/1"}}))
    assert answer.status_code == 404
    assert answer.json()["issue"][0]["expression"] == ["Bundle.entry[0].request.url"]


def test_empty_transaction_answers_an_empty_response(fhir):
    answer = fhir.post("", data=_bundle("transaction"))
    assert answer.status_code == 200
    assert answer.json()["type"] == "transaction-response" and answer.json()["entry"] == []


def test_not_json_is_400(fhir):
    answer = fhir.post("", data="{not json")
    assert answer.status_code == 400
