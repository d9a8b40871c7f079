"""SMART v1 and v2 scopes on every interaction; patient-context tokens see their compartment only."""

from __future__ import annotations

import pytest

from .conftest import observation


@pytest.mark.parametrize(("scope", "method", "allowed"), [
    ("system/Patient.rs", "GET", True),
    ("system/Patient.read", "GET", True),  # v1
    ("system/*.read", "GET", True),
    ("system/Patient.s", "GET", False),  # search only, no read
    ("system/Observation.rs", "GET", False),
    ("system/Patient.rs", "DELETE", False),
    ("system/Patient.cud", "DELETE", True),
    ("system/Patient.write", "DELETE", True),  # v1
    ("system/Patient.rs?gender=female", "GET", False),  # v2 query restrictions are not granted
])
def test_scope_per_interaction(api, world, tokens, scope, method, allowed):
    pid = world.patient()
    response = api.call(method, f"Patient/{pid}", tokens.system(scope))
    if allowed:
        assert response.status_code in (200, 204), response.text
    else:
        assert response.status_code == 403, response.text
        assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_scopes_on_create_update_history_and_operations(api, world, tokens):
    pid = world.patient()
    read_only = tokens.system("system/*.rs")
    assert api.call("POST", "Observation", read_only, json=observation(pid)).status_code == 403
    assert api.call("PUT", f"Patient/{pid}", read_only,
                    json={"resourceType": "Patient", "id": pid}).status_code == 403
    assert api.call("GET", f"Patient/{pid}/_history", tokens.system("system/Observation.rs")).status_code == 403
    assert api.call("GET", f"Patient/{pid}/_history", read_only).status_code == 200
    assert api.call("POST", "", read_only, json={"resourceType": "Bundle", "type": "batch"}).status_code == 403
    assert api.call("GET", "Observation/$anything", tokens.system("system/Patient.rs")).status_code == 403


def test_patient_token_sees_only_own_compartment(api, world, tokens):
    me, other = world.patient(), world.patient()
    mine, theirs = world.create(observation(me)), world.create(observation(other))
    token = tokens.patient(me, "patient/*.rs")
    assert api.call("GET", f"Patient/{me}", token).status_code == 200
    assert api.call("GET", f"Observation/{mine}", token).status_code == 200
    assert api.call("GET", f"Patient/{other}", token).status_code == 403
    assert api.call("GET", f"Observation/{theirs}", token).status_code == 403
    assert api.call("GET", f"Observation/{theirs}/_history/1", token).status_code == 403
    assert api.call("GET", f"Observation?subject=Patient/{other}", token).status_code == 403
    history = api.call("GET", f"Observation/{theirs}/_history", token)
    assert history.status_code == 200 and history.json()["entry"] == []


def test_patient_token_writes_only_own_compartment(api, world, tokens):
    me, other = world.patient(), world.patient()
    token = tokens.patient(me)
    assert api.call("POST", "Observation", token, json=observation(me)).status_code == 201
    assert api.call("POST", "Observation", token, json=observation(other)).status_code == 403
    assert api.call("POST", "Practitioner", token, json={"resourceType": "Practitioner"}).status_code == 403


def test_capability_statement_states_the_security(api):
    statement = api.call("GET", "metadata", None).json()
    security = statement["rest"][0]["security"]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    assert "consent" in security["description"] and "therapeutic-relationship" in security["description"]
    assert security["extension"][0]["extension"][0]["valueUri"].endswith("/auth/token")
    audit = next(r for r in statement["rest"][0]["resource"] if r["type"] == "AuditEvent")
    assert {i["code"] for i in audit["interaction"]} & {"create", "update", "delete"} == set()


@pytest.mark.parametrize(("scope", "write_allowed"), [
    ("patient/*.read", False), ("patient/Observation.read", False),  # SMART v1
    ("patient/*.rs", False), ("patient/Observation.cruds", True),  # SMART v2
    ("patient/*.write patient/*.read", True),  # v1
])
def test_patient_scopes_v1_and_v2(api, world, tokens, scope, write_allowed):
    me = world.patient()
    mine = world.create(observation(me))
    token = tokens.patient(me, scope)
    assert api.call("GET", f"Observation/{mine}", token).status_code == 200
    created = api.call("POST", "Observation", token, json=observation(me))
    assert created.status_code == (201 if write_allowed else 403), created.text


@pytest.mark.parametrize("scope", ["user/Observation.read", "user/Observation.rs", "user/*.*"])
def test_user_scopes_v1_and_v2(api, world, tokens, scope):
    from .conftest import care_team, new_nihdi

    pid, nihdi = world.patient(), new_nihdi()
    world.create(care_team(pid, nihdi, "gmd", 3))
    oid = world.create(observation(pid))
    token = tokens.user("gp", nihdi, scope)
    assert api.call("GET", f"Observation/{oid}", token).status_code == 200
    assert api.call("GET", f"Patient/{pid}", token).status_code == (200 if scope == "user/*.*" else 403)
