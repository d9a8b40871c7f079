"""Profiles an ImplementationGuide applies globally (``ImplementationGuide.global``): every
resource of that type must conform, wherever it appears (fhir-test-cases profile/patient-ig-bad:
the Java validator reports "Patient.name: minimum required = 1" from the guide's profile).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from fhirsrv.validation import Validator
from fhirsrv.validation.options import DEFAULT_OPTIONS, global_profiles

from .helpers import constraint_profile, describe, errors, local_validator

PROFILE = "http://hl7.org/fhir/test/StructureDefinition/patient-ig-sd"

# fhir-test-cases validator/patient-ig-ig.json, shortened (CC0)
GUIDE = {
    "resourceType": "ImplementationGuide", "url": "http://hl7.org/fhir/test/ImplementationGuide/patient-ig-ig",
    "name": "TestPatientIg", "status": "active", "packageId": "hl7.fhir.test.ig-ig", "fhirVersion": ["4.0.1"],
    "global": [{"type": "Patient", "profile": PROFILE}],
}


@pytest.fixture(scope="module")
def guided() -> Validator:
    local = local_validator(constraint_profile(PROFILE, "Patient", {"id": "Patient.name", "path": "Patient.name", "min": 1}))
    return Validator(local.registry, options=replace(DEFAULT_OPTIONS, global_profiles=global_profiles(GUIDE)))


def test_guides_give_their_global_type_profile_pairs() -> None:
    other = dict(GUIDE, **{"global": [{"type": "Patient", "profile": PROFILE}, {"type": "Observation"},
                                      {"type": "Observation", "profile": "http://example.org/obs"}]})
    assert global_profiles(GUIDE, other, {"resourceType": "Patient"}) == (
        ("Patient", PROFILE), ("Observation", "http://example.org/obs"))
    assert DEFAULT_OPTIONS.global_profiles == ()  # the server applies none unless told


def test_a_resource_of_the_type_must_conform(guided: Validator) -> None:
    issues = guided.issues({"resourceType": "Patient", "id": "pat-good", "active": True})
    found = [(i.severity, i.code, i.message_id, i.expression) for i in errors(issues)]
    assert found == [("error", "required", "cardinality-min", "Patient.name")], describe(issues)
    assert not errors(guided.issues({"resourceType": "Patient", "name": [{"family": "Chalmers"}]}))


def test_it_applies_inside_a_bundle_and_not_to_other_types(guided: Validator) -> None:
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:6f1c6a0e-8c1b-4f7e-9a53-2d8a8f0c1e01", "resource": {"resourceType": "Patient", "active": True}},
        {"fullUrl": "urn:uuid:6f1c6a0e-8c1b-4f7e-9a53-2d8a8f0c1e02",
         "resource": {"resourceType": "Organization", "name": "x"}}]}
    issues = guided.issues(bundle)
    assert [(i.message_id, i.expression) for i in errors(issues)] == [
        ("cardinality-min", "Bundle.entry[0].resource.name")], describe(issues)


def test_without_the_guide_the_profile_is_not_applied(guided: Validator) -> None:
    plain = Validator(guided.registry)
    assert not errors(plain.issues({"resourceType": "Patient", "active": True}))


def test_an_unknown_global_profile_is_a_warning(guided: Validator) -> None:
    unknown = Validator(guided.registry, options=replace(
        DEFAULT_OPTIONS, global_profiles=(("Patient", "http://example.org/no-such-profile"),)))
    issues = unknown.issues({"resourceType": "Patient", "active": True})
    assert not errors(issues)
    assert [(i.severity, i.code, i.expression) for i in issues if i.message_id == "profile-unknown"] == [
        ("warning", "not-found", "Patient")], describe(issues)
