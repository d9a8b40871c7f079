"""An ingested document does not change: PUT over its Bundle is refused (405), through REST,
conditional interactions and transactions; it stays as received, findable and idempotent.
(DELETE withdraws it: test_withdraw.)"""

from __future__ import annotations

import copy
import json

import pytest

from .examples import example, fresh, unique_ssin


@pytest.fixture()
def stored(post_document):
    bundle = fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=unique_ssin())
    posted = post_document(copy.deepcopy(bundle))
    assert posted.status == 201
    return bundle, posted


def _assert_refused(response, rid: str) -> None:
    assert response.status_code == 405, response.text
    [issue] = response.json()["issue"]
    assert (issue["severity"], issue["code"]) == ("error", "not-supported")
    assert f"Bundle/{rid} is a stored document" in issue["diagnostics"]
    assert f"to withdraw a document sent in error, DELETE Bundle/{rid}" in issue["diagnostics"]


def _unchanged(fhir, post_document, bundle: dict, posted) -> None:
    rid = posted.body["id"]
    now = fhir.get(f"Bundle/{rid}")
    assert now.status_code == 200 and now.json()["meta"]["versionId"] == "1"
    assert {k: v for k, v in now.json().items() if k not in {"id", "meta"}} == \
        {k: v for k, v in bundle.items() if k not in {"id", "meta"}}
    assert fhir.get(f"DocumentReference/{posted.docref['id']}").json()["status"] == "current"
    again = post_document(copy.deepcopy(bundle))  # the sender's repost is still the same document
    assert (again.status, again.body["id"]) == (200, rid)


def test_put_over_a_stored_document_is_405(fhir, post_document, stored):
    bundle, posted = stored
    rid = posted.body["id"]
    changed = {**copy.deepcopy(bundle), "id": rid, "timestamp": "2020-01-01T00:00:00Z"}
    _assert_refused(fhir.put(f"Bundle/{rid}", data=json.dumps(changed)), rid)
    identifier = f"{bundle['identifier']['system']}|{bundle['identifier']['value']}"
    _assert_refused(fhir.put("Bundle", params={"identifier": identifier}, data=json.dumps(changed)), rid)
    _unchanged(fhir, post_document, bundle, posted)


def test_a_transaction_changing_a_stored_document_fails_whole(fhir, post_document, stored):
    bundle, posted = stored
    rid = posted.body["id"]
    entry = {"request": {"method": "PUT", "url": f"Bundle/{rid}"},
             "resource": {**copy.deepcopy(bundle), "id": rid, "timestamp": "2020-01-01T00:00:00Z"}}
    other = {"fullUrl": "urn:uuid:5f1f8a44-6a8f-4c1e-9a53-0f2b7e0c2a11",
             "resource": {"resourceType": "Basic", "code": {"text": "audit4 marker"}},
             "request": {"method": "POST", "url": "Basic"}}
    response = fhir.post("", data=json.dumps({"resourceType": "Bundle", "type": "transaction",
                                              "entry": [other, entry]}))
    assert response.status_code == 405, response.text
    assert f"Bundle/{rid} is a stored document" in response.json()["issue"][0]["diagnostics"]
    _unchanged(fhir, post_document, bundle, posted)


def test_other_bundles_still_change(fhir):
    collection = {"resourceType": "Bundle", "id": "audit4-collection", "type": "collection",
                  "entry": [{"fullUrl": "urn:uuid:0b6e2f0e-2c11-4a55-9a3e-3c1e7f2d9b10",
                             "resource": {"resourceType": "Basic", "code": {"text": "x"}}}]}
    assert fhir.put("Bundle/audit4-collection", data=json.dumps(collection)).status_code in (200, 201)
    collection["timestamp"] = "2024-01-01T00:00:00Z"
    assert fhir.put("Bundle/audit4-collection", data=json.dumps(collection)).status_code == 200
    assert fhir.delete("Bundle/audit4-collection").status_code == 200
    assert fhir.get("Bundle/audit4-collection").status_code == 410
