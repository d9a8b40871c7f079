"""Who may see whom: consent, therapeutic relationship, exclusion, role bans, break-the-glass."""

from __future__ import annotations

import time

import pytest

from .conftest import care_team, consent, new_nihdi, observation


def _setup(world, *, consented=True, trigger="eid-read", days_ago=30, role_nihdi=None):
    pid = world.patient(consented=consented)
    nihdi = role_nihdi or new_nihdi()
    if trigger:
        world.create(care_team(pid, nihdi, trigger, days_ago))
    oid = world.create(observation(pid))
    return pid, nihdi, oid


def _read(api, token, url, **headers):
    return api.call("GET", url, token, headers=headers)


def test_gp_with_consent_and_relationship_reads(api, world, tokens, audit_events):
    pid, nihdi, oid = _setup(world)
    response = _read(api, tokens.user("gp", nihdi), f"Observation/{oid}")
    assert response.status_code == 200, response.text
    [event] = audit_events(response)
    assert event["outcome"] == "0"


def test_no_consent_is_refused(api, world, tokens, audit_events):
    pid, nihdi, oid = _setup(world, consented=False)
    response = _read(api, tokens.user("gp", nihdi), f"Observation/{oid}")
    assert response.status_code == 403
    assert "consent" in response.json()["issue"][0]["diagnostics"]
    [event] = audit_events(response)
    assert event["outcome"] == "4"
    assert {"reference": f"Patient/{pid}"} in [e.get("what") for e in event["entity"]]


def test_revoked_consent_is_refused(api, world, tokens, fhir):
    pid, nihdi, oid = _setup(world, consented=False)
    cid = world.create(consent(pid))
    token = tokens.user("gp", nihdi)
    assert _read(api, token, f"Observation/{oid}").status_code == 200
    revoked = {**consent(pid, status="inactive"), "id": cid}
    assert fhir.put(f"Consent/{cid}", json=revoked).status_code == 200
    assert _read(api, token, f"Observation/{oid}").status_code == 403


def test_patient_revokes_own_consent_through_the_api(api, world, tokens):
    pid, nihdi, oid = _setup(world, consented=False)
    me = tokens.patient(pid)
    created = api.call("POST", "Consent", me, json=consent(pid))
    assert created.status_code == 201, created.text
    gp = tokens.user("gp", nihdi)
    assert _read(api, gp, f"Observation/{oid}").status_code == 200
    cid = created.json()["id"]
    revoked = api.call("PUT", f"Consent/{cid}", me, json={**consent(pid, status="inactive"), "id": cid})
    assert revoked.status_code == 200, revoked.text
    assert _read(api, gp, f"Observation/{oid}").status_code == 403


@pytest.mark.parametrize(("trigger", "days_ago", "allowed"), [
    ("eid-read", 30, True),
    ("eid-read", 16 * 31, False),  # eID read 16 months ago: the 15-month link has expired
    ("referral", 60, True),
    ("referral", 100, False),
    ("gmd", 300, True),
    ("gmd", 400, False),
    ("hospitalisation", 80, True),
    ("emergency", 20, True),
    ("emergency", 32, False),
])
def test_relationship_durations(api, world, tokens, trigger, days_ago, allowed):
    pid, nihdi, oid = _setup(world, trigger=trigger, days_ago=days_ago)
    response = _read(api, tokens.user("gp", nihdi), f"Observation/{oid}")
    assert response.status_code == (200 if allowed else 403), response.text


def test_relationship_ended_early_is_refused(api, world, tokens):
    pid = world.patient()
    nihdi = new_nihdi()
    ended = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 30 * 86400))
    world.create(care_team(pid, nihdi, "eid-read", 60, end=ended))  # the patient ended it a month ago
    oid = world.create(observation(pid))
    assert _read(api, tokens.user("gp", nihdi), f"Observation/{oid}").status_code == 403


def test_no_relationship_is_refused(api, world, tokens):
    pid, _, oid = _setup(world)
    response = _read(api, tokens.user("specialist", new_nihdi()), f"Observation/{oid}")
    assert response.status_code == 403
    assert "therapeutic relationship" in response.json()["issue"][0]["diagnostics"]


def test_exclusion_is_refused_even_with_break_the_glass(api, world, tokens, audit_events):
    pid, nihdi, oid = _setup(world)
    world.create(consent(pid, deny_nihdi=nihdi))
    token = tokens.user("gp", nihdi)
    response = _read(api, token, f"Observation/{oid}")
    assert response.status_code == 403
    assert "excluded" in response.json()["issue"][0]["diagnostics"]
    btg = _read(api, token, f"Observation/{oid}", **{"X-Break-Glass": "unconscious patient"})
    assert btg.status_code == 403
    assert audit_events(btg)[0]["outcome"] == "4"


def test_patient_records_an_exclusion_a_gp_may_not(api, world, tokens):
    pid, nihdi, oid = _setup(world)
    other = new_nihdi()
    gp = tokens.user("gp", nihdi)
    refused = api.call("POST", "Consent", gp, json=consent(pid, deny_nihdi=other))
    assert refused.status_code == 403
    created = api.call("POST", "Consent", tokens.patient(pid), json=consent(pid, deny_nihdi=nihdi))
    assert created.status_code == 201, created.text
    assert _read(api, gp, f"Observation/{oid}").status_code == 403


@pytest.mark.parametrize("role", ["insurer-doctor", "occupational-doctor", "control-doctor"])
def test_physicians_without_care_role_are_always_refused(api, world, tokens, role):
    pid, nihdi, oid = _setup(world)
    token = tokens.user(role, nihdi)
    assert _read(api, token, f"Observation/{oid}").status_code == 403
    assert _read(api, token, f"Observation/{oid}", **{"X-Break-Glass": "emergency"}).status_code == 403
    assert _read(api, token, f"Patient/{pid}").status_code == 403


def test_break_the_glass_is_allowed_audited_and_flagged(api, world, tokens, audit_events):
    pid, _, oid = _setup(world, trigger=None)
    nihdi = new_nihdi()
    token = tokens.user("emergency-physician", nihdi)
    assert _read(api, token, f"Observation/{oid}").status_code == 403
    response = _read(api, token, f"Observation/{oid}", **{"X-Break-Glass": "patient unconscious at ER"})
    assert response.status_code == 200, response.text
    [event] = audit_events(response)
    assert event["outcome"] == "0"
    assert event["meta"]["security"][0]["code"] == "BTG"
    assert event["purposeOfEvent"][0]["coding"][0]["code"] == "ETREAT"
    assert event["purposeOfEvent"][0]["text"] == "patient unconscious at ER"


def test_break_the_glass_is_for_professionals_only(api, world, tokens):
    pid, _, oid = _setup(world)
    response = _read(api, tokens.system(), f"Observation/{oid}", **{"X-Break-Glass": "because"})
    assert response.status_code == 403


def test_sensitive_resources_only_for_gp_specialist_and_patient(api, world, tokens):
    pid = world.patient()
    pharmacist, gp = new_nihdi(), new_nihdi()
    world.create(care_team(pid, pharmacist, "eid-read", 10))
    world.create(care_team(pid, gp, "gmd", 10))
    plain = world.create(observation(pid))
    sensitive = world.create(observation(pid, security="R"))
    ph = tokens.user("pharmacist", pharmacist)
    assert _read(api, ph, f"Observation/{plain}").status_code == 200
    assert _read(api, ph, f"Observation/{sensitive}").status_code == 403
    assert _read(api, tokens.user("gp", gp), f"Observation/{sensitive}").status_code == 200
    assert _read(api, tokens.patient(pid), f"Observation/{sensitive}").status_code == 200


def test_system_client_needs_consent(api, world, tokens):
    with_consent = world.create(observation(world.patient()))
    without = world.create(observation(world.patient(consented=False)))
    token = tokens.system("system/Observation.rs")
    assert _read(api, token, f"Observation/{with_consent}").status_code == 200
    assert _read(api, token, f"Observation/{without}").status_code == 403


def test_professional_writes_under_the_same_rules(api, world, tokens, audit_events):
    pid, nihdi, _ = _setup(world)
    gp = tokens.user("gp", nihdi)
    created = api.call("POST", "Observation", gp, json=observation(pid))
    assert created.status_code == 201, created.text
    [event] = audit_events(created)
    assert event["action"] == "C" and event["outcome"] == "0"
    stranger = tokens.user("gp", new_nihdi())
    assert api.call("POST", "Observation", stranger, json=observation(pid)).status_code == 403
    oid = created.json()["id"]
    assert api.call("DELETE", f"Observation/{oid}", stranger).status_code == 403
    moved = {**observation(world.patient(consented=False)), "id": oid}
    assert api.call("PUT", f"Observation/{oid}", gp, json=moved).status_code == 403  # cannot move it away


def test_gp_records_a_relationship_after_reading_the_eid(api, world, tokens):
    pid = world.patient()
    nihdi = new_nihdi()
    gp = tokens.user("gp", nihdi)
    oid = world.create(observation(pid))
    assert _read(api, gp, f"Observation/{oid}").status_code == 403
    assert api.call("POST", "CareTeam", gp, json=care_team(pid, nihdi, "eid-read", 0)).status_code == 201
    assert _read(api, gp, f"Observation/{oid}").status_code == 200


def test_rules_can_be_switched_off(conninfo, secure_settings, world, tokens):
    """A deployment behind a hub that checks consent and relationships itself."""
    from fhirsrv.app import create_app

    app = create_app(secure_settings.with_(policy_rules=("role-ban",)), conninfo=conninfo)
    try:
        assert app.extensions["fhirsrv.security"].policy.names == ["role-ban"]
        pid, _, oid = _setup(world, consented=False, trigger=None)
        client = app.test_client()
        gp = client.get(f"/fhir/Observation/{oid}", headers={"Authorization": "Bearer " + tokens.user("gp", "1")})
        assert gp.status_code == 200
        insurer = client.get(f"/fhir/Observation/{oid}",
                             headers={"Authorization": "Bearer " + tokens.user("insurer-doctor", "2")})
        assert insurer.status_code == 403
        statement = client.get("/fhir/metadata").get_json()["rest"][0]["security"]["description"]
        assert "role-ban" in statement and "consent" not in statement.split("enforced:")[1].split(";")[0]
    finally:
        app.extensions["fhirsrv"].close()


def test_a_listing_mixing_two_patients_returns_only_the_allowed_one(api, world, tokens, audit_events):
    """Type-level history spans patients: it is filtered like a search page is."""
    import time as _time

    since = _time.strftime("%Y-%m-%dT%H:%M:%SZ", _time.gmtime(_time.time() - 1))
    allowed, _, mine = _setup(world)
    nihdi = new_nihdi()
    world.create(care_team(allowed, nihdi, "eid-read", 1))
    other = world.patient()
    theirs = world.create(observation(other))
    response = api.call("GET", "Observation/_history", tokens.user("gp", nihdi),
                        params={"_since": since, "_count": "1000"})
    assert response.status_code == 200, response.text
    ids = {e["resource"]["id"] for e in response.json()["entry"]}
    assert mine in ids and theirs not in ids
    events = audit_events(response)
    assert [e["entity"][0]["what"]["reference"] for e in events] == [f"Patient/{allowed}"]
