"""``$translate`` with ``dependency`` (R4): a target with ``dependsOn`` applies only when the
caller gives that element that value. The map says which LOINC glucose code a local lab code
means, depending on the specimen (SNOMED CT 119364003 serum, 119297000 blood)."""

from __future__ import annotations

import pytest

from .conftest import LOINC, SNOMED, matches, params

LAB = "https://fhirsrv.dev/test/CodeSystem/lab-dependency"
SPECIMEN_TYPE = "http://hl7.org/fhir/StructureDefinition/Specimen#Specimen.type"
MAP = {
    "resourceType": "ConceptMap", "id": "tx-dependency", "url": "https://fhirsrv.dev/test/ConceptMap/lab-dependency",
    "status": "active",
    "group": [{"source": LAB, "target": LOINC, "element": [
        {"code": "GLU", "target": [
            {"code": "2345-7", "equivalence": "equivalent",
             "dependsOn": [{"property": SPECIMEN_TYPE, "system": SNOMED, "value": "119364003"}]},
            {"code": "2339-0", "equivalence": "equivalent",
             "dependsOn": [{"property": SPECIMEN_TYPE, "system": SNOMED, "value": "119297000"}]}]},
        {"code": "HBA1C", "target": [{"code": "4548-4", "equivalence": "equivalent"}]}]}],
}


@pytest.fixture(scope="module", autouse=True)
def stored_map(base_url):
    from tests.conftest import FhirClient

    with FhirClient(base_url) as client:
        assert client.put("ConceptMap/tx-dependency", json=MAP).status_code in (200, 201)


def _translate(fhir, code: str, *dependency_parts: list[dict]) -> dict:
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": MAP["url"]}, {"name": "system", "valueUri": LAB}, {"name": "code", "valueCode": code}]
        + [{"name": "dependency", "part": parts} for parts in dependency_parts]}
    response = fhir.post("ConceptMap/$translate", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _specimen(code: str, *, as_coding: bool = False) -> list[dict]:
    coding = {"system": SNOMED, "code": code}
    concept = {"name": "concept", "valueCoding": coding} if as_coding else {
        "name": "concept", "valueCodeableConcept": {"coding": [coding]}}
    return [{"name": "element", "valueUri": SPECIMEN_TYPE}, concept]


def test_the_dependency_selects_the_target(fhir):
    serum = _translate(fhir, "GLU", _specimen("119364003"))
    assert params(serum)["result"] is True
    assert [m["concept"]["code"] for m in matches(serum)] == ["2345-7"]
    blood = _translate(fhir, "GLU", _specimen("119297000", as_coding=True))
    assert [m["concept"]["code"] for m in matches(blood)] == ["2339-0"]


def test_without_the_dependency_no_target_applies(fhir):
    out = params(_translate(fhir, "GLU"))
    assert out["result"] is False and "match" not in out
    assert SPECIMEN_TYPE in out["message"]
    other_value = params(_translate(fhir, "GLU", _specimen("122555007")))  # venous blood specimen
    assert other_value["result"] is False


def test_targets_without_depends_on_ignore_dependencies(fhir):
    out = _translate(fhir, "HBA1C", _specimen("119364003"))
    assert [m["concept"]["code"] for m in matches(out)] == ["4548-4"]


@pytest.mark.parametrize(("parts", "expression"), [
    ([{"name": "concept", "valueCoding": {"system": SNOMED, "code": "119364003"}}], "dependency[0]"),
    ([{"name": "element", "valueUri": SPECIMEN_TYPE}], "dependency[0]"),
    ([{"name": "element", "valueUri": SPECIMEN_TYPE}, {"name": "concept", "valueCodeableConcept": {"text": "serum"}}],
     "dependency[0].concept"),
])
def test_malformed_dependency_is_400(fhir, parts, expression):
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "system", "valueUri": LAB}, {"name": "code", "valueCode": "GLU"}, {"name": "dependency", "part": parts}]}
    response = fhir.post("ConceptMap/$translate", json=body)
    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert (issue["code"], issue["expression"]) == ("invalid", [expression])


def test_dependency_in_a_get_is_400(fhir):
    response = fhir.get("ConceptMap/$translate", params={"system": LAB, "code": "GLU", "dependency": "x"})
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["dependency[0]"]
