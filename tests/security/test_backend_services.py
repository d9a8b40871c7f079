"""SMART Backend Services: discovery, client_credentials with private_key_jwt, replay protection."""

from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest
import requests

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _assertion(key, client_id: str, aud: str, *, lifetime: int = 240, jti: str | None = None, **extra) -> str:
    now = int(time.time())
    return key.sign({"iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + lifetime,
                     "jti": jti or str(uuid.uuid4()), **extra})


def _token_request(url: str, assertion: str, scope: str = "system/Patient.rs", **extra) -> requests.Response:
    form = {"grant_type": "client_credentials", "scope": scope, "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion, **extra}
    return requests.post(url, data=form, timeout=10)


def test_discovery_document(api):
    config = api.call("GET", ".well-known/smart-configuration", None).json()
    assert config["token_endpoint"].endswith("/fhir/auth/token")
    assert "client_credentials" in config["grant_types_supported"]
    assert config["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert set(config["token_endpoint_auth_signing_alg_values_supported"]) == {"RS384", "ES384"}
    assert {"client-confidential-asymmetric", "permission-v2"} <= set(config["capabilities"])


def _token_url(api) -> str:
    return api.call("GET", ".well-known/smart-configuration", None).json()["token_endpoint"]


def test_client_credentials_flow_es384(api, keys, world):
    url = _token_url(api)
    response = _token_request(url, _assertion(keys.client, "ncp", url), scope="system/Patient.rs system/Condition.rs")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] <= 300
    assert body["scope"] == "system/Patient.rs"  # Condition is not registered for this client
    assert response.headers["Cache-Control"] == "no-store"
    pid = world.patient()
    assert api.call("GET", f"Patient/{pid}", body["access_token"]).status_code == 200
    assert api.call("POST", "Patient", body["access_token"], json={"resourceType": "Patient"}).status_code == 403


def test_client_credentials_flow_rs384(api, keys):
    url = _token_url(api)
    response = _token_request(url, _assertion(keys.rsa_client, "vendor", url), scope="system/Observation.cruds")
    assert response.status_code == 200, response.text


def test_replayed_jti_is_refused(api, keys):
    url = _token_url(api)
    assertion = _assertion(keys.client, "ncp", url)
    assert _token_request(url, assertion).status_code == 200
    replay = _token_request(url, assertion)
    assert replay.status_code == 401
    assert replay.json()["error"] == "invalid_client"
    assert "already used" in replay.json()["error_description"]


def test_assertion_living_longer_than_five_minutes_is_refused(api, keys):
    url = _token_url(api)
    assert _token_request(url, _assertion(keys.client, "ncp", url, lifetime=600)).status_code == 401


def test_expired_assertion_is_refused(api, keys):
    url = _token_url(api)
    assert _token_request(url, _assertion(keys.client, "ncp", url, lifetime=-60)).status_code == 401


def test_assertion_for_another_audience_is_refused(api, keys):
    url = _token_url(api)
    assert _token_request(url, _assertion(keys.client, "ncp", "https://other/token")).status_code == 401


def test_assertion_signed_by_unregistered_key_is_refused(api, keys):
    url = _token_url(api)
    assert _token_request(url, _assertion(keys.stranger, "ncp", url)).status_code == 401
    assert _token_request(url, _assertion(keys.client, "nobody", url)).status_code == 401


def test_hmac_assertion_is_refused(api):
    url = _token_url(api)
    now = int(time.time())
    hmac = jwt.encode({"iss": "ncp", "sub": "ncp", "aud": url, "exp": now + 60, "jti": "x"}, "s" * 32,
                      algorithm="HS256")
    assert _token_request(url, hmac).status_code == 401


def test_client_secret_basic_is_refused(api):
    url = _token_url(api)
    response = requests.post(url, data={"grant_type": "client_credentials", "scope": "system/Patient.rs"},
                             auth=("ncp", "secret"), timeout=10)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_bad_requests(api, keys):
    url = _token_url(api)
    assertion = _assertion(keys.client, "ncp", url)
    assert _token_request(url, assertion, grant_type="password").json()["error"] == "unsupported_grant_type"
    response = _token_request(url, _assertion(keys.client, "ncp", url), scope="system/Medication.rs")
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"
    assert requests.post(url, data={"grant_type": "client_credentials"}, timeout=10).status_code == 400


# -- every token request is audited once (IHE IUA ITI-71, BALP) ---------------------------------
IUA_71 = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.IUA.71"


def _token_events(conninfo, secure_app, marker: str) -> list[dict]:
    """The ITI-71 AuditEvents whose recorded token request contains ``marker``."""
    import base64
    import json

    import psycopg

    assert secure_app.extensions["fhirsrv.security"].audit_writer.flush()
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute("SELECT body::text FROM resource WHERE rtype = 'AuditEvent' AND current"
                            " AND body::text LIKE '%ITI-71%'").fetchall()
    events = [json.loads(r[0]) for r in rows]
    return [e for e in events if any(marker in base64.b64decode(x.get("query", "")).decode()
                                     for x in e["entity"])]


def test_granted_token_request_is_audited_once(api, keys, conninfo, secure_app):
    url = _token_url(api)
    marker = f"marker-{uuid.uuid4().hex}"
    assertion = _assertion(keys.client, "ncp", url)
    response = _token_request(url, assertion, scope=f"system/Patient.rs {marker}")
    assert response.status_code == 200, response.text
    [event] = _token_events(conninfo, secure_app, marker)
    assert event["meta"]["profile"] == [IUA_71] and event["outcome"] == "0"
    assert event["type"]["code"] == "110114" and event["subtype"][0]["code"] == "ITI-71"
    agents = {a["type"]["coding"][0]["code"]: a for a in event["agent"]}
    assert agents["110150"]["who"]["identifier"]["value"] == "ncp" and agents["110150"]["requestor"] is True
    assert "AuthzOauthService" in agents
    issued = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    [token_entity] = [e for e in event["entity"] if e["role"]["code"] == "13"]
    assert token_entity["what"]["identifier"]["value"] == issued["jti"]
    text = json.dumps(event)
    assert assertion not in text and response.json()["access_token"] not in text  # never the secrets


@pytest.mark.parametrize("case", ["replayed", "unknown-client", "bad-grant"])
def test_refused_token_request_is_audited_once(api, keys, conninfo, secure_app, case):
    url = _token_url(api)
    marker = f"marker-{uuid.uuid4().hex}"
    scope = f"system/Patient.rs {marker}"
    if case == "replayed":
        assertion = _assertion(keys.client, "ncp", url)
        assert _token_request(url, assertion, scope="system/Patient.rs").status_code == 200
        response, client, reason = _token_request(url, assertion, scope=scope), "ncp", "already used"
    elif case == "unknown-client":
        response = _token_request(url, _assertion(keys.stranger, "nobody", url), scope=scope)
        client, reason = None, "unknown client"
    else:
        response = _token_request(url, _assertion(keys.client, "ncp", url), scope=scope, grant_type="password")
        client, reason = None, "unsupported_grant_type"
    assert response.status_code in (400, 401)
    [event] = _token_events(conninfo, secure_app, marker)
    assert event["outcome"] == "4" and "profile" not in event["meta"]  # IUA.71 describes a success
    assert event["outcomeDesc"].startswith(f"HTTP {response.status_code}") and reason in event["outcomeDesc"]
    [client_agent] = [a for a in event["agent"] if a["type"]["coding"][0]["code"] == "110150"]
    if client is None:
        assert client_agent["who"] == {"display": "unidentified client"}
    else:
        assert client_agent["who"]["identifier"]["value"] == client
    assert all(e["role"]["code"] != "13" for e in event["entity"])  # no token was issued
