"""A profile walk skips what the profile leaves as the base defined it, and nothing else.

``walker.profile_inert`` lets a profile walk step over a property whose subtree the profile
does not constrain (the base walk has checked it). These tests pin down both sides: what is
skipped, and that every kind of rule a profile can add below an untouched-looking element —
a pattern deep in a backbone, a narrowed choice, a forbidden or required child, a fixed
value in a datatype — is still reported, with its exact expression.
"""

from __future__ import annotations

import pytest

from fhirsrv.validation import Validator
from fhirsrv.validation.context import Run
from fhirsrv.validation.walker import profile_inert

from .helpers import constraint_profile, describe, errors, find, local_validator

URL = "http://example.org/fhirsrv-test/StructureDefinition/obs-deep"
LOINC = "http://loinc.org"


@pytest.fixture(scope="module")
def local() -> Validator:
    return local_validator(constraint_profile(
        URL, "Observation",
        {"id": "Observation.component.code", "path": "Observation.component.code",
         "patternCodeableConcept": {"coding": [{"system": LOINC}]}},
        {"id": "Observation.component.value[x]", "path": "Observation.component.value[x]", "type": [{"code": "Quantity"}]},
        {"id": "Observation.component.dataAbsentReason", "path": "Observation.component.dataAbsentReason", "max": "0"},
        {"id": "Observation.referenceRange.low", "path": "Observation.referenceRange.low", "min": 1},
        {"id": "Observation.method.coding.system", "path": "Observation.method.coding.system", "fixedUri": LOINC},
    ))


def _observation(**extra: object) -> dict:
    return {
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
        "note": [{"text": "an annotation the profile says nothing about"}],
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": "urn:uuid:5b1c3a0e-3c39-4d0e-9a56-3a1d0b1e5f11"}],
        "component": [{"code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                       "valueQuantity": {"value": 120, "unit": "mm[Hg]"}}],
        **extra,
    }


def _root(local: Validator):
    model = local.definitions.structure(URL)
    assert model is not None
    return model.root


def test_a_conforming_instance_has_no_errors(local: Validator) -> None:
    issues = local.issues(_observation(), [URL])
    assert not errors(issues), describe(issues)


def test_untouched_elements_are_skipped_and_constrained_ones_are_not(local: Validator) -> None:
    local.issues(_observation(), [URL])  # compile and walk once
    run = Run(local.definitions, local.local_valuesets)
    root = _root(local)
    assert profile_inert(run, root.children["note"], None)
    assert profile_inert(run, root.children["identifier"], None)
    assert not profile_inert(run, root.children["component"], None)  # a pattern below it
    assert not profile_inert(run, root.children["referenceRange"], None)  # a required child below it
    assert not profile_inert(run, root.children["method"], None)  # a fixed value in its datatype
    assert not profile_inert(run, root.children["status"], None)  # a required binding (checked again)


def test_a_pattern_deep_in_a_backbone_is_still_checked(local: Validator) -> None:
    data = _observation(component=[{"code": {"coding": [{"system": "http://snomed.info/sct", "code": "271649006"}]},
                                    "valueQuantity": {"value": 120}}])
    found = find(local.issues(data, [URL]), "pattern-value")
    assert [i.expression for i in found] == ["Observation.component[0].code"], describe(found)


def test_a_narrowed_choice_in_a_backbone_is_still_checked(local: Validator) -> None:
    data = _observation(component=[{"code": {"coding": [{"system": LOINC, "code": "8480-6"}]}, "valueString": "high"}])
    found = find(local.issues(data, [URL]), "type-not-allowed")
    assert [i.expression for i in found] == ["Observation.component[0].valueString"], describe(found)


def test_a_forbidden_child_is_still_reported(local: Validator) -> None:
    data = _observation(component=[{"code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                                    "dataAbsentReason": {"text": "not measured"}}])
    found = find(local.issues(data, [URL]), "cardinality-forbidden")
    assert [i.expression for i in found] == ["Observation.component[0].dataAbsentReason"], describe(found)


def test_a_required_child_is_still_reported(local: Validator) -> None:
    data = _observation(referenceRange=[{"high": {"value": 140}}])
    found = find(local.issues(data, [URL]), "cardinality-min")
    assert [i.expression for i in found] == ["Observation.referenceRange[0].low"], describe(found)


def test_a_fixed_value_in_a_datatype_is_still_checked(local: Validator) -> None:
    data = _observation(method={"coding": [{"system": "http://snomed.info/sct", "code": "37931006"}]})
    found = find(local.issues(data, [URL]), "fixed-value")
    assert [i.expression for i in found] == ["Observation.method.coding[0].system"], describe(found)
