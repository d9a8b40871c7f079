"""Additional bindings (R5 ``binding.additional``, in R4 profiles as an extension) with
purpose ``required``: fhir-test-cases additional-bindings-observation-2 was a Java-only error."""

from __future__ import annotations

from fhirsrv.validation import Validator

from .helpers import constraint_profile, describe, errors, find, local_validator

BASE = "http://example.org/fhirsrv-test/"
EXT = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ElementDefinition.binding.additional"


def _validator(*parts: dict) -> Validator:
    value_set = {"resourceType": "ValueSet", "url": BASE + "ValueSet/vs1", "status": "active",
                 "compose": {"include": [{"system": "http://loinc.org", "concept": [{"code": "8867-4"}]}]}}
    profile = constraint_profile(BASE + "StructureDefinition/obs", "Observation", {
        "id": "Observation.code", "path": "Observation.code",
        "binding": {"strength": "example", "valueSet": "http://hl7.org/fhir/ValueSet/observation-codes",
                    "extension": [{"url": EXT, "extension": list(parts)}]}})
    return local_validator(value_set, profile)


def _observation(code: str) -> dict:
    return {"resourceType": "Observation", "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": code}]}}


PURPOSE_REQUIRED = {"url": "purpose", "valueCode": "required"}
VALUE_SET = {"url": "valueSet", "valueCanonical": BASE + "ValueSet/vs1"}


def test_required_additional_binding_is_enforced() -> None:
    local = _validator(PURPOSE_REQUIRED, VALUE_SET)
    issues = local.issues(_observation("100066-0"), [BASE + "StructureDefinition/obs"])
    assert [(i.severity, i.code, i.expression) for i in find(issues, "binding-required")] == [("error", "code-invalid", "Observation.code.coding[0]")], describe(issues)
    assert not errors(local.issues(_observation("8867-4"), [BASE + "StructureDefinition/obs"]))


def test_other_purposes_and_usage_contexts_are_advice() -> None:
    for parts in (({"url": "purpose", "valueCode": "preferred"}, VALUE_SET),
                  (PURPOSE_REQUIRED, VALUE_SET, {"url": "usage", "valueUsageContext": {"code": {"system": "http://terminology.hl7.org/CodeSystem/usage-context-type", "code": "focus"}, "valueCodeableConcept": {"text": "x"}}})):
        issues = _validator(*parts).issues(_observation("100066-0"), [BASE + "StructureDefinition/obs"])
        assert not errors(issues), describe(issues)
