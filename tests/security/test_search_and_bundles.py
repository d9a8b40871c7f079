"""Filtering, not only refusing: search pages, _include and Bundles contain only what the caller may see."""

from __future__ import annotations

import uuid

from .conftest import care_team, new_nihdi, observation


def _tagged_observation(pid: str, tag: str) -> dict:
    obs = observation(pid)
    obs["identifier"] = [{"system": "urn:test:batch", "value": tag}]
    return obs


def test_search_mixing_two_patients_returns_only_the_allowed_one(api, world, tokens, audit_events):
    tag = uuid.uuid4().hex
    allowed, other = world.patient(), world.patient()
    nihdi = new_nihdi()
    world.create(care_team(allowed, nihdi, "eid-read", 2))
    mine = world.create(_tagged_observation(allowed, tag))
    theirs = world.create(_tagged_observation(other, tag))
    response = api.call("GET", "Observation", tokens.user("gp", nihdi),
                        params={"identifier": f"urn:test:batch|{tag}", "_include": "Observation:subject"})
    assert response.status_code == 200, response.text
    bundle = response.json()
    ids = {(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle["entry"]}
    assert ids == {("Observation", mine), ("Patient", allowed)}
    assert ("Observation", theirs) not in ids and ("Patient", other) not in ids
    assert "total" not in bundle  # a count would include what the GP may not see
    [event] = audit_events(response)  # one patient seen, one AuditEvent
    assert event["meta"]["profile"][0].endswith("PatientQuery") and event["action"] == "E"


def test_patient_token_search_is_confined_in_sql(api, world, tokens):
    tag = uuid.uuid4().hex
    me, other = world.patient(), world.patient()
    mine = world.create(_tagged_observation(me, tag))
    world.create(_tagged_observation(other, tag))
    response = api.call("GET", "Observation", tokens.patient(me, "patient/*.rs"),
                        params={"identifier": f"urn:test:batch|{tag}"})
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert [e["resource"]["id"] for e in bundle["entry"]] == [mine]
    assert bundle["total"] == 1


def _transaction(entries, kind="transaction"):
    return {"resourceType": "Bundle", "type": kind, "entry": [
        {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": resource,
         "request": {"method": "POST", "url": resource["resourceType"]}} for resource in entries]}


def test_transaction_touching_a_forbidden_patient_fails_whole(api, world, tokens, conninfo):
    import psycopg

    allowed, other = world.patient(), world.patient()
    nihdi = new_nihdi()
    world.create(care_team(allowed, nihdi, "eid-read", 2))
    tag = uuid.uuid4().hex
    bundle = _transaction([_tagged_observation(allowed, tag), _tagged_observation(other, tag)])
    response = api.call("POST", "", tokens.user("gp", nihdi), json=bundle)
    assert response.status_code == 403, response.text
    with psycopg.connect(conninfo) as conn:
        stored = conn.execute("SELECT count(*) FROM resource WHERE rtype='Observation' AND body::text LIKE %s",
                              (f"%{tag}%",)).fetchone()[0]
    assert stored == 0


def test_transaction_is_audited_once_naming_each_patient_in_its_transaction(api, world, tokens, audit_events):
    first, second = world.patient(), world.patient()
    tag = uuid.uuid4().hex
    response = api.call("POST", "", tokens.system(),
                        json=_transaction([_tagged_observation(first, tag), _tagged_observation(second, tag)]))
    assert response.status_code == 200, response.text
    [event] = audit_events(response)
    patients = {e["what"]["reference"] for e in event["entity"] if e.get("role", {}).get("code") == "1"}
    assert patients == {f"Patient/{first}", f"Patient/{second}"}
    assert event["outcome"] == "0" and event["subtype"][0]["code"] == "transaction"


def test_batch_refuses_entries_one_by_one(api, world, tokens):
    allowed, other = world.patient(), world.patient(consented=False)
    tag = uuid.uuid4().hex
    response = api.call("POST", "", tokens.system(),
                        json=_transaction([_tagged_observation(allowed, tag), _tagged_observation(other, tag)],
                                          "batch"))
    assert response.status_code == 200, response.text
    statuses = [e["response"]["status"] for e in response.json()["entry"]]
    assert statuses[0].startswith("201") and statuses[1].startswith("403")


def test_audit_events_cannot_be_written_through_a_bundle(api, tokens, fhir):
    event = {"resourceType": "AuditEvent", "type": {"code": "rest"}, "recorded": "2025-01-01T00:00:00Z",
             "agent": [{"requestor": True}], "source": {"observer": {"display": "x"}}}
    assert api.call("POST", "", tokens.system(), json=_transaction([event])).status_code == 405
    assert fhir.post("", json=_transaction([event])).status_code == 405  # also with auth off


def test_nul_in_json_strings_is_400(api, tokens, world):
    pid = world.patient()
    response = api.call("POST", "Observation", tokens.system(),
                        data=('{"resourceType":"Observation","status":"final","code":{"text":"a\\u0000b"},'
                              f'"subject":{{"reference":"Patient/{pid}"}}}}').encode(),
                        headers={"Content-Type": "application/fhir+json"})
    assert response.status_code == 400
    assert "NUL" in response.json()["issue"][0]["diagnostics"]


def _condition(pid: str, text: str, security: str | None = None) -> dict:
    condition = {"resourceType": "Condition",
                 "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                                "code": "active"}]},
                 "code": {"text": text}, "subject": {"reference": f"Patient/{pid}"}}
    if security:
        condition["meta"] = {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                                           "code": security}]}
    return condition


def test_summary_leaves_out_what_the_caller_may_not_see(api, world, tokens, audit_events):
    pid = world.patient()
    gp, pharmacist = new_nihdi(), new_nihdi()
    world.create(care_team(pid, gp, "gmd", 10))
    world.create(care_team(pid, pharmacist, "eid-read", 10))
    world.create(_condition(pid, "Hypertension"))
    secret = world.create(_condition(pid, "Psychiatric disorder", security="R"))
    as_gp = api.call("GET", f"Patient/{pid}/$summary", tokens.user("gp", gp))
    assert as_gp.status_code == 200, as_gp.text
    assert "Psychiatric disorder" in as_gp.text
    as_pharmacist = api.call("GET", f"Patient/{pid}/$summary", tokens.user("pharmacist", pharmacist))
    assert as_pharmacist.status_code == 200, as_pharmacist.text
    assert "Hypertension" in as_pharmacist.text
    assert "Psychiatric disorder" not in as_pharmacist.text  # entry and narrative
    assert secret not in as_pharmacist.text
    [event] = audit_events(as_pharmacist)
    assert event["subtype"][0]["code"] == "operation" and event["outcome"] == "0"
    stranger = api.call("GET", f"Patient/{pid}/$summary", tokens.user("gp", new_nihdi()))
    assert stranger.status_code == 403


def test_document_ingest_is_authorised(api, world, tokens):
    import copy

    from ..documents.examples import document_bundles, fresh, unique_ssin

    key = document_bundles("2.0.0")[0]
    from ..documents.examples import example

    bundle = fresh(example("2.0.0", key), patient_value=unique_ssin())
    gp = tokens.user("gp", new_nihdi(), scope="user/*.rs")
    assert api.call("POST", "Bundle", gp, json=copy.deepcopy(bundle)).status_code == 403  # no write scope
    response = api.call("POST", "Bundle", tokens.system(), json=bundle)
    assert response.status_code in (200, 201), response.text[:500]
