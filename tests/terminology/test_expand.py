"""ValueSet/$expand over HTTP: enumerated, hierarchy filters, include.valueSet, paging, errors."""

from __future__ import annotations

from .conftest import params

LOCAL_LAB_VS = "https://fhirsrv.dev/ValueSet/local-lab"

TREE = {
    "resourceType": "CodeSystem", "id": "tx-expand-tree", "url": "http://example.org/cs/expand-tree",
    "version": "1", "status": "active", "content": "complete", "hierarchyMeaning": "is-a",
    "concept": [
        {"code": "vehicle", "display": "Vehicle", "concept": [
            {"code": "car", "display": "Car", "concept": [{"code": "taxi", "display": "Taxi"}]},
            {"code": "bike", "display": "Bicycle"}]},
        {"code": "house", "display": "House"}],
}
VEHICLES = {
    "resourceType": "ValueSet", "id": "tx-expand-vehicles", "url": "http://example.org/vs/vehicles",
    "status": "active",
    "compose": {"include": [{"system": TREE["url"], "filter": [
        {"property": "concept", "op": "is-a", "value": "vehicle"}]}],
        "exclude": [{"system": TREE["url"], "concept": [{"code": "bike"}]}]},
}
NESTED = {
    "resourceType": "ValueSet", "id": "tx-expand-nested", "url": "http://example.org/vs/nested",
    "status": "active",
    "compose": {"include": [{"valueSet": [VEHICLES["url"]]},
                            {"system": TREE["url"], "concept": [{"code": "house"}]}]},
}


def _codes(body):
    return [c["code"] for c in body["expansion"]["contains"]]


def test_expand_shipped_enumerated_whole_system(fhir):
    response = fhir.get("ValueSet/$expand", params={"url": LOCAL_LAB_VS})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resourceType"] == "ValueSet"
    assert body["expansion"]["total"] == 9
    assert _codes(body)[:2] == ["HB", "HBA1C"]


def test_expand_filter_count_offset(fhir):
    body = fhir.get("ValueSet/$expand", params={"url": LOCAL_LAB_VS, "filter": "cholesterol",
                                                "count": "1", "offset": "1"}).json()
    assert body["expansion"]["total"] == 3  # CHOL, LDL, HDL
    assert body["expansion"]["offset"] == 1
    assert _codes(body) == ["LDL"]


def test_expand_registry_valueset(fhir):
    body = fhir.get("ValueSet/$expand", params={
        "url": "http://hl7.org/fhir/ValueSet/administrative-gender"}).json()
    assert set(_codes(body)) == {"male", "female", "other", "unknown"}


def test_expand_stored_hierarchy_and_nested_valuesets(fhir):
    for resource in (TREE, VEHICLES, NESTED):
        response = fhir.put(f"{resource['resourceType']}/{resource['id']}", json=resource)
        assert response.status_code in (200, 201), response.text
    assert _codes(fhir.get("ValueSet/$expand", params={"url": VEHICLES["url"]}).json()) == ["vehicle", "car", "taxi"]
    assert _codes(fhir.get("ValueSet/tx-expand-nested/$expand").json()) == ["vehicle", "car", "taxi", "house"]


def test_expand_inline_valueset_by_post(fhir):
    vs = {"resourceType": "ValueSet", "status": "active", "compose": {"include": [{
        "system": "http://hl7.org/fhir/administrative-gender", "concept": [{"code": "male"}]}]}}
    body = {"resourceType": "Parameters", "parameter": [{"name": "valueSet", "resource": vs}]}
    response = fhir.post("ValueSet/$expand", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["expansion"]["contains"] == [
        {"system": "http://hl7.org/fhir/administrative-gender", "version": "4.0.1", "code": "male", "display": "Male"}]


def test_expand_snomed_filter_is_422(fhir):
    response = fhir.get("ValueSet/$expand", params={
        "url": "http://hl7.org/fhir/uv/ips/ValueSet/allergy-intolerance-uv-ips"})
    assert response.status_code == 422
    assert "snomed" in response.json()["issue"][0]["diagnostics"]


def test_expand_unknown_valueset_is_400(fhir):
    response = fhir.get("ValueSet/$expand", params={"url": "http://example.org/vs/none"})
    assert response.status_code == 400


def test_expand_without_url_is_400(fhir):
    assert fhir.get("ValueSet/$expand").status_code == 400


def test_expand_bad_count_is_400(fhir):
    response = fhir.get("ValueSet/$expand", params={"url": LOCAL_LAB_VS, "count": "-1"})
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["count"]


def test_expand_echoes_parameters(fhir):
    body = fhir.get("ValueSet/$expand", params={"url": LOCAL_LAB_VS, "count": "2"}).json()
    assert params({"parameter": body["expansion"]["parameter"]}) == {"count": 2}
