"""``resolve()`` of a ``#id`` reference in a Bundle-level invariant finds the contained
resource of the entry that holds the reference (fhir-test-cases bundle-resolve-deep: a
false error before, since fhirpathpy hands the Reference over without its resource)."""

from __future__ import annotations

from fhirsrv.validation import Validator

from .helpers import constraint_profile, describe, errors, find, local_validator

PROFILE = "http://example.org/fhirsrv-test/StructureDefinition/bundle-devices-resolve"


def _validator() -> Validator:
    profile = constraint_profile(PROFILE, "Bundle")
    profile["differential"]["element"][0]["constraint"] = [{
        "key": "devices-resolve", "severity": "error", "human": "Observation devices must resolve",
        "expression": "entry.resource.ofType(Observation).all(device.resolve().exists())"}]
    return local_validator(profile)


def _bundle(device_reference: str) -> dict:
    observation = {"resourceType": "Observation", "id": "o", "status": "final", "code": {"text": "x"},
                   "device": {"reference": device_reference},
                   "contained": [{"resourceType": "Device", "id": "contained-device", "status": "active"}]}
    other = {"resourceType": "Observation", "id": "p", "status": "final", "code": {"text": "y"},
             "device": {"reference": "Device/d"}}
    return {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "http://example.org/fhir/Observation/o", "resource": observation},
        {"fullUrl": "http://example.org/fhir/Observation/p", "resource": other},
        {"fullUrl": "http://example.org/fhir/Device/d", "resource": {"resourceType": "Device", "id": "d"}}]}


def test_contained_reference_resolves_from_a_bundle_invariant() -> None:
    issues = _validator().issues(_bundle("#contained-device"), [PROFILE])
    assert not errors(issues), describe(issues)


def test_missing_contained_target_still_fails() -> None:
    issues = _validator().issues(_bundle("#elsewhere"), [PROFILE])
    failed = [i for i in find(issues, "invariant-failed") if i.diagnostics.startswith("devices-resolve")]
    assert [(i.severity, i.code, i.expression) for i in failed] == [("error", "invariant", "Bundle")], describe(issues)
