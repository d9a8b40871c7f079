"""SMART Backend Services: discovery, client_credentials with private_key_jwt, replay protection."""

from __future__ import annotations

import time
import uuid

import jwt
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
