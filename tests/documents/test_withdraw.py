"""Withdrawal of a document sent in error: ``DELETE Bundle/{id}`` of a stored document deletes the
Bundle (410, history kept), marks its DocumentReference ``entered-in-error``, takes its resources
out of the patient's current record, and makes the document it had superseded current again;
through REST, conditional and transaction DELETEs, in one transaction."""

from __future__ import annotations

import copy
import json

import psycopg
import pytest

from .examples import example, fresh, summary_of, unique_ssin

PATIENT_SUMMARY = "http://loinc.org|60591-5"
ALLERGIES = "48765-2"
TAG = "superseded-in-source"


def _document() -> dict:
    return fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=unique_ssin())


def _entries_of(fhir, composition: str) -> list[str]:
    """``Type/id`` of every resource a stored Composition's sections list."""
    return [r["reference"] for s in fhir.get(composition).json()["section"] for r in s.get("entry", [])]


def _summary_entries(fhir, patient: str) -> set[str]:
    response = fhir.get(f"{patient}/$summary")
    assert response.status_code == 200, response.text
    return {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in response.json()["entry"]}


def _allergies_in_summary(fhir, patient: str) -> list[str]:
    composition = fhir.get(f"{patient}/$summary").json()["entry"][0]["resource"]
    section = next(s for s in composition["section"] if s["code"]["coding"][0]["code"] == ALLERGIES)
    return ["/".join(r["reference"].split("/")[-2:]) for r in section.get("entry", [])]  # Type/id of full URLs


def _tagged(fhir, reference: str) -> bool:
    return any(t.get("code") == TAG for t in fhir.get(reference).json()["meta"].get("tag", []))


def _current_docrefs(fhir, patient: str) -> list[str]:
    found = fhir.get("DocumentReference", params={"patient": patient, "type": PATIENT_SUMMARY,
                                                   "status": "current"}).json()
    return [e["resource"]["id"] for e in found.get("entry", [])]


def _identifier(bundle: dict) -> str:
    return f"{bundle['identifier']['system']}|{bundle['identifier']['value']}"


def _withdraw_by_id(fhir, bundle: dict, rid: str):
    return fhir.delete(f"Bundle/{rid}")


def _withdraw_by_identifier(fhir, bundle: dict, rid: str):
    return fhir.delete("Bundle", params={"identifier": _identifier(bundle)})


@pytest.mark.parametrize("withdraw", [_withdraw_by_id, _withdraw_by_identifier], ids=["delete", "conditional"])
def test_withdrawn_document_leaves_the_current_record(fhir, post_document, withdraw):
    bundle = _document()
    posted = post_document(copy.deepcopy(bundle))
    assert posted.status == 201, posted.body
    rid, patient = posted.body["id"], posted.patient
    members = _entries_of(fhir, posted.composition)
    assert members and set(members) <= _summary_entries(fhir, patient)  # in the summary before
    patient_version = fhir.get(patient).json()["meta"]["versionId"]

    response = withdraw(fhir, bundle, rid)
    assert response.status_code == 200, response.text
    assert response.json()["issue"][0]["severity"] == "information"

    gone = fhir.get(f"Bundle/{rid}")
    assert gone.status_code == 410
    history = fhir.get(f"Bundle/{rid}/_history").json()
    assert [e["request"]["method"] for e in history["entry"]] == ["DELETE", "POST"]
    first = fhir.get(f"Bundle/{rid}/_history/1")
    assert first.status_code == 200 and first.json()["identifier"] == bundle["identifier"]  # as received

    docref = fhir.get(f"DocumentReference/{posted.docref['id']}").json()
    assert (docref["status"], docref["meta"]["versionId"]) == ("entered-in-error", "2")
    assert _current_docrefs(fhir, patient) == []
    assert not set(members) & _summary_entries(fhir, patient)
    assert all(_tagged(fhir, m) for m in [posted.composition, *members])

    kept = fhir.get(patient)  # the Patient is never touched
    assert kept.status_code == 200 and kept.json()["meta"]["versionId"] == patient_version
    assert not _tagged(fhir, patient)


def test_withdrawing_the_newer_summary_makes_the_older_current_again(fhir, post_document):
    base = _document()
    old = post_document(summary_of(base, date="2024-01-10T10:00:00+01:00"))
    new = post_document(summary_of(base, date="2024-06-10T10:00:00+01:00", drop_food_allergy=True))
    assert (old.status, new.status) == (201, 201)
    old_allergies = [r for r in _entries_of(fhir, old.composition) if r.startswith("AllergyIntolerance/")]
    assert len(old_allergies) == 2 and all(_tagged(fhir, r) for r in old_allergies)

    assert fhir.delete(f"Bundle/{new.body['id']}").status_code == 200

    old_docref = fhir.get(f"DocumentReference/{old.docref['id']}").json()
    assert (old_docref["status"], old_docref["meta"]["versionId"]) == ("current", "3")  # current, superseded, current
    assert fhir.get(f"DocumentReference/{new.docref['id']}").json()["status"] == "entered-in-error"
    assert _current_docrefs(fhir, old.patient) == [old.docref["id"]]
    assert not any(_tagged(fhir, r) for r in [old.composition, *old_allergies])
    assert sorted(_allergies_in_summary(fhir, old.patient)) == sorted(old_allergies)
    assert all(_tagged(fhir, r) for r in _entries_of(fhir, new.composition))

    # the registry agrees: a newer summary from that source supersedes the restored one
    newest = post_document(summary_of(base, date="2024-09-10T10:00:00+01:00"))
    assert newest.status == 201
    assert newest.docref["relatesTo"][0]["target"]["reference"] == f"DocumentReference/{old.docref['id']}"
    assert fhir.get(f"DocumentReference/{old.docref['id']}").json()["status"] == "superseded"


def test_withdrawing_a_superseded_summary_restores_nothing(fhir, post_document):
    base = _document()
    old = post_document(summary_of(base, date="2024-01-10T10:00:00+01:00"))
    new = post_document(summary_of(base, date="2024-06-10T10:00:00+01:00"))
    assert fhir.delete(f"Bundle/{old.body['id']}").status_code == 200
    assert fhir.get(f"DocumentReference/{old.docref['id']}").json()["status"] == "entered-in-error"
    assert _current_docrefs(fhir, new.patient) == [new.docref["id"]]
    assert set(_entries_of(fhir, new.composition)) <= _summary_entries(fhir, new.patient)


def test_a_resource_another_current_document_holds_stays_current(fhir, post_document, conninfo):
    """Documents share a resource only through the registry (ingest gives every entry its own
    id, the Patient apart): the registry is made to say that another document holds one."""
    base = _document()
    first = post_document(summary_of(base, date="2024-01-10T10:00:00+01:00"))
    other = summary_of(base, date="2024-06-10T10:00:00+01:00")
    custodian = next(e["resource"] for e in other["entry"]
                     if e["fullUrl"] == other["entry"][0]["resource"]["custodian"]["reference"])
    custodian["identifier"] = [{"system": "https://example.org/org", "value": "another-hospital"}]
    second = post_document(other)
    assert (first.status, second.status) == (201, 201)
    shared, *alone = [r for r in _entries_of(fhir, first.composition) if r.split("/")[0] != "Patient"]
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("INSERT INTO document_member (bundle_id, rtype, id) VALUES (%s, %s, %s)",
                     (second.body["id"], *shared.split("/")))

    assert fhir.delete(f"Bundle/{first.body['id']}").status_code == 200
    assert not _tagged(fhir, shared) and fhir.get(shared).json()["meta"]["versionId"] == "1"
    summary = _summary_entries(fhir, first.patient)
    assert shared in summary and not set(alone) & summary
    assert _current_docrefs(fhir, first.patient) == [second.docref["id"]]


def test_repost_of_a_withdrawn_document_is_a_conflict(fhir, post_document):
    bundle = _document()
    posted = post_document(copy.deepcopy(bundle))
    assert fhir.delete(f"Bundle/{posted.body['id']}").status_code == 200
    again = post_document(copy.deepcopy(bundle))
    assert again.status == 409, again.body
    [issue] = again.body["issue"]
    assert (issue["severity"], issue["code"], issue["expression"]) == ("error", "conflict", ["Bundle.identifier"])
    assert "was withdrawn" in issue["diagnostics"] and "new Bundle.identifier" in issue["diagnostics"]
    assert fhir.get(f"Bundle/{posted.body['id']}").status_code == 410


def test_deleting_a_withdrawn_document_again_changes_nothing(fhir, post_document):
    posted = post_document(_document())
    rid = posted.body["id"]
    assert fhir.delete(f"Bundle/{rid}").status_code == 200
    again = fhir.delete(f"Bundle/{rid}")
    assert again.status_code == 200
    assert again.json()["issue"][0]["diagnostics"] == f"Bundle/{rid} does not exist or was already deleted"
    assert fhir.get(f"DocumentReference/{posted.docref['id']}").json()["meta"]["versionId"] == "2"


def _transaction(*entries: dict) -> str:
    return json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": list(entries)})


def test_a_transaction_delete_withdraws(fhir, post_document):
    posted = post_document(_document())
    rid = posted.body["id"]
    response = fhir.post("", data=_transaction({"request": {"method": "DELETE", "url": f"Bundle/{rid}"}}))
    assert response.status_code == 200, response.text
    assert response.json()["entry"][0]["response"]["status"].startswith("204")
    assert fhir.get(f"Bundle/{rid}").status_code == 410
    assert fhir.get(f"DocumentReference/{posted.docref['id']}").json()["status"] == "entered-in-error"
    assert not set(_entries_of(fhir, posted.composition)) & _summary_entries(fhir, posted.patient)


def test_a_failing_transaction_withdraws_nothing(fhir, post_document):
    """The DELETE entry runs first (FHIR's processing order); the PUT over another stored
    document after it fails (405), and the withdrawal rolls back with it."""
    bundle, other = _document(), _document()
    posted, kept = post_document(copy.deepcopy(bundle)), post_document(copy.deepcopy(other))
    rid = posted.body["id"]
    put_over = {"request": {"method": "PUT", "url": f"Bundle/{kept.body['id']}"},
                "resource": {**copy.deepcopy(other), "id": kept.body["id"], "timestamp": "2020-01-01T00:00:00Z"}}
    response = fhir.post("", data=_transaction({"request": {"method": "DELETE", "url": f"Bundle/{rid}"}}, put_over))
    assert response.status_code == 405, response.text
    assert f"Bundle/{kept.body['id']} is a stored document" in response.json()["issue"][0]["diagnostics"]
    assert fhir.get(f"Bundle/{rid}").json()["meta"]["versionId"] == "1"
    docref = fhir.get(f"DocumentReference/{posted.docref['id']}").json()
    assert (docref["status"], docref["meta"]["versionId"]) == ("current", "1")
    assert set(_entries_of(fhir, posted.composition)) <= _summary_entries(fhir, posted.patient)
    assert not _tagged(fhir, posted.composition)
    assert post_document(copy.deepcopy(bundle)).status == 200  # not withdrawn: the repost is the stored one
