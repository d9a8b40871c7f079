"""Bearer tokens on every FHIR endpoint: missing, expired, forged, foreign -> 401 + WWW-Authenticate."""

from __future__ import annotations

import time

import jwt

from .conftest import AUDIENCE, EXTERNAL_ISSUER


def _assert_401(response, audit_events) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="fhirsrv"')
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == "login"
    events = audit_events(response)
    assert len(events) == 1 and events[0]["outcome"] == "4"


def test_no_token_is_401_with_challenge(api, world, audit_events):
    pid = world.patient()
    response = api.call("GET", f"Patient/{pid}", None)
    _assert_401(response, audit_events)
    assert "error=" not in response.headers["WWW-Authenticate"]  # RFC 6750: no error without credentials


def test_every_fhir_endpoint_needs_a_token(api):
    for method, url in [("GET", "Patient"), ("POST", "Patient"), ("GET", "_history"), ("GET", "Patient/x/_history"),
                        ("DELETE", "Patient/x"), ("POST", ""), ("GET", "$validate")]:
        response = api.call(method, url, None, json={"resourceType": "Patient"} if method == "POST" else None)
        assert response.status_code == 401, (method, url, response.status_code)


def test_metadata_and_discovery_are_public(api):
    assert api.call("GET", "metadata", None).status_code == 200
    assert api.call("GET", ".well-known/smart-configuration", None).status_code == 200


def test_expired_token_is_401(api, world, tokens, audit_events):
    pid = world.patient()
    token = tokens.service.mint(subject="x", scope="system/*.rs", lifetime=-120)[0]
    response = api.call("GET", f"Patient/{pid}", token)
    _assert_401(response, audit_events)
    assert "expired" in response.json()["issue"][0]["diagnostics"]
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_forged_signature_is_401(api, world, keys, audit_events):
    pid = world.patient()
    now = int(time.time())
    forged = keys.stranger.sign({"iss": "urn:fhirsrv:local", "aud": AUDIENCE, "sub": "x", "iat": now,
                                 "exp": now + 60, "scope": "system/*.rs"})
    _assert_401(api.call("GET", f"Patient/{pid}", forged), audit_events)


def test_alg_none_and_hmac_tokens_are_refused(api, world, keys):
    pid = world.patient()
    now = int(time.time())
    claims = {"iss": "urn:fhirsrv:local", "aud": AUDIENCE, "sub": "x", "iat": now, "exp": now + 60,
              "scope": "system/*.rs"}
    unsigned = jwt.encode(claims, None, algorithm="none")
    hmac = jwt.encode(claims, "secret-secret-secret-secret-secret", algorithm="HS256")
    for token in (unsigned, hmac, "not-a-jwt", "a.b.c"):
        assert api.call("GET", f"Patient/{pid}", token).status_code == 401


def test_wrong_audience_is_401(api, world, keys):
    pid = world.patient()
    now = int(time.time())
    token = keys.external.sign({"iss": EXTERNAL_ISSUER, "aud": "https://elsewhere", "sub": "x", "iat": now,
                                "exp": now + 60, "scope": "system/*.rs"})
    response = api.call("GET", f"Patient/{pid}", token)
    assert response.status_code == 401
    assert "aud" in response.json()["issue"][0]["diagnostics"]


def test_basic_auth_is_401(api, world):
    pid = world.patient()
    response = api.request("GET", f"Patient/{pid}", auth=("user", "password"))
    assert response.status_code == 401


def test_external_issuer_token_verified_against_its_jwks(api, world, keys):
    pid = world.patient()
    now = int(time.time())
    token = keys.external.sign({"iss": EXTERNAL_ISSUER, "aud": AUDIENCE, "sub": "hub", "iat": now,
                                "exp": now + 60, "scope": "system/Patient.rs", "client_id": "hub"})
    assert api.call("GET", f"Patient/{pid}", token).status_code == 200
    untrusted = keys.stranger.sign({"iss": "https://evil.test", "aud": AUDIENCE, "sub": "x", "iat": now,
                                    "exp": now + 60, "scope": "system/*.rs"})
    assert api.call("GET", f"Patient/{pid}", untrusted).status_code == 401


def test_incoherent_claims_are_401(api, world, tokens):
    pid = world.patient()
    no_patient = tokens.service.mint(subject="x", scope="patient/*.rs")[0]
    no_identity = tokens.service.mint(subject="x", scope="user/*.rs")[0]
    bad_role = tokens.service.mint(subject="x", scope="user/*.rs", role="wizard", nihdi="1")[0]
    for token in (no_patient, no_identity, bad_role):
        assert api.call("GET", f"Patient/{pid}", token).status_code == 401


def test_token_never_logged(api, world, tokens, caplog):
    pid = world.patient()
    token = tokens.service.mint(subject="x", scope="system/*.rs", lifetime=-120)[0]
    with caplog.at_level("DEBUG"):
        api.call("GET", f"Patient/{pid}", token)
    assert token not in caplog.text
    assert token.split(".")[2] not in caplog.text
