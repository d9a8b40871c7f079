"""Conditional create, update and delete (resolved through the search engine)."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg

from fhirsrv.store.condition_locks import CONDITION_LOCK_CLASS, condition_bucket


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


def _waiting_for_condition_locks(conninfo: str) -> int:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = %s",
            (CONDITION_LOCK_CLASS,),
        ).fetchone()[0]


def _blocked_condition_creates(fhir, conninfo: str, posts: list) -> list:
    """Run ``posts`` (callables) in threads while the condition lock bucket is held by another
    transaction; once all of them wait for it, release it and return their answers."""
    with psycopg.connect(conninfo) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s, %s)", (CONDITION_LOCK_CLASS, posts[0][1]))
        with ThreadPoolExecutor(max_workers=len(posts)) as pool:
            futures = [pool.submit(post) for post, _ in posts]
            deadline = time.monotonic() + 20
            while _waiting_for_condition_locks(conninfo) < len(posts):
                assert time.monotonic() < deadline, "the conditional creates did not wait for the condition lock"
                assert not any(f.done() for f in futures), [f.result().status_code for f in futures if f.done()]
                time.sleep(0.05)
            holder.rollback()  # releases the lock: the creates go on, one after the other
            return [f.result(timeout=30) for f in futures]


def test_concurrent_identical_conditional_creates_give_one_resource(fhir, conninfo):
    mrn = uuid.uuid4().hex
    criteria = f"identifier=https://example.org/mrn|{mrn}"
    bucket = condition_bucket("Patient", criteria)

    def post():
        return fhir.post("Patient", data=_patient(mrn), headers={"If-None-Exist": criteria})

    answers = _blocked_condition_creates(fhir, conninfo, [(post, bucket), (post, bucket)])
    assert sorted(a.status_code for a in answers) == [200, 201]
    assert answers[0].json()["id"] == answers[1].json()["id"]
    found = fhir.get("Patient", params={"identifier": f"https://example.org/mrn|{mrn}"}).json()
    assert found["total"] == 1


def test_rest_and_transaction_conditional_creates_share_the_lock(fhir, conninfo):
    mrn = uuid.uuid4().hex
    criteria = f"identifier=https://example.org/mrn|{mrn}"
    bucket = condition_bucket("Patient", criteria)
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [{
        "fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": json.loads(_patient(mrn)),
        "request": {"method": "POST", "url": "Patient", "ifNoneExist": criteria}}]}

    def rest():
        return fhir.post("Patient", data=_patient(mrn), headers={"If-None-Exist": criteria})

    def transaction():
        return fhir.post("", data=json.dumps(bundle))

    rest_answer, bundle_answer = _blocked_condition_creates(fhir, conninfo, [(rest, bucket), (transaction, bucket)])
    assert rest_answer.status_code in {200, 201}
    assert bundle_answer.status_code == 200
    entry_status = bundle_answer.json()["entry"][0]["response"]["status"]
    assert sorted([rest_answer.status_code, int(entry_status.split()[0])]) == [200, 201]
    found = fhir.get("Patient", params={"identifier": f"https://example.org/mrn|{mrn}"}).json()
    assert found["total"] == 1
