"""IHE BALP audit: exactly one AuditEvent per request, right outcome, same transaction as a write,
read-only through the API, and the patient's own access log."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from .conftest import care_team, new_nihdi, observation

BALP = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit."


def _entity_roles(event):
    return {e["role"]["code"] for e in event["entity"] if "role" in e}


def test_read_gives_one_balp_patient_read(api, world, tokens, audit_events):
    pid = world.patient()
    nihdi = new_nihdi()
    world.create(care_team(pid, nihdi, "gmd", 5))
    oid = world.create(observation(pid))
    response = api.call("GET", f"Observation/{oid}", tokens.user("gp", nihdi, name="Dr. Peeters"))
    assert response.status_code == 200
    [event] = audit_events(response)
    assert event["meta"]["profile"] == [BALP + "PatientRead"]
    assert event["type"]["code"] == "rest" and event["subtype"][0]["code"] == "read"
    assert event["action"] == "R" and event["outcome"] == "0"
    agents = {a["type"]["coding"][0]["code"]: a for a in event["agent"]}
    assert agents["110153"]["who"]["identifier"]["value"] == "ehr"  # client = Source Role ID
    assert "110152" in agents  # server = Destination Role ID
    assert agents["IRCP"]["who"]["identifier"]["value"] == nihdi and agents["IRCP"]["requestor"] is True
    assert {"1", "4"} <= _entity_roles(event)  # patient + data entities
    assert {"reference": f"Observation/{oid}"} in [e.get("what") for e in event["entity"]]


def test_write_audit_is_in_the_same_transaction(api, world, tokens, audit_events, conninfo):
    pid = world.patient()
    token = tokens.system()
    created = api.call("POST", "Observation", token, json=observation(pid))
    assert created.status_code == 201
    [event] = audit_events(created)
    assert event["action"] == "C" and event["meta"]["profile"] == [BALP + "PatientCreate"]
    oid = created.json()["id"]
    # a write that fails (wrong If-Match) stores nothing and is audited once, as a failure
    failed = api.call("PUT", f"Observation/{oid}", token, json={**observation(pid), "id": oid},
                      headers={"If-Match": 'W/"7"'})
    assert failed.status_code == 412
    [event] = audit_events(failed)
    assert event["outcome"] == "4" and event["action"] == "U"
    with psycopg.connect(conninfo) as conn:
        versions = conn.execute("SELECT count(*) FROM resource WHERE rtype='Observation' AND id=%s",
                                (oid,)).fetchone()[0]
    assert versions == 1


def test_audit_rolls_back_with_the_write(secure_app, world, tokens, conninfo):
    """If the transaction fails after the audit hook, neither data nor audit remains."""
    services = secure_app.extensions["fhirsrv"]
    marker = str(uuid.uuid4())
    pid = world.patient()

    def explode(cur):
        raise RuntimeError("disk full")

    services.commit_hooks.append(explode)
    try:
        with secure_app.test_client() as client:
            response = client.post("/fhir/Observation", json=observation(pid), headers={
                "Authorization": "Bearer " + tokens.system(), "X-Request-Id": marker,
                "Content-Type": "application/fhir+json"})
        assert response.status_code == 500
    finally:
        services.commit_hooks.remove(explode)
    assert secure_app.extensions["fhirsrv.security"].audit_writer.flush()
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute("SELECT body->>'outcome' FROM resource WHERE rtype='AuditEvent' AND body::text LIKE %s",
                            (f"%{marker}%",)).fetchall()
        stored = conn.execute("SELECT count(*) FROM resource WHERE rtype='Observation' AND patient_id=%s",
                              (pid,)).fetchone()[0]
    assert stored == 0
    assert rows == [("8",)]  # the in-transaction success audit rolled back; the failure is audited


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_audit_events_cannot_be_changed_through_the_api(api, tokens, method, audit_events):
    token = tokens.system()
    url = "AuditEvent" if method == "POST" else "AuditEvent/some-event"
    body = {"resourceType": "AuditEvent", "id": "some-event"} if method != "DELETE" else None
    response = api.call(method, url, token, json=body)
    assert response.status_code == 405
    assert response.json()["resourceType"] == "OperationOutcome"
    assert len(audit_events(response)) == 1


def test_refusals_are_audited_once(api, world, tokens, audit_events):
    pid = world.patient(consented=False)
    for token in (None, tokens.system("system/Observation.rs"), tokens.user("gp", new_nihdi())):
        response = api.call("GET", f"Patient/{pid}", token)
        assert response.status_code in (401, 403)
        [event] = audit_events(response)
        assert event["outcome"] == "4" and event["outcomeDesc"].startswith(f"HTTP {response.status_code}")


def _audit_ids(conninfo, pid, app):
    assert app.extensions["fhirsrv.security"].audit_writer.flush()
    with psycopg.connect(conninfo) as conn:
        return [r[0] for r in conn.execute(
            "SELECT id FROM resource WHERE rtype='AuditEvent' AND patient_id=%s AND current", (pid,))]


def test_patient_reads_own_access_log_and_not_anothers(api, world, tokens, conninfo, secure_app):
    me, other = world.patient(), world.patient()
    nihdi = new_nihdi()
    world.create(care_team(me, nihdi, "eid-read", 3))
    api.call("GET", f"Patient/{me}", tokens.user("gp", nihdi))
    api.call("GET", f"Patient/{other}", tokens.system())
    my_events, their_events = _audit_ids(conninfo, me, secure_app), _audit_ids(conninfo, other, secure_app)
    assert my_events and their_events
    token = tokens.patient(me, "patient/*.rs")
    mine = api.call("GET", f"AuditEvent/{my_events[0]}", token)
    assert mine.status_code == 200
    who = [a["who"] for a in mine.json()["agent"] if a["type"]["coding"][0]["code"] == "IRCP"]
    assert who[0]["identifier"]["value"] == nihdi  # the patient sees which professional looked
    assert api.call("GET", f"AuditEvent/{their_events[0]}", token).status_code == 403
    assert api.call("GET", f"AuditEvent?patient={other}", token).status_code == 403
    assert api.call("GET", f"AuditEvent?patient=Patient/{other}", token).status_code == 403
    secure_app.extensions["fhirsrv.security"].audit_writer.flush()
    own = api.call("GET", f"AuditEvent?patient={me}", token)
    assert own.status_code == 200
    listed = [entry["resource"] for entry in own.json().get("entry", [])]
    assert listed and "total" in own.json()  # a patient's search is confined in SQL: totals are exact
    for event in listed:  # each event is about me, or is my own attempt on someone else
        refs = {e.get("what", {}).get("reference") for e in event["entity"]}
        refs |= {a["who"].get("reference") for a in event["agent"]}
        assert f"Patient/{me}" in refs


def test_professionals_do_not_read_access_logs(api, world, tokens, conninfo, secure_app):
    pid = world.patient()
    nihdi = new_nihdi()
    world.create(care_team(pid, nihdi, "eid-read", 3))
    api.call("GET", f"Patient/{pid}", tokens.system())
    event_id = _audit_ids(conninfo, pid, secure_app)[0]
    gp = tokens.user("gp", nihdi)
    assert api.call("GET", f"AuditEvent/{event_id}", gp).status_code == 403
    assert api.call("GET", f"AuditEvent?patient={pid}", gp).status_code == 403
    assert api.call("GET", f"AuditEvent/{event_id}", tokens.system("system/AuditEvent.rs")).status_code == 200


def test_synchronous_read_audit_mode(secure_settings, conninfo, world, tokens):
    """FHIRSRV_AUDIT_READS=sync: the read's AuditEvent is stored before the response leaves."""
    from fhirsrv.app import create_app

    app = create_app(secure_settings.with_(audit_reads="sync"), conninfo=conninfo)
    try:
        pid = world.patient()
        marker = str(uuid.uuid4())
        response = app.test_client().get(f"/fhir/Patient/{pid}", headers={
            "Authorization": "Bearer " + tokens.system(), "X-Request-Id": marker})
        assert response.status_code == 200
        with psycopg.connect(conninfo) as conn:  # no flush: nothing is queued in this mode
            count = conn.execute("SELECT count(*) FROM resource WHERE rtype='AuditEvent' AND body::text LIKE %s",
                                 (f"%{marker}%",)).fetchone()[0]
        assert count == 1
    finally:
        app.extensions["fhirsrv"].close()


def test_audit_backlog_fails_closed(secure_app, api, tokens, world):
    writer = secure_app.extensions["fhirsrv.security"].audit_writer
    pid = world.patient()
    writer.healthy = False
    try:
        response = api.call("GET", f"Patient/{pid}", tokens.system())
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    finally:
        writer.healthy = True


def test_one_refused_audit_event_does_not_block_the_others(secure_app, caplog):
    from fhirsrv.security.audit_writer import AuditWriter

    services = secure_app.extensions["fhirsrv"]
    written: list[str] = []

    class Picky(AuditWriter):
        def _write(self, events):
            if any(e.get("poison") for e in events):
                raise ValueError("refused")
            written.extend(e["id"] for e in events)

    writer = Picky(services)
    writer.submit([{"id": "a"}, {"id": "bad", "poison": True}])
    writer.submit([{"id": "b"}])
    assert writer.flush()
    assert sorted(written) == ["a", "b"] and writer.healthy
    writer.submit([{"id": "alone", "poison": True}])  # alone in its batch, the database still answers
    assert writer.flush() and writer.healthy


def test_a_search_over_two_patients_is_one_event_in_both_access_logs(api, world, tokens, audit_events, secure_app):
    """One AuditEvent for the request, naming both patients; each patient finds it in their own
    log (also the second-named one) and sees neither the other patient nor the query."""
    first, second = world.patient(), world.patient()
    tag = uuid.uuid4().hex
    for pid in (first, second):
        obs = observation(pid)
        obs["identifier"] = [{"system": "urn:test:log", "value": tag}]
        world.create(obs)
    response = api.call("GET", "Observation", tokens.system("system/Observation.rs"),
                        params={"identifier": f"urn:test:log|{tag}", "_sort": "_id"})
    assert response.status_code == 200 and len(response.json()["entry"]) == 2
    [event] = audit_events(response)
    named = [e["what"]["reference"] for e in event["entity"] if e.get("role", {}).get("code") == "1"]
    assert sorted(named) == sorted([f"Patient/{first}", f"Patient/{second}"])
    assert event["meta"]["profile"] == [BALP + "Query"]  # BALP's PatientQuery is about one patient
    for me, other in ((first, second), (second, first)):
        token = tokens.patient(me, "patient/AuditEvent.rs")
        log = api.call("GET", "AuditEvent", token, params={"patient": me, "_count": "200"})
        assert log.status_code == 200, log.text
        [seen] = [e["resource"] for e in log.json()["entry"] if e["resource"]["id"] == event["id"]]
        refs = [e.get("what", {}).get("reference") for e in seen["entity"]]
        assert f"Patient/{me}" in refs and f"Patient/{other}" not in refs
        assert all("query" not in e for e in seen["entity"])  # the query named the other patient's data
        assert other not in str(seen)
        direct = api.call("GET", f"AuditEvent/{event['id']}", token)
        assert direct.status_code == 200 and other not in direct.text
    auditor = api.call("GET", f"AuditEvent/{event['id']}", tokens.system("system/AuditEvent.rs"))
    assert second in auditor.text and first in auditor.text  # an auditing system sees the whole event
