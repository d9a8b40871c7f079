"""Hostile input: every answer is a 4xx OperationOutcome, never a 5xx, and nothing is stored."""

from __future__ import annotations

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FHIR_JSON = "application/fhir+json"


@pytest.fixture()
def admin(tokens) -> str:
    return tokens.system("system/*.cruds")


@pytest.fixture()
def stored_count(conninfo):
    def count() -> int:
        with psycopg.connect(conninfo) as conn:
            return conn.execute("SELECT count(*) FROM resource WHERE rtype <> 'AuditEvent'").fetchone()[0]

    return count


def _assert_refused(response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith(FHIR_JSON)
    assert response.json()["resourceType"] == "OperationOutcome"


SEARCH_INJECTIONS = [
    "Patient?name=' OR '1'='1",
    "Patient?_id=1;DROP TABLE resource;--",
    "Patient?family=x')) OR 1=1--&_sort=name;DROP TABLE resource",
    "Observation?subject=Patient/x' UNION SELECT body FROM resource--",
    "Patient?_count=1;DELETE FROM resource",
    "Patient?birthdate=ge2020-01-01' OR 'a'='a",
    "Patient?_filter=name eq x or 1 eq 1",
    "Observation?code:text=%00%27%22",
    "Patient?name:contains=%').where(true)",
    "Patient?_has:Observation:subject:code=x') or true or ('",
]


@pytest.mark.parametrize("url", SEARCH_INJECTIONS)
def test_injection_in_search_parameters(api, admin, url, stored_count):
    before = stored_count()
    response = api.call("GET", url, admin)
    if response.status_code == 200:  # a well-defended search may simply find nothing
        assert response.json()["resourceType"] == "Bundle"
    else:
        _assert_refused(response)
    assert stored_count() == before


@pytest.mark.parametrize("url", [
    "Patient/_history?_since=2020' OR '1'='1",
    "_history?_count=1;DROP TABLE resource",
    "_history?_at=now()",
    "Patient/x/_history/1 OR 1=1",
    "Patient/x/_history/..",
    "Patient/x?_elements=id|(1/0)",
    "Patient/x?_summary=true' OR '1",
    "Patient/1' OR '1'='1",
    "Patient/..%2F..%2Fetc%2Fpasswd",
    "Patient/%2e%2e/%2e%2e/etc/passwd",
    "Patient/$'; DROP TABLE resource;--",
    "Patients/1",
])
def test_injection_in_urls_and_ids(api, admin, url, stored_count):
    before = stored_count()
    _assert_refused(api.call("GET", url, admin))
    assert stored_count() == before


def _post(api, token, url, data: bytes, content_type: str = FHIR_JSON):
    return api.call("POST", url, token, data=data, headers={"Content-Type": content_type})


@pytest.mark.parametrize(("name", "payload"), [
    ("deep arrays", b'{"resourceType":"Patient","extension":' + b"[" * 50000 + b"]" * 50000 + b"}"),
    ("deep objects", b'{"resourceType":"Patient","x":' + b'{"a":' * 300 + b"1" + b"}" * 300 + b"}"),
    ("invalid utf-8", b'{"resourceType":"Patient","name":[{"family":"\xff\xfe\xc3\x28"}]}'),
    ("duplicate keys", b'{"resourceType":"Patient","gender":"male","gender":"female"}'),
    ("raw NUL", b'{"resourceType":"Patient","gender":"ma\x00le"}'),
    ("NaN", b'{"resourceType":"Patient","x":NaN}'),
    ("not an object", b"[]"),
    ("truncated", b'{"resourceType":"Patient",'),
    ("empty", b""),
    ("wrong type", b'{"resourceType":"Observation"}'),
    ("no type", b'{"gender":"male"}'),
])
def test_hostile_bodies(api, admin, stored_count, name, payload):
    before = stored_count()
    _assert_refused(_post(api, admin, "Patient", payload))
    assert stored_count() == before


def test_oversized_body_is_413(api, admin, stored_count):
    before = stored_count()
    payload = b'{"resourceType":"Patient","text":{"div":"' + b"x" * (2 * 1024 * 1024) + b'"}}'
    response = _post(api, admin, "Patient", payload)
    assert response.status_code == 413
    _assert_refused(response)
    assert stored_count() == before


def test_wrong_content_type_is_415(api, admin):
    response = _post(api, admin, "Patient", b"<Patient xmlns='http://hl7.org/fhir'/>", "application/fhir+xml")
    assert response.status_code == 415


def test_hostile_update_ids(api, admin, stored_count):
    before = stored_count()
    for rid in ["a" * 65, "x'--", "a%2Fb", "%00"]:
        response = api.call("PUT", f"Patient/{rid}", admin, json={"resourceType": "Patient", "id": rid})
        _assert_refused(response)
    assert stored_count() == before


def test_hostile_authorization_headers(api):
    for value in ["Bearer " + "A" * 60000, "Bearer", "Bearer a.b", "Basic Zm9vOmJhcg==", "Bearer \x01\x02",
                  "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."]:
        response = api.call("GET", "Patient/x", None, headers={"Authorization": value})
        assert response.status_code in (400, 401, 431), (value[:20], response.status_code)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rid=st.text(min_size=1, max_size=80), param=st.text(max_size=40), value=st.text(max_size=80))
def test_fuzzed_ids_and_parameters_never_5xx(api, admin, rid, param, value):
    from urllib.parse import quote

    url = f"Patient/{quote(rid, safe='')}/_history?{quote(param, safe='')}={quote(value, safe='')}"
    response = api.call("GET", url, admin)
    assert response.status_code < 500, (url, response.status_code, response.text[:200])
    read = api.call("GET", f"Observation/{quote(rid, safe='')}", admin, params={param or "_x": value})
    assert read.status_code < 500, (rid, read.status_code, read.text[:200])


def test_hostile_token_contents(api, tokens, keys, world):
    """Validly signed tokens whose claims have the wrong shapes are 401, never 500."""
    import time

    pid = world.patient()
    service = tokens.service
    odd = [
        {"scope": ["system/*.rs", 5, None]},
        {"scope": 42},
        {"role": ["gp"], "nihdi": {"x": 1}},
        {"patient": ["a"], "scope": "patient/*.rs"},
        {"client_id": {"a": 1}, "scope": "system/*.rs"},
    ]
    for claims in odd:
        scope = claims.pop("scope", "system/*.rs")
        token = service.mint(subject="x", scope=scope, **claims)[0] if isinstance(scope, str) else \
            service.signing_key.sign({"iss": service.settings.auth_issuer, "aud": service.audience, "sub": "x",
                                      "iat": int(time.time()), "exp": int(time.time()) + 60, "scope": scope,
                                      **claims})
        response = api.call("GET", f"Patient/{pid}", token)
        assert response.status_code in (200, 401, 403), (claims, response.status_code, response.text[:200])
    now = int(time.time())
    for header in ({"kid": ["x"]}, {"kid": {"a": 1}}, {"alg": "ES384", "kid": 7}):
        signed = jwt_encode(keys.external, {"iss": ["https://idp.test"], "aud": "x", "sub": "x", "iat": now,
                                            "exp": now + 60}, header)
        assert api.call("GET", f"Patient/{pid}", signed).status_code == 401
        signed = jwt_encode(keys.external, {"iss": "https://idp.test", "aud": "x", "sub": "x", "iat": now,
                                            "exp": now + 60}, header)
        assert api.call("GET", f"Patient/{pid}", signed).status_code == 401


def jwt_encode(key, claims, headers):
    """Sign any header and payload as they are (PyJWT's encoders refuse odd types; an attacker's do not)."""
    import base64
    import json

    import jwt

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    header = {"alg": key.algorithm, "typ": "JWT", **headers}
    signing_input = b64(json.dumps(header).encode()) + b"." + b64(json.dumps(claims).encode())
    signature = jwt.get_algorithm_by_name(key.algorithm).sign(signing_input, key.private_key)
    return (signing_input + b"." + b64(signature)).decode()


def test_hostile_client_assertions(api, keys):
    import time

    import requests

    url = api.call("GET", ".well-known/smart-configuration", None).json()["token_endpoint"]
    now = int(time.time())
    cases = [
        ({"iss": ["ncp"], "sub": "ncp", "aud": url, "exp": now + 60, "jti": "a" * 20}, {}),
        ({"iss": "ncp", "sub": "ncp", "aud": url, "exp": now + 60, "jti": "a" * 20}, {"kid": ["x"]}),
        ({"iss": "ncp", "sub": "ncp", "aud": url, "exp": now + 60, "jti": "x" * 100000}, {}),
        ({"iss": "ncp", "sub": "ncp", "aud": url, "exp": now + 60, "jti": {"a": 1}}, {}),
        ({"iss": "ncp", "sub": "other", "aud": url, "exp": now + 60, "jti": "b" * 20}, {}),
    ]
    for claims, header in cases:
        assertion = jwt_encode(keys.client, claims, {"kid": keys.client.kid, **header})
        response = requests.post(url, data={
            "grant_type": "client_credentials", "scope": "system/Patient.rs",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion}, timeout=10)
        assert response.status_code in (400, 401, 413), (claims.get("jti", "")[:10], response.status_code)


_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
_json = st.recursive(_json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)), max_leaves=20)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_every_route_of_the_url_table(api, admin, stored_count, data):
    """A generator over the URL table (the same table the OpenAPI document is built from):
    any method, any segment values, any query and any JSON body -> never a 5xx."""
    from urllib.parse import quote

    from fhirsrv.rest.routes import ROUTES

    route = data.draw(st.sampled_from(ROUTES))
    method = data.draw(st.sampled_from(route.methods))
    segment = st.one_of(st.sampled_from(["Patient", "Observation", "AuditEvent", "Consent", "x", "1"]),
                        st.text(min_size=1, max_size=30))
    url = route.rule
    for name, strategy in (("<rtype>", segment), ("<rid>", segment), ("<vid>", segment),
                           ("<op:op>", st.sampled_from(["$validate", "$lookup", "$x", "$summary"]))):
        if name in url:
            url = url.replace(name, quote(data.draw(strategy), safe="$"))
    params = data.draw(st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=30), max_size=3))
    body = data.draw(_json) if method in ("POST", "PUT") else None
    if isinstance(body, dict) and data.draw(st.booleans()):
        body["resourceType"] = data.draw(st.sampled_from(["Patient", "AuditEvent", "Bundle", "Parameters"]))
    response = api.call(method, url.lstrip("/") or "", admin, params=params,
                        json=body if body is not None else None)
    assert response.status_code < 500, (method, url, params, response.status_code, response.text[:300])
    if response.status_code >= 400:
        assert response.json()["resourceType"] == "OperationOutcome"
