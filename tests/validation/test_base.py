"""Base R4 structure: each rule, with the exact issue code, message id and expression."""

from __future__ import annotations

from pathlib import Path

import pytest

from fhirsrv import fhirjson
from fhirsrv.validation import MESSAGE_SYSTEM, has_errors, validate_base

from .helpers import describe, errors, find


def patient(**extra):
    base = {"resourceType": "Patient", "id": "p1", "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'}}
    base.update(extra)
    return base


def only_error(validator, resource, message_id, expression, code):
    found = errors(validator.issues(resource))
    assert len(found) == 1, describe(found)
    issue = found[0]
    assert (issue.message_id, issue.expression, issue.code) == (message_id, expression, code), describe(found)
    return issue


def test_valid_patient_has_no_issues(validator):
    resource = patient(name=[{"family": "Peeters", "given": ["Jan", "Piet"]}], birthDate="1970-05-01", gender="male", active=True)
    assert validator.issues(resource) == []
    outcome = validate_base(resource)
    assert not has_errors(outcome)
    assert outcome["issue"][0]["details"]["coding"][0] == {"system": MESSAGE_SYSTEM, "code": "all-ok"}


def test_unknown_element(validator):
    issue = only_error(validator, patient(nmae=[{"family": "x"}]), "unknown-element", "Patient.nmae", "structure")
    assert "nmae" in issue.diagnostics


def test_unknown_element_nested(validator):
    only_error(validator, patient(name=[{"famly": "x"}]), "unknown-element", "Patient.name[0].famly", "structure")


def test_wrong_json_type(validator):
    only_error(validator, patient(active="true"), "json-type", "Patient.active", "structure")


def test_decimal_as_string_is_an_error(validator):
    obs = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueQuantity": {"value": "1.5"}}
    only_error(validator, obs, "json-type", "Observation.valueQuantity.value", "structure")


def test_decimal_keeps_precision(validator):
    obs = fhirjson.loads('{"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueQuantity": {"value": 132.50}}')
    assert errors(validator.issues(obs)) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("birthDate", "1970-13-01"), ("birthDate", "2021-02-30"), ("birthDate", "70-01-01"), ("birthDate", "1970-01-01T10:00:00Z")],
)
def test_bad_date(validator, field, value):
    issue = only_error(validator, patient(**{field: value}), "primitive-format", f"Patient.{field}", "value")
    assert value in issue.diagnostics


@pytest.mark.parametrize(
    ("resource", "expression"),
    [
        ({"resourceType": "Patient", "id": "bad id!"}, "Patient.id"),
        ({"resourceType": "Patient", "gender": "male "}, "Patient.gender"),
        ({"resourceType": "Patient", "multipleBirthInteger": 2**31}, "Patient.multipleBirthInteger"),
        ({"resourceType": "Patient", "photo": [{"data": "not base64!"}]}, "Patient.photo[0].data"),
        ({"resourceType": "Patient", "meta": {"lastUpdated": "2020-01-01"}}, "Patient.meta.lastUpdated"),
    ],
)
def test_primitive_formats(validator, resource, expression):
    found = find(validator.issues(resource), "primitive-format", expression)
    assert found and found[0].code == "value", describe(validator.issues(resource))


def test_empty_string_object_and_array(validator):
    issues = validator.issues(patient(name=[{}], telecom=[], gender=""))
    assert find(issues, "empty-element", "Patient.name[0]")
    assert find(issues, "empty-array", "Patient.telecom")
    assert find(issues, "primitive-format", "Patient.gender")


def test_resource_type_missing_and_unknown(validator):
    assert find(validator.issues({"id": "x"}), "resource-type-missing", "$this")
    assert find(validator.issues({"resourceType": "Patiënt"}), "resource-type-unknown", "Patiënt")


def test_array_shape(validator):
    issues = validator.issues(patient(name={"family": "x"}, gender=["male"]))
    assert find(issues, "json-array-expected", "Patient.name")
    assert find(issues, "json-array-unexpected", "Patient.gender")


def test_primitive_extensions_with_nulls(validator):
    ext = {"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}
    resource = patient(name=[{"given": ["Jan", None], "_given": [None, {"extension": [ext]}]}], _birthDate={"extension": [ext]})
    assert errors(validator.issues(resource)) == [], describe(validator.issues(resource))


def test_primitive_extension_problems(validator):
    issues = validator.issues(patient(name=[{"given": ["Jan", None], "_given": [None, None]}], _name={"id": "x"}))
    assert find(issues, "null-value", "Patient.name[0].given[1]")
    assert find(issues, "unknown-element", "Patient._name")


def test_null_and_extension_only_values_single_and_repeating(validator):
    # walk_property judges a single value as a one-item array at its own path: the same
    # null check, reported at the property (no index) for a single value
    ext = {"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}
    issues = validator.issues(patient(gender=None, name=[{"given": [None], "_given": [None, {"extension": [ext]}]}]))
    assert [(i.message_id, i.expression, i.code) for i in errors(issues)] == [
        ("null-value", "Patient.gender", "structure"),
        ("primitive-extension-mismatch", "Patient.name[0].given", "structure"),
        ("null-value", "Patient.name[0].given[0]", "structure"),
    ], describe(issues)
    # an extension-only value is a value, single (``_gender``) or the second ``_given`` entry alone
    resource = patient(_gender={"extension": [ext]}, name=[{"_given": [{"extension": [ext]}]}])
    assert errors(validator.issues(resource)) == [], describe(validator.issues(resource))


def test_cardinality_min(validator):
    obs = {"resourceType": "Observation", "code": {"text": "x"}}
    issue = only_error(validator, obs, "cardinality-min", "Observation.status", "required")
    assert "minimum 1" in issue.diagnostics


def test_choice_type(validator):
    obs = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueString": "a", "valueBoolean": True}
    assert find(validator.issues(obs), "choice-multiple")
    obs = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueUri": "http://x"}
    assert find(validator.issues(obs), "unknown-element", "Observation.valueUri")


def test_required_binding(validator):
    issue = only_error(validator, patient(gender="man"), "binding-required", "Patient.gender", "code-invalid")
    assert "administrative-gender" in issue.diagnostics


def test_required_binding_coding_reports_the_coding(validator):
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueQuantity": {"value": 1, "comparator": "=="}}}]}
    found = find(validator.issues(bundle), "binding-required", "Bundle.entry[0].resource.valueQuantity.comparator")
    assert found


def test_unknown_code_system_is_a_warning_not_an_error(validator):
    resource = patient(communication=[{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "nl-BE"}]}}])
    issues = validator.issues(resource)
    assert errors(issues) == []


def test_invariant_failure(validator):
    resource = patient(name=[{"family": "x", "period": {"start": "2020-01-02", "end": "2020-01-01"}}])
    issue = only_error(validator, resource, "invariant-failed", "Patient.name[0].period", "invariant")
    assert issue.diagnostics.startswith("per-1")


def test_contained_resource_validated_and_referenced(validator):
    resource = patient(contained=[{"resourceType": "Organization", "id": "o1", "nmae": "x"}], managingOrganization={"reference": "#o1"})
    assert find(validator.issues(resource), "unknown-element", "Patient.contained[0].nmae")
    resource = patient(contained=[{"resourceType": "Organization", "id": "o1", "name": "x"}], managingOrganization={"reference": "#o2"})
    found = errors(validator.issues(resource))
    assert find(found, "reference-contained-missing", "Patient.managingOrganization.reference")


def test_reference_target_type(validator):
    only_error(validator, patient(managingOrganization={"reference": "Practitioner/1"}), "reference-target-type", "Patient.managingOrganization.reference", "structure")


def test_nested_resources(validator):
    params = {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": {"resourceType": "Patient", "active": "yes"}}]}
    assert find(validator.issues(params), "json-type", "Parameters.parameter[0].resource.active")
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0", "resource": {"resourceType": "Patient", "birthDate": "x"}}]}
    assert find(validator.issues(bundle), "primitive-format", "Bundle.entry[0].resource.birthDate")


def test_unknown_extension_is_a_warning(validator):
    issues = validator.issues(patient(extension=[{"url": "http://example.org/ext", "valueString": "x"}]))
    assert errors(issues) == []
    assert find(issues, "extension-unknown", "Patient.extension[0]")[0].severity == "warning"


def test_extension_checked_against_its_definition(validator):
    ext = {"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace", "valueString": "Gent"}
    issues = validator.issues(patient(extension=[ext]))
    assert find(issues, "type-not-allowed", "Patient.extension[0].valueString"), describe(issues)
    ext = {"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace", "valueAddress": {"city": "Gent"}, "extension": [{"url": "x", "valueString": "y"}]}
    assert find(validator.issues(patient(extension=[ext])), "extension-value", "Patient.extension[0]")


def test_document_dangling_reference(validator):
    bundle = {
        "resourceType": "Bundle", "type": "document", "timestamp": "2024-01-01T10:00:00Z",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:3d4f0ad4-40bb-4d0c-9d6c-0b3a3f1f4c11"},
        "entry": [
            {"fullUrl": "urn:uuid:7f1c1f6e-6a8c-4b43-9c0c-2b0a6f6d2a11", "resource": {
                "resourceType": "Composition", "status": "final", "type": {"text": "summary"}, "date": "2024-01-01", "title": "t",
                "subject": {"reference": "urn:uuid:00000000-0000-0000-0000-000000000000"},
                "author": [{"reference": "urn:uuid:7f1c1f6e-6a8c-4b43-9c0c-2b0a6f6d2a12"}]}},
            {"fullUrl": "urn:uuid:7f1c1f6e-6a8c-4b43-9c0c-2b0a6f6d2a12", "resource": {"resourceType": "Practitioner"}},
        ],
    }
    found = errors(validator.issues(bundle))
    assert [(i.message_id, i.expression, i.code) for i in found] == [
        ("reference-dangling", "Bundle.entry[0].resource.subject.reference", "not-found")
    ], describe(found)


def test_bundle_invariant(validator):
    bundle = {"resourceType": "Bundle", "type": "document", "entry": [{"fullUrl": "urn:uuid:7f1c1f6e-6a8c-4b43-9c0c-2b0a6f6d2a12", "resource": {"resourceType": "Practitioner"}}]}
    keys = {i.diagnostics.split(":")[0] for i in find(validator.issues(bundle), "invariant-failed")}
    assert {"bdl-9", "bdl-10", "bdl-11"} <= keys


def test_every_issue_is_complete(validator):
    outcome = validate_base(patient(nmae=1, gender="x", birthDate="no"))
    for issue in outcome["issue"]:
        assert issue["severity"] and issue["code"] and issue["diagnostics"] and issue["expression"]
        assert issue["details"]["coding"][0]["system"] == MESSAGE_SYSTEM


def test_every_message_id_is_documented():
    import re

    from fhirsrv.validation.outcome import MESSAGE_IDS

    source = "".join(p.read_text() for p in (Path(__file__).resolve().parents[2] / "fhirsrv" / "validation").glob("*.py"))
    used = set(re.findall(r'Issue\([a-z_"]+, "[a-z-]+", "([a-z-]+)"', source))
    for pair in re.findall(r'mid = "([a-z-]+)" if [^\n]* else "([a-z-]+)"', source):
        used |= set(pair)
    assert used and used <= set(MESSAGE_IDS), used - set(MESSAGE_IDS)
