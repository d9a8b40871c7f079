"""CodeSystem/$lookup over HTTP (GET and POST)."""

from __future__ import annotations

from .conftest import IPS_ABSENT, LOCAL_LAB, params


def _issue(response):
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return body["issue"][0]


def test_lookup_get(fhir):
    response = fhir.get("CodeSystem/$lookup", params={"system": LOCAL_LAB, "code": "HB"})
    assert response.status_code == 200, response.text
    out = params(response.json())
    assert out["display"] == "Haemoglobin, blood"
    assert out["name"] == "LocalLabCodes" and out["version"] == "1.0.0"


def test_lookup_post_coding_with_hierarchy_properties(fhir):
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "coding", "valueCoding": {"system": IPS_ABSENT, "code": "no-known-allergies"}}]}
    out = params(fhir.post("CodeSystem/$lookup", json=body).json())
    props = out["property"] if isinstance(out["property"], list) else [out["property"]]
    children = {p["value"] for p in props if p["code"] == "child"}
    assert children == {"no-known-medication-allergies", "no-known-environmental-allergies",
                        "no-known-food-allergies"}
    designations = out["designation"] if isinstance(out["designation"], list) else [out["designation"]]
    assert any(d.get("language") == "it-IT" for d in designations)


def test_lookup_property_filter(fhir):
    out = params(fhir.get("CodeSystem/$lookup", params={
        "system": IPS_ABSENT, "code": "no-known-food-allergies", "property": "parent"}).json())
    assert out["property"] == {"code": "parent", "value": "no-known-allergies"}


def test_lookup_through_an_alias(fhir):
    """A KMEHR table name finds the Belgian core CodeSystem."""
    out = params(fhir.get("CodeSystem/$lookup", params={"system": "CD-CIVILSTATE", "code": "20"}).json())
    assert out["display"] == "Married"


def test_lookup_unrecognised_oid_is_400(fhir):
    response = fhir.get("CodeSystem/$lookup", params={"system": "urn:oid:1.2.3.4.5.6.7", "code": "male"})
    assert response.status_code == 400


def test_lookup_code_and_coding_is_400(fhir):
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "code", "valueCode": "HB"}, {"name": "system", "valueUri": LOCAL_LAB},
        {"name": "coding", "valueCoding": {"system": LOCAL_LAB, "code": "HB"}}]}
    response = fhir.post("CodeSystem/$lookup", json=body)
    assert response.status_code == 400
    assert "only one" in _issue(response)["diagnostics"]


def test_lookup_unknown_system_is_400(fhir):
    response = fhir.get("CodeSystem/$lookup", params={"system": "http://example.org/nope", "code": "x"})
    assert response.status_code == 400
    assert _issue(response)["code"] == "not-found"


def test_lookup_snomed_is_400_not_supported(fhir):
    response = fhir.get("CodeSystem/$lookup", params={"system": "http://snomed.info/sct", "code": "716186003"})
    assert response.status_code == 400
    assert _issue(response)["code"] == "not-supported"


def test_lookup_missing_system_is_400(fhir):
    response = fhir.get("CodeSystem/$lookup", params={"code": "HB"})
    assert response.status_code == 400


def test_lookup_unknown_code_is_404(fhir):
    response = fhir.get("CodeSystem/$lookup", params={"system": LOCAL_LAB, "code": "NOPE"})
    assert response.status_code == 404


def test_lookup_on_a_stored_codesystem_instance(fhir):
    cs = {"resourceType": "CodeSystem", "id": "tx-lookup-toy", "url": "http://example.org/cs/lookup-toy",
          "status": "active", "content": "complete",
          "concept": [{"code": "a", "display": "A", "definition": "the letter a"}]}
    assert fhir.put("CodeSystem/tx-lookup-toy", json=cs).status_code in (200, 201)
    out = params(fhir.get("CodeSystem/tx-lookup-toy/$lookup", params={"code": "a"}).json())
    assert out["display"] == "A"
    assert out["property"] == {"code": "definition", "value": "the letter a"}
    # and by URL, through the store
    out = params(fhir.get("CodeSystem/$lookup", params={"system": cs["url"], "code": "a"}).json())
    assert out["display"] == "A"
