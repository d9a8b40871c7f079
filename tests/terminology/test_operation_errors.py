"""Bad input to every terminology operation is a 400 (or 404/422 where the spec says so)
OperationOutcome with the exact issue ``code`` and the ``expression`` naming the parameter —
for GET queries and for POSTed Parameters alike."""

from __future__ import annotations

import pytest

from .conftest import ATC, LOCAL_LAB

LOCAL_LAB_VS = "https://fhirsrv.dev/ValueSet/local-lab"
SNOMED = "http://snomed.info/sct"

# (operation path, GET query, status, issue code, expression)
GET_CASES = [
    ("CodeSystem/$lookup", {"code": "HB"}, 400, "required", ["system"]),
    ("CodeSystem/$lookup", {"system": "http://example.org/nope", "code": "x"}, 400, "not-found", ["system"]),
    ("CodeSystem/$lookup", {"system": "urn:oid:1.2.3.4.5.6.7", "code": "x"}, 400, "not-found", ["system"]),
    ("CodeSystem/$lookup", {"system": SNOMED, "code": "716186003"}, 400, "not-supported", ["system"]),
    ("CodeSystem/$lookup", {"system": LOCAL_LAB}, 400, "required", ["code"]),
    ("CodeSystem/$lookup", {"system": LOCAL_LAB, "code": "NOPE"}, 404, "not-found", ["code"]),
    ("ValueSet/$expand", {}, 400, "required", ["url"]),
    ("ValueSet/$expand", {"url": "http://example.org/vs/none"}, 400, "not-found", ["url"]),
    ("ValueSet/$expand", {"url": LOCAL_LAB_VS, "count": "-1"}, 400, "invalid", ["count"]),
    ("ValueSet/$expand", {"url": LOCAL_LAB_VS, "offset": "x"}, 400, "invalid", ["offset"]),
    ("ValueSet/$validate-code", {"code": "HB", "system": LOCAL_LAB}, 400, "required", ["url"]),
    ("ValueSet/$validate-code", {"url": "http://example.org/vs/none", "code": "HB"}, 400, "not-found", ["url"]),
    ("ValueSet/$validate-code", {"url": LOCAL_LAB_VS}, 400, "required", ["code"]),
    ("ValueSet/$validate-code", {"url": LOCAL_LAB_VS, "code": "HB", "abstract": "perhaps"}, 400, "invalid",
     ["abstract"]),
    ("CodeSystem/$validate-code", {"url": "http://example.org/nope", "code": "x"}, 400, "not-found", ["system"]),
    ("CodeSystem/$validate-code", {"code": "x"}, 400, "required", ["system"]),
    ("ConceptMap/$translate", {"system": "http://example.org/never-heard-of", "code": "x"}, 400, "not-found",
     ["system"]),
    ("ConceptMap/$translate", {"code": "J07CA02"}, 400, "required", ["system"]),
    ("ConceptMap/$translate", {"system": ATC}, 400, "required", ["code"]),
    ("ConceptMap/$translate", {"system": ATC, "code": "J07CA02", "reverse": "maybe"}, 400, "invalid", ["reverse"]),
    ("ConceptMap/$translate", {"url": "http://example.org/cm/none", "system": ATC, "code": "J07CA02"}, 400,
     "not-found", ["url"]),
]


@pytest.mark.parametrize(("path", "query", "status", "code", "expression"), GET_CASES,
                         ids=[f"{c[0]}-{'-'.join(c[1])}-{c[3]}" for c in GET_CASES])
def test_bad_get_parameters(fhir, path, query, status, code, expression):
    response = fhir.get(path, params=query)
    assert response.status_code == status, response.text
    issue = response.json()["issue"][0]
    assert (issue["severity"], issue["code"], issue.get("expression")) == ("error", code, expression)


BOTH = [{"name": "code", "valueCode": "HB"}, {"name": "system", "valueUri": LOCAL_LAB},
        {"name": "coding", "valueCoding": {"system": LOCAL_LAB, "code": "HB"}}]
POST_CASES = [
    ("CodeSystem/$lookup", BOTH, ["code", "coding"]),
    ("CodeSystem/$validate-code", [{"name": "url", "valueUri": LOCAL_LAB}, *BOTH], ["code", "coding"]),
    ("ValueSet/$validate-code", [{"name": "url", "valueUri": LOCAL_LAB_VS}, *BOTH], ["code", "coding"]),
    ("ConceptMap/$translate", BOTH, ["code", "coding"]),
    ("ConceptMap/$translate", [{"name": "coding", "valueCoding": {"code": "J07CA02"}}], ["coding"]),
    ("ValueSet/$validate-code", [{"name": "valueSet", "resource": {"resourceType": "CodeSystem"}},
                                 {"name": "code", "valueCode": "HB"}], ["valueSet"]),
    ("ConceptMap/$translate", [{"name": "codeableConcept", "valueCodeableConcept": {"text": "no coding"}}],
     ["codeableConcept"]),
]


@pytest.mark.parametrize(("path", "parameters", "expression"), POST_CASES,
                         ids=[f"{c[0]}-{'-'.join(c[2])}" for c in POST_CASES])
def test_bad_posted_parameters(fhir, path, parameters, expression):
    response = fhir.post(path, json={"resourceType": "Parameters", "parameter": parameters})
    assert response.status_code == 400, response.text
    issue = response.json()["issue"][0]
    assert issue["code"] in ("invalid", "required")
    assert issue.get("expression") == expression


def test_parameters_that_are_not_a_list_are_400(fhir):
    response = fhir.post("ConceptMap/$translate", json={"resourceType": "Parameters", "parameter": {"name": "x"}})
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["Parameters.parameter"]
