"""ValueSet/$validate-code and CodeSystem/$validate-code over HTTP."""

from __future__ import annotations

from .conftest import LOCAL_LAB, params

GENDER_VS = "http://hl7.org/fhir/ValueSet/administrative-gender"
GENDER = "http://hl7.org/fhir/administrative-gender"


def test_valueset_validate_code_true(fhir):
    out = params(fhir.get("ValueSet/$validate-code", params={"url": GENDER_VS, "system": GENDER,
                                                             "code": "female"}).json())
    assert out["result"] is True and out["display"] == "Female"


def test_valueset_validate_code_false(fhir):
    out = params(fhir.get("ValueSet/$validate-code", params={"url": GENDER_VS, "system": GENDER,
                                                             "code": "f"}).json())
    assert out["result"] is False and "not in the value set" in out["message"]


def test_valueset_validate_codeable_concept_post(fhir):
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": GENDER_VS},
        {"name": "codeableConcept", "valueCodeableConcept": {"coding": [
            {"system": "http://example.org/other", "code": "x"}, {"system": GENDER, "code": "other"}]}}]}
    out = params(fhir.post("ValueSet/$validate-code", json=body).json())
    assert out["result"] is True


def test_valueset_validate_code_snomed_filter_cannot_check(fhir):
    out = params(fhir.get("ValueSet/$validate-code", params={
        "url": "http://hl7.org/fhir/uv/ips/ValueSet/allergy-intolerance-uv-ips",
        "system": "http://snomed.info/sct", "code": "716186003"}).json())
    assert out["result"] is False
    assert out["message"].startswith("unable to check")


def test_valueset_validate_code_wrong_display_is_valid_with_message(fhir):
    out = params(fhir.get("ValueSet/$validate-code", params={
        "url": GENDER_VS, "system": GENDER, "code": "male", "display": "Gentleman"}).json())
    assert out["result"] is True and "does not match" in out["message"]


def test_valueset_validate_code_code_and_coding_is_400(fhir):
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": GENDER_VS}, {"name": "code", "valueCode": "male"},
        {"name": "system", "valueUri": GENDER},
        {"name": "coding", "valueCoding": {"system": GENDER, "code": "male"}}]}
    response = fhir.post("ValueSet/$validate-code", json=body)
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_valueset_validate_code_unknown_valueset_is_400(fhir):
    response = fhir.get("ValueSet/$validate-code", params={"url": "http://example.org/vs/nope",
                                                           "system": GENDER, "code": "male"})
    assert response.status_code == 400


def test_valueset_validate_code_no_valueset_is_400(fhir):
    assert fhir.get("ValueSet/$validate-code", params={"system": GENDER, "code": "male"}).status_code == 400


def test_valueset_validate_code_on_stored_instance(fhir):
    vs = {"resourceType": "ValueSet", "id": "tx-vc-lab", "url": "http://example.org/vs/vc-lab", "status": "active",
          "compose": {"include": [{"system": LOCAL_LAB, "concept": [{"code": "HB"}]}]}}
    assert fhir.put("ValueSet/tx-vc-lab", json=vs).status_code in (200, 201)
    assert params(fhir.get("ValueSet/tx-vc-lab/$validate-code",
                           params={"system": LOCAL_LAB, "code": "HB"}).json())["result"] is True
    assert params(fhir.get("ValueSet/$validate-code",
                           params={"url": vs["url"], "system": LOCAL_LAB, "code": "TG"}).json())["result"] is False


def test_codesystem_validate_code(fhir):
    assert params(fhir.get("CodeSystem/$validate-code",
                           params={"url": LOCAL_LAB, "code": "CREA"}).json())["result"] is True
    out = params(fhir.get("CodeSystem/$validate-code", params={"url": LOCAL_LAB, "code": "XYZ"}).json())
    assert out["result"] is False and "not a code" in out["message"]


def test_codesystem_validate_code_coding_post(fhir):
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "coding", "valueCoding": {"system": GENDER, "code": "unknown"}}]}
    assert params(fhir.post("CodeSystem/$validate-code", json=body).json())["result"] is True


def test_codesystem_validate_code_unknown_system_is_400(fhir):
    response = fhir.get("CodeSystem/$validate-code", params={"url": "http://example.org/cs/nope", "code": "x"})
    assert response.status_code == 400
    assert response.json()["issue"][0]["code"] == "not-found"


def test_codesystem_validate_code_code_and_coding_is_400(fhir):
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": LOCAL_LAB}, {"name": "code", "valueCode": "HB"},
        {"name": "coding", "valueCoding": {"system": LOCAL_LAB, "code": "HB"}}]}
    assert fhir.post("CodeSystem/$validate-code", json=body).status_code == 400


def test_validate_code_is_in_the_capability_statement(fhir):
    statement = fhir.get("metadata").json()
    by_type = {r["type"]: {o["name"] for o in r.get("operation", [])} for r in statement["rest"][0]["resource"]}
    assert {"validate-code", "lookup"} <= by_type["CodeSystem"]
    assert {"validate-code", "expand"} <= by_type["ValueSet"]
    assert "translate" in by_type["ConceptMap"]


ABSTRACT_CS = {"resourceType": "CodeSystem", "id": "tx-vc-abstract", "url": "http://example.org/cs/vc-abstract",
               "status": "active", "content": "complete",
               "property": [{"code": "notSelectable", "type": "boolean"}, {"code": "status", "type": "code"}],
               "concept": [{"code": "group", "property": [{"code": "notSelectable", "valueBoolean": True}],
                            "concept": [{"code": "leaf"}]},
                           {"code": "old", "property": [{"code": "status", "valueCode": "retired"}]}]}
ABSTRACT_VS = {"resourceType": "ValueSet", "id": "tx-vc-abstract", "url": "http://example.org/vs/vc-abstract",
               "status": "active", "compose": {"include": [{"system": ABSTRACT_CS["url"]}]}}


def test_abstract_concepts_need_abstract_true_and_active_only_expansion(fhir):
    for resource in (ABSTRACT_CS, ABSTRACT_VS):
        assert fhir.put(f"{resource['resourceType']}/{resource['id']}", json=resource).status_code in (200, 201)
    query = {"url": ABSTRACT_VS["url"], "system": ABSTRACT_CS["url"], "code": "group"}
    out = params(fhir.get("ValueSet/$validate-code", params=query).json())
    assert out["result"] is False and "abstract" in out["message"]
    assert params(fhir.get("ValueSet/$validate-code", params={**query, "abstract": "true"}).json())["result"] is True
    body = fhir.get("ValueSet/$expand", params={"url": ABSTRACT_VS["url"], "activeOnly": "true"}).json()
    assert [(c["code"], c.get("abstract")) for c in body["expansion"]["contains"]] == [("group", True), ("leaf", None)]


def test_valueset_validate_code_unknown_system_says_so(fhir):
    out = params(fhir.get("ValueSet/$validate-code", params={"url": GENDER_VS, "system": "http://example.org/typo",
                                                             "code": "male"}).json())
    assert out["result"] is False and "not known to this server" in out["message"]
