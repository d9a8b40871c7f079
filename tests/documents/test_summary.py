"""$summary and $document through HTTP against the real Postgres."""

from __future__ import annotations

import json
import uuid

import pytest

from .document_checks import check_document, entry_resources, section
from .examples import SSIN, document_bundles, example, fresh, unique_ssin
from .test_summary_validates import summary_errors

IPS = "http://hl7.org/fhir/uv/ips/StructureDefinition/"
PROBLEMS, ALLERGIES, MEDICATIONS = "11450-4", "48765-2", "10160-0"


@pytest.fixture()
def ingested(post_document):
    posted = post_document(fresh(example("2.0.0", "Bundle/IPS-examples-Bundle-01"), patient_value=unique_ssin()))
    assert posted.status == 201
    return posted


def test_get_and_post_give_a_valid_document(fhir, ingested):
    got = fhir.get(f"{ingested.patient}/$summary")
    posted = fhir.post(f"{ingested.patient}/$summary",
                       data=json.dumps({"resourceType": "Parameters", "parameter": []}))
    for response in (got, posted):
        assert response.status_code == 200, response.text
        bundle = response.json()
        composition = check_document(bundle)
        assert composition["type"]["coding"][0]["code"] == "60591-5"
        assert bundle["entry"][1]["fullUrl"].endswith(ingested.patient)
        assert composition["subject"]["reference"] == bundle["entry"][1]["fullUrl"]
        by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
        assert by_url[composition["author"][0]["reference"]]["resourceType"] == "Device"
        assert by_url[composition["custodian"]["reference"]]["resourceType"] == "Organization"
        assert composition["meta"]["profile"] == [IPS + "Composition-uv-ips|2.0.0"]
        for code in (PROBLEMS, ALLERGIES, MEDICATIONS):
            assert section(composition, code) is not None
    assert got.json()["identifier"] != posted.json()["identifier"]  # a fresh document each time


def test_type_level_needs_an_identifier(fhir, ingested):
    missing = fhir.get("Patient/$summary")
    assert missing.status_code == 400
    assert missing.json()["issue"][0]["expression"] == ["identifier"]
    ssin = fhir.get(ingested.patient).json()["identifier"][0]["value"]
    found = fhir.get("Patient/$summary", params={"identifier": f"{SSIN}|{ssin}"})
    assert found.status_code == 200
    assert found.json()["entry"][1]["fullUrl"].endswith(ingested.patient)
    by_parameters = fhir.post("Patient/$summary", data=json.dumps({"resourceType": "Parameters", "parameter": [
        {"name": "identifier", "valueIdentifier": {"system": SSIN, "value": ssin}}]}))
    assert by_parameters.status_code == 200
    assert fhir.get("Patient/$summary", params={"identifier": f"{SSIN}|00000000000x"}).status_code == 404
    assert fhir.get("Patient/$summary", params={"identifier": "no-bar"}).status_code == 400
    assert fhir.get("Patient/does-not-exist/$summary").status_code == 404


def test_ips_1_1_profile_never_uses_empty_reason(fhir, post_document):
    posted = post_document(fresh(example("2.0.0", "Bundle/bundle-no-info-required-sections"),
                                 patient_value=unique_ssin()))
    v2 = fhir.get(f"{posted.patient}/$summary").json()
    composition = check_document(v2)
    for code in (PROBLEMS, ALLERGIES, MEDICATIONS):
        assert section(composition, code)["emptyReason"]["coding"][0]["code"] == "unavailable"
    v1 = fhir.get(f"{posted.patient}/$summary", params={"profile": IPS + "Composition-uv-ips|1.1.0"}).json()
    composition = check_document(v1)
    assert composition["meta"]["profile"] == [IPS + "Composition-uv-ips|1.1.0"]
    assert v1["meta"]["profile"] == [IPS + "Bundle-uv-ips|1.1.0"]
    for code, expected in ((PROBLEMS, "no-problem-info"), (ALLERGIES, "no-allergy-info"),
                           (MEDICATIONS, "no-medication-info")):
        sec = section(composition, code)
        assert "emptyReason" not in sec
        [resource] = entry_resources(v1, sec)
        coding = (resource.get("code") or resource.get("medicationCodeableConcept"))["coding"][0]
        assert coding["code"] == expected


def test_1_1_no_information_resources_become_empty_reason_in_2_0(fhir, post_document):
    posted = post_document(fresh(example("1.1.0", "Bundle/bundle-no-info-required-sections"),
                                 patient_value=unique_ssin()))
    composition = check_document(fhir.get(f"{posted.patient}/$summary").json())
    assert section(composition, ALLERGIES)["emptyReason"]["coding"][0]["code"] == "unavailable"
    v1 = fhir.get(f"{posted.patient}/$summary", params={"profile": "ips-1.1"}).json()
    assert entry_resources(v1, section(check_document(v1), ALLERGIES))[0]["code"]["coding"][0]["code"] == \
        "no-allergy-info"


def test_unknown_profile_is_400(fhir, ingested):
    response = fhir.get(f"{ingested.patient}/$summary", params={"profile": "http://example.org/x"})
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["profile"]


def _create(fhir, resource: dict) -> str:
    response = fhir.post(resource["resourceType"], data=json.dumps(resource))
    assert response.status_code == 201, response.text
    return f"{resource['resourceType']}/{response.json()['id']}"


def _coded(text: str) -> dict:
    return {"coding": [{"system": "http://snomed.info/sct", "code": str(abs(hash(text)) % 10**8)}], "text": text}


def _status(system: str, code: str) -> dict:
    return {"coding": [{"system": f"http://terminology.hl7.org/CodeSystem/{system}", "code": code}]}


@pytest.fixture()
def patient_with_data(fhir):
    pid = _create(fhir, {"resourceType": "Patient", "identifier": [{"system": SSIN, "value": unique_ssin()}],
                         "name": [{"family": "Janssens", "given": ["Lotte"]}], "birthDate": "1970-01-01"})
    subject = {"reference": pid}
    made: dict[str, list[str]] = {"allergy": [], "problem": [], "past": [], "medication": [], "excluded": []}
    made["allergy"].append(_create(fhir, {"resourceType": "AllergyIntolerance", "patient": subject,
                                          "clinicalStatus": _status("allergyintolerance-clinical", "active"),
                                          "code": _coded("<script>alert('x')</script> & peanuts")}))
    made["allergy"].append(_create(fhir, {"resourceType": "AllergyIntolerance", "patient": subject,
                                          "clinicalStatus": _status("allergyintolerance-clinical", "resolved"),
                                          "code": _coded("latex")}))
    made["excluded"].append(_create(fhir, {"resourceType": "AllergyIntolerance", "patient": subject,
                                           "clinicalStatus": _status("allergyintolerance-clinical", "inactive"),
                                           "verificationStatus": _status("allergyintolerance-verification", "refuted"),
                                           "code": _coded("penicillin (refuted)")}))
    for status, bucket in (("active", "problem"), ("recurrence", "problem"), ("resolved", "past")):
        made[bucket].append(_create(fhir, {"resourceType": "Condition", "subject": subject,
                                           "clinicalStatus": _status("condition-clinical", status),
                                           "code": _coded(f"condition {status}")}))
    made["excluded"].append(_create(fhir, {"resourceType": "Condition", "subject": subject,
                                           "verificationStatus": _status("condition-ver-status", "entered-in-error"),
                                           "code": _coded("mistake")}))
    medication = _create(fhir, {"resourceType": "Medication", "code": _coded("anastrozole 1 mg")})
    for status, bucket in (("active", "medication"), ("on-hold", "medication"), ("stopped", "excluded"),
                           ("completed", "excluded")):
        made[bucket].append(_create(fhir, {"resourceType": "MedicationStatement", "status": status, "subject": subject,
                                           "medicationReference": {"reference": medication},
                                           "effectiveDateTime": "2024-01-01"}))
    made["medication"].append(_create(fhir, {"resourceType": "MedicationRequest", "status": "active",
                                             "intent": "order", "subject": subject,
                                             "medicationCodeableConcept": _coded("metformin"),
                                             "authoredOn": "2024-02-01"}))
    made["excluded"].append(_create(fhir, {"resourceType": "MedicationRequest", "status": "cancelled",
                                           "intent": "order", "subject": subject,
                                           "medicationCodeableConcept": _coded("cancelled drug")}))
    for value, when in (("7.50", "2024-01-01"), ("6.90", "2024-05-01")):
        text = ('{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":'
                '"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],'
                '"code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}],"text":"HbA1c"},'
                f'"subject":{{"reference":"{pid}"}},"effectiveDateTime":"{when}",'
                f'"valueQuantity":{{"value":{value},"unit":"%"}}}}')
        response = fhir.post("Observation", data=text)
        assert response.status_code == 201
        made.setdefault("results", []).append(f"Observation/{response.json()['id']}")
    made["medication_resource"] = [medication]
    return pid, made


def _ids(resources: list[dict]) -> set[str]:
    return {f"{r['resourceType']}/{r['id']}" for r in resources}


def test_sections_match_the_stored_data(fhir, patient_with_data):
    pid, made = patient_with_data
    response = fhir.get(f"{pid}/$summary")
    bundle = response.json()
    composition = check_document(bundle)
    assert _ids(entry_resources(bundle, section(composition, ALLERGIES))) == set(made["allergy"])
    assert _ids(entry_resources(bundle, section(composition, MEDICATIONS))) == set(made["medication"])
    in_bundle = _ids([e["resource"] for e in bundle["entry"]])
    assert not (set(made["excluded"]) & in_bundle), set(made["excluded"]) & in_bundle
    assert made["medication_resource"][0] in in_bundle  # referenced by the statements
    [latest] = entry_resources(bundle, section(composition, "30954-2"))
    assert f"Observation/{latest['id']}" == made["results"][1]  # the latest HbA1c only
    assert '"value":6.90' in response.text.replace(" ", "")  # stored text spliced in, decimals as sent
    meds_div = section(composition, MEDICATIONS)["text"]["div"]
    assert "anastrozole 1 mg" in meds_div and "metformin" in meds_div


@pytest.mark.parametrize("version", ["2.0.0", "1.1.0"])
def test_summary_of_data_written_resource_by_resource_validates(fhir, patient_with_data, version):
    pid, _ = patient_with_data
    errors = summary_errors(fhir, pid, version)
    assert not errors, errors


def test_problem_sections_match_the_stored_conditions(fhir, patient_with_data):
    pid, made = patient_with_data
    bundle = fhir.get(f"{pid}/$summary").json()
    composition = check_document(bundle)
    assert _ids(entry_resources(bundle, section(composition, PROBLEMS))) == set(made["problem"])
    assert _ids(entry_resources(bundle, section(composition, "11348-0"))) == set(made["past"])


def test_narrative_escapes_the_data(fhir, patient_with_data):
    pid, _ = patient_with_data
    composition = check_document(fhir.get(f"{pid}/$summary").json())
    div = section(composition, ALLERGIES)["text"]["div"]
    assert "<script>" not in div
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; peanuts" in div


def test_every_example_patient_gives_a_document(fhir, post_document):
    for version in ("2.0.0", "1.1.0"):
        for key in document_bundles(version):
            posted = post_document(fresh(example(version, key), patient_value=unique_ssin()))
            for profile in ("ips", "ips-1.1"):
                response = fhir.get(f"{posted.patient}/$summary", params={"profile": profile})
                assert response.status_code == 200, (key, profile, response.text)
                check_document(response.json())


def test_composition_document_assembles_the_stored_composition(fhir, ingested):
    response = fhir.get(f"{ingested.composition}/$document")
    assert response.status_code == 200, response.text
    bundle = response.json()
    composition = check_document(bundle, generated=False)
    assert f"Composition/{composition['id']}" == ingested.composition
    assert bundle["entry"][0]["fullUrl"].endswith(ingested.composition)
    assert fhir.get(f"{ingested.composition}/$document", params={"persist": "true"}).status_code == 400
    assert fhir.get(f"Composition/{uuid.uuid4()}/$document").status_code == 404


def test_capability_statement_declares_the_operations(fhir):
    statement = fhir.get("metadata").json()
    declared = {op["name"]: op["definition"] for r in statement["rest"][0]["resource"]
                for op in r.get("operation", [])}
    assert declared.get("summary") == "http://hl7.org/fhir/uv/ips/OperationDefinition/summary"
    assert declared.get("document") == "http://hl7.org/fhir/OperationDefinition/Composition-document"


def test_resources_the_caller_may_not_see_are_left_out(app, patient_with_data):
    from fhirsrv import fhirjson
    from fhirsrv.documents.ips_builder import build_summary
    from fhirsrv.documents.profiles import resolve

    pid, _ = patient_with_data
    svc = app.extensions["fhirsrv"]
    with svc.transaction() as cur:
        built = build_summary(cur, svc.registry, pid.split("/")[1], resolve("ips", svc.registry)[0],
                              "http://example.org/fhir", admit=lambda rtype, _: rtype != "AllergyIntolerance")
    bundle = fhirjson.loads(fhirjson.dumps(built))
    composition = check_document(bundle)
    assert section(composition, ALLERGIES)["emptyReason"]["coding"][0]["code"] == "unavailable"
    assert not [e for e in bundle["entry"] if e["resource"]["resourceType"] == "AllergyIntolerance"]
