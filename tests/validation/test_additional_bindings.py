"""Additional bindings (R5 ``binding.additional``, in R4 profiles as an extension) with
purpose ``required``: fhir-test-cases additional-bindings-observation-2 was a Java-only error."""

from __future__ import annotations

from fhirsrv.conformance.registry import Registry
from fhirsrv.validation import Validator, default_validator

from .helpers import describe, errors, find

BASE = "http://example.org/fhirsrv-test/"
EXT = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ElementDefinition.binding.additional"


def _validator(*parts: dict) -> Validator:
    registry = Registry()
    shared = default_validator().registry
    for kind in ("StructureDefinition", "ValueSet", "CodeSystem"):
        registry.add_all(shared.iter_type(kind))
    registry.add({"resourceType": "ValueSet", "url": BASE + "ValueSet/vs1", "status": "active",
                  "compose": {"include": [{"system": "http://loinc.org", "concept": [{"code": "8867-4"}]}]}})
    registry.add({"resourceType": "StructureDefinition", "url": BASE + "StructureDefinition/obs", "name": "Obs", "status": "draft",
                  "kind": "resource", "abstract": False, "type": "Observation", "derivation": "constraint",
                  "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Observation",
                  "differential": {"element": [{"id": "Observation", "path": "Observation"}, {
                      "id": "Observation.code", "path": "Observation.code",
                      "binding": {"strength": "example", "valueSet": "http://hl7.org/fhir/ValueSet/observation-codes",
                                  "extension": [{"url": EXT, "extension": list(parts)}]}}]}})
    return Validator(registry)


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
