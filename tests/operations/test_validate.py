"""$validate through HTTP: always 200 with an OperationOutcome, located issues, modes and profiles."""

from __future__ import annotations

import json

import pytest

from fhirsrv.config import Settings
from fhirsrv.conformance.packages import load_npm_package


def _issues(response, severity=("error", "fatal")):
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return [i for i in body["issue"] if i["severity"] in severity]


def test_valid_resource_has_no_errors_and_says_so(fhir):
    response = fhir.post("Patient/$validate", data='{"resourceType":"Patient","gender":"female"}')
    assert _issues(response) == []
    assert any(i["severity"] == "information" or i["severity"] == "warning" for i in response.json()["issue"])


def test_invalid_resource_is_200_with_the_located_issue(fhir):
    response = fhir.post("Patient/$validate", data='{"resourceType":"Patient","gender":"yes","birthDate":"1980-13-01"}')
    errors = _issues(response)
    expressions = {e for i in errors for e in i.get("expression", [])}
    assert "Patient.gender" in expressions
    assert "Patient.birthDate" in expressions
    assert fhir.get("Patient", params={"birthdate": "1980"}).json().get("total", 0) == 0  # nothing stored


def test_parameters_body_with_profile_alias(fhir):
    ips = load_npm_package(Settings().profiles_dir / "hl7.fhir.uv.ips-2.0.0.tgz", with_examples=True)
    bundle = next(e for e in ips.examples if e.get("resourceType") == "Bundle" and e.get("type") == "document")
    params = {"resourceType": "Parameters", "parameter": [
        {"name": "resource", "resource": bundle}, {"name": "profile", "valueString": "ips"}]}
    assert _issues(fhir.post("Bundle/$validate", data=json.dumps(params))) == []
    broken = dict(bundle, entry=bundle["entry"][1:])  # no Composition first
    errors = _issues(fhir.post("Bundle/$validate", data=json.dumps(
        {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": broken},
                                                     {"name": "profile", "valueString": "ips"}]})))
    assert errors


@pytest.mark.parametrize("profile", ["no-such-alias", "http://example.org/StructureDefinition/unknown"])
def test_unknown_profile_is_400(fhir, profile):
    response = fhir.post(f"Patient/$validate?profile={profile}", data='{"resourceType":"Patient"}')
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["profile"]


def test_instance_level_modes(fhir):
    rid = fhir.post("Patient", data='{"resourceType":"Patient","gender":"male"}').json()["id"]
    assert _issues(fhir.get(f"Patient/{rid}/$validate")) == []
    mismatch = fhir.post(f"Patient/{rid}/$validate?mode=update", data='{"resourceType":"Patient","id":"other"}')
    assert mismatch.status_code == 400
    delete = fhir.post(f"Patient/{rid}/$validate?mode=delete")
    assert delete.status_code == 200
    assert fhir.post("Patient/nope/$validate?mode=delete").status_code == 404
    assert fhir.post("Patient/$validate?mode=sideways", data='{"resourceType":"Patient"}').status_code == 400


def test_type_mismatch_is_400(fhir):
    response = fhir.post("Patient/$validate", data='{"resourceType":"Observation"}')
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("operation", "parameter", "expression"),
    [
        ("Patient/$validate", {"name": "mode", "valueCode": ["create"]}, "Parameters.parameter[0].valueCode"),
        ("Patient/$validate", {"name": "resource", "resource": ["Patient"]}, "Parameters.parameter[0].resource"),
        ("ValueSet/$expand", {"name": "count", "valueInteger": "10"}, "Parameters.parameter[0].valueInteger"),
        ("CodeSystem/$lookup", {"name": "coding", "valueCoding": "http://loinc.org|8867-4"},
         "Parameters.parameter[0].valueCoding"),
        ("ConceptMap/$translate", {"name": "reverse", "valueBoolean": "true"}, "Parameters.parameter[0].valueBoolean"),
        ("ConceptMap/$translate", {"name": "dependency", "part": [{"name": "element", "valueUri": 3}]},
         "Parameters.parameter[0].part[0].valueUri"),
    ],
    ids=["code-as-array", "resource-as-array", "integer-as-string", "coding-as-string", "boolean-as-string",
         "part-value"],
)
def test_parameter_value_of_the_wrong_json_type_is_400(fhir, operation, parameter, expression):
    response = fhir.post(operation, data=json.dumps({"resourceType": "Parameters", "parameter": [parameter]}))
    assert response.status_code == 400, response.text
    [issue] = response.json()["issue"]
    assert (issue["code"], issue["expression"]) == ("structure", [expression])


def test_mode_given_as_another_type_is_400(fhir):
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "mode", "valueCodeableConcept": {"text": "create"}},
        {"name": "resource", "resource": {"resourceType": "Patient"}}]}
    response = fhir.post("Patient/$validate", data=json.dumps(body))
    assert response.status_code == 400, response.text
    assert response.json()["issue"][0]["expression"] == ["mode"]
