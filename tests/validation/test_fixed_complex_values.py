"""A complex ``fixed[x]`` is the whole value: no element it does not list (fhir-test-cases
profile/ad-practitioner-resource, whose profile also says ``specialization`` for what is a
constraint on Practitioner).

The Java validator reports each element the fixed value does not allow at that element's own
path ("The element system is present in the instance but not allowed in the applicable fixed
value specified in profile"), and a slice whose fixed value sets the discriminated element
(``fixedContactPoint: {use: home}``, discriminator ``use``) takes only the items with that value.
"""

from __future__ import annotations

import pytest

from fhirsrv.validation import Validator

from .helpers import constraint_profile, describe, errors, local_validator

URL = "http://example.org/fhirsrv-test/StructureDefinition/practitioner-home-phone"
SPECIALIZATION_URL = "http://example.org/fhirsrv-test/StructureDefinition/practitioner-specialization"

HOME_PHONE_SLICE = (
    {"id": "Practitioner.telecom", "path": "Practitioner.telecom", "min": 1, "max": "3",
     "slicing": {"discriminator": [{"type": "value", "path": "use"}], "ordered": False, "rules": "open"}},
    {"id": "Practitioner.telecom:home", "path": "Practitioner.telecom", "sliceName": "home", "min": 1, "max": "1",
     "fixedContactPoint": {"use": "home"}},
)


@pytest.fixture(scope="module")
def local() -> Validator:
    specialization = constraint_profile(SPECIALIZATION_URL, "Practitioner", *HOME_PHONE_SLICE)
    specialization["derivation"] = "specialization"  # as the test suite's profile says
    return local_validator(constraint_profile(URL, "Practitioner", *HOME_PHONE_SLICE), specialization)


def _practitioner(*telecom: dict) -> dict:
    return {"resourceType": "Practitioner", "name": [{"family": "Careful"}], "telecom": list(telecom)}


@pytest.mark.parametrize("url", [URL, SPECIALIZATION_URL])
def test_elements_the_fixed_value_does_not_list_are_errors_at_their_own_path(local: Validator, url: str) -> None:
    issues = local.issues(_practitioner({"system": "phone", "value": "555-101-0987", "use": "home"}), [url])
    found = [(i.severity, i.code, i.message_id, i.expression) for i in errors(issues)]
    assert found == [
        ("error", "value", "fixed-value", "Practitioner.telecom[0].system"),
        ("error", "value", "fixed-value", "Practitioner.telecom[0].value"),
    ], describe(issues)
    assert "is not allowed" in errors(issues)[0].diagnostics and "which has no system" in errors(issues)[0].diagnostics


def test_exactly_the_fixed_value_is_valid(local: Validator) -> None:
    issues = local.issues(_practitioner({"use": "home"}), [URL])
    assert not errors(issues), describe(issues)


def test_a_different_and_a_missing_element_are_named(local: Validator) -> None:
    # telecom[1] matches no slice (open slicing); the home slice is filled by telecom[0]
    fixed = {"use": "home", "rank": 1}
    profile = constraint_profile(URL + "-ranked", "Practitioner",
                                 {"id": "Practitioner.telecom", "path": "Practitioner.telecom", "max": "1",
                                  "fixedContactPoint": fixed})
    validator = local_validator(profile)
    issues = validator.issues(_practitioner({"use": "work"}), [URL + "-ranked"])
    found = {(i.code, i.message_id, i.expression) for i in errors(issues)}
    assert found == {("value", "fixed-value", "Practitioner.telecom[0].use"),
                     ("value", "fixed-value", "Practitioner.telecom[0].rank")}, describe(issues)


def test_the_slice_takes_only_items_with_its_fixed_discriminator_value(local: Validator) -> None:
    # a work phone with system and value is not the home slice: no fixed-value errors on it
    issues = local.issues(_practitioner({"system": "phone", "value": "1", "use": "work"}, {"use": "home"}), [URL])
    assert not errors(issues), describe(issues)
    # without a home phone the required slice is missing, and the message says what it requires
    issues = local.issues(_practitioner({"system": "phone", "value": "1", "use": "work"}), [URL])
    missing = errors(issues)
    assert [(i.code, i.expression) for i in missing] == [("required", "Practitioner.telecom")], describe(issues)
    assert "use = 'home'" in missing[0].diagnostics and "is 'work'" in missing[0].diagnostics


def test_a_specialization_that_adds_elements_stays_unknown(local: Validator) -> None:
    new_type = constraint_profile(SPECIALIZATION_URL + "-new", "Practitioner",
                                  {"id": "Practitioner.shoeSize", "path": "Practitioner.shoeSize"})
    new_type["derivation"] = "specialization"
    issues = local_validator(new_type).issues(_practitioner({"use": "home"}), [SPECIALIZATION_URL + "-new"])
    assert [(i.severity, i.code, i.message_id) for i in issues if i.message_id == "profile-unknown"] == [
        ("warning", "not-found", "profile-unknown")], describe(issues)
