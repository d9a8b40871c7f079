"""Several profiles on one type: the content must conform to at least one (R4 type.profile).

Checking all of them made a Patient that satisfies one alternative fail on the other.
"""

from __future__ import annotations

import pytest

from fhirsrv.conformance.registry import Registry
from fhirsrv.validation import Validator, default_validator

from .helpers import describe, errors

BASE = "http://example.org/fhirsrv-test/StructureDefinition/"


def _profile(name: str, type_: str, *elements: dict) -> dict:
    return {
        "resourceType": "StructureDefinition", "url": BASE + name, "name": name, "status": "draft",
        "kind": "resource", "abstract": False, "type": type_, "derivation": "constraint",
        "baseDefinition": f"http://hl7.org/fhir/StructureDefinition/{type_}",
        "differential": {"element": [{"id": type_, "path": type_}, *elements]},
    }


@pytest.fixture(scope="module")
def local() -> Validator:
    registry = Registry()
    shared = default_validator().registry
    for kind in ("StructureDefinition", "ValueSet", "CodeSystem"):
        registry.add_all(shared.iter_type(kind))
    registry.add(_profile("with-name", "Patient", {"id": "Patient.name", "path": "Patient.name", "min": 1}))
    registry.add(_profile("with-birthdate", "Patient", {"id": "Patient.birthDate", "path": "Patient.birthDate", "min": 1}))
    registry.add(_profile(
        "params", "Parameters",
        {"id": "Parameters.parameter.resource", "path": "Parameters.parameter.resource",
         "type": [{"code": "Resource", "profile": [BASE + "with-name", BASE + "with-birthdate"]}]},
    ))
    return Validator(registry)


def _params(patient: dict) -> dict:
    return {"resourceType": "Parameters", "parameter": [{"name": "p", "resource": patient}]}


def test_one_alternative_is_enough(local: Validator) -> None:
    for patient in ({"resourceType": "Patient", "birthDate": "2000-01-01"},
                    {"resourceType": "Patient", "name": [{"family": "X"}]}):
        issues = local.issues(_params(patient), [BASE + "params"])
        assert not errors(issues), describe(issues)


def test_no_alternative_is_an_error(local: Validator) -> None:
    issues = local.issues(_params({"resourceType": "Patient", "gender": "male"}), [BASE + "params"])
    assert errors(issues), describe(issues)
