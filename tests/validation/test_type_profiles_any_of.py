"""Several profiles on one type: the content must conform to at least one (R4 type.profile).

Checking all of them made a Patient that satisfies one alternative fail on the other.
"""

from __future__ import annotations

import pytest

from fhirsrv.validation import Validator

from .helpers import constraint_profile, describe, errors, local_validator

BASE = "http://example.org/fhirsrv-test/StructureDefinition/"


@pytest.fixture(scope="module")
def local() -> Validator:
    return local_validator(
        constraint_profile(BASE + "with-name", "Patient", {"id": "Patient.name", "path": "Patient.name", "min": 1}),
        constraint_profile(BASE + "with-birthdate", "Patient", {"id": "Patient.birthDate", "path": "Patient.birthDate", "min": 1}),
        constraint_profile(
            BASE + "params", "Parameters",
            {"id": "Parameters.parameter.resource", "path": "Parameters.parameter.resource",
             "type": [{"code": "Resource", "profile": [BASE + "with-name", BASE + "with-birthdate"]}]},
        ),
    )


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
