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
    if response.status_code == 501 and "not available yet" in response.text:
        pytest.skip("search is not merged yet")
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
