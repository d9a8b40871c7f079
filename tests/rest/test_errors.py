"""Every error is an OperationOutcome with the right status; nothing is stored by a failure."""

from __future__ import annotations

import pytest


def _issue(response):
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return body["issue"][0]


def test_unknown_type_is_404(fhir):
    response = fhir.get("Patients/1")
    assert response.status_code == 404
    assert _issue(response)["code"] == "not-supported"


def test_unknown_id_is_404(fhir):
    response = fhir.get("Patient/does-not-exist")
    assert response.status_code == 404
    assert _issue(response)["code"] == "not-found"


def test_malformed_json_is_400(fhir):
    response = fhir.post("Patient", data='{"resourceType": "Patient",')
    assert response.status_code == 400
    assert _issue(response)["code"] == "structure"


@pytest.mark.parametrize(
    "body, fragment",
    [
        (b'{"resourceType":"Patient","gender":"a","gender":"b"}', "duplicate"),
        (b'{"resourceType":"Patient","name":[{"family":"\xff"}]}', "UTF-8"),
        (b"[" * 100000 + b"]" * 100000, "deeply"),
    ],
)
def test_hostile_json_is_400(fhir, body, fragment):
    response = fhir.post("Patient", data=body)
    assert response.status_code == 400
    assert fragment in _issue(response)["diagnostics"]


def test_resource_type_mismatch_is_422(fhir):
    response = fhir.post("Patient", data='{"resourceType":"Observation"}')
    assert response.status_code == 422
    issue = _issue(response)
    assert issue["expression"] == ["resourceType"]


def test_update_id_mismatch_is_422(fhir):
    response = fhir.put("Patient/abc", data='{"resourceType":"Patient","id":"xyz"}')
    assert response.status_code == 422
    assert _issue(response)["expression"] == ["Patient.id"]
    assert fhir.get("Patient/abc").status_code == 404


def test_update_without_id_is_400(fhir):
    response = fhir.put("Patient/abc", data='{"resourceType":"Patient"}')
    assert response.status_code == 400
    assert _issue(response)["code"] == "required"


def test_wrong_content_type_is_415(fhir):
    response = fhir.post("Patient", data="<Patient/>", headers={"Content-Type": "application/fhir+xml"})
    assert response.status_code == 415


def test_xml_format_is_406(fhir):
    response = fhir.get("metadata", params={"_format": "xml"})
    assert response.status_code == 406


def test_method_not_allowed_is_405(fhir):
    response = fhir.patch("metadata", data="{}")
    assert response.status_code == 405
    assert _issue(response)["code"] == "not-supported"


def test_body_too_large_is_413(fhir):
    big = '{"resourceType":"Patient","text":{"status":"generated","div":"' + "x" * (3 * 1024 * 1024) + '"}}'
    response = fhir.post("Patient", data=big)
    assert response.status_code == 413
    assert _issue(response)["code"] == "too-costly"


def test_invalid_id_in_url_is_rejected(fhir):
    response = fhir.put("Patient/bad$id", data='{"resourceType":"Patient","id":"bad$id"}')
    assert 400 <= response.status_code < 500


def test_nul_in_query_or_body_is_400(fhir):
    assert fhir.get("Patient", params={"name": "a\x00b"}).status_code == 400
    response = fhir.post("Patient", data='{"resourceType":"Patient","name":[{"family":"a\\u0000b"}]}')
    assert response.status_code == 400
    assert "NUL" in _issue(response)["diagnostics"]


@pytest.mark.parametrize("url", ["Patient/x/_history/²", "Patient/_history?_count=²", "Patient/x/_history?_offset=١"])
def test_unicode_digits_are_not_numbers(fhir, url):
    response = fhir.get(url)
    assert 400 <= response.status_code < 500
