"""Profiles: the IPS package examples validate cleanly; each profile rule catches its fault."""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path

import pytest

from fhirsrv import fhirjson
from fhirsrv.conformance.aliases import IPS_BUNDLE
from fhirsrv.conformance.packages import load_npm_package

from .helpers import describe, errors, find

PROFILES = Path(__file__).resolve().parents[2] / "profiles"
IPS_2 = f"{IPS_BUNDLE}|2.0.0"


@lru_cache(maxsize=2)
def examples(package: str) -> list[dict]:
    loaded = load_npm_package(PROFILES / package, with_examples=True).examples
    return [fhirjson.loads(fhirjson.dumps(e)) for e in loaded]  # decimals as the server sees them


def _ids(package: str) -> list[str]:
    return [f"{e['resourceType']}-{e.get('id')}" for e in examples(package)]


@pytest.mark.parametrize("package", ["hl7.fhir.uv.ips-2.0.0.tgz", "hl7.fhir.uv.ips-1.1.0.tgz"])
def test_ips_examples_have_no_errors(validator, package):
    """Every example against base R4 and the profiles in its meta.profile."""
    failures = {}
    for example in examples(package):
        found = errors(validator.issues(example))
        if found:
            failures[f"{example['resourceType']}/{example.get('id')}"] = describe(found)
    assert not failures, failures


def test_ips_1_1_examples_against_the_1_1_profiles(validator):
    failures = {}
    for example in examples("hl7.fhir.uv.ips-1.1.0.tgz"):
        claimed = [f"{url}|1.1.0" for url in (example.get("meta") or {}).get("profile", [])]
        found = errors(validator.issues(example, claimed))
        if found:
            failures[f"{example['resourceType']}/{example.get('id')}"] = describe(found)
    assert not failures, failures


def bundle_01() -> dict:
    found = next(e for e in examples("hl7.fhir.uv.ips-2.0.0.tgz") if e.get("id") == "IPS-examples-Bundle-01")
    return copy.deepcopy(found)


def entry_of(bundle: dict, resource_type: str) -> tuple[int, dict]:
    return next((i, e["resource"]) for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == resource_type)


def test_fixed_value(validator):
    bundle = bundle_01()
    bundle["type"] = "collection"
    found = errors(validator.issues(bundle, [IPS_2]))
    assert [(i.message_id, i.expression, i.code) for i in found] == [("fixed-value", "Bundle.type", "value")], describe(found)


def test_pattern_value_and_slice_sentence(validator):
    bundle = bundle_01()
    bundle["entry"][0]["resource"]["type"]["coding"][0]["code"] = "11503-0"
    found = errors(validator.issues(bundle, [IPS_2]))
    assert find(found, "pattern-value", "Bundle.entry[0].resource.type"), describe(found)
    missing = find(found, "slice-missing", "Bundle.entry")
    assert missing and missing[0].code == "required"
    sentence = missing[0].diagnostics
    assert "'composition'" in sentence and "Composition" in sentence and "Bundle.entry[0]" in sentence
    assert "60591-5" in sentence  # why the closest candidate failed


def test_profile_cardinality_in_an_entry(validator):
    bundle = bundle_01()
    index, patient = entry_of(bundle, "Patient")
    del patient["name"]
    found = errors(validator.issues(bundle, [IPS_2]))
    assert find(found, "cardinality-min", f"Bundle.entry[{index}].resource.name"), describe(found)
    assert find(found, "slice-missing", "Bundle.entry")


def test_required_section_slice_missing(validator):
    bundle = bundle_01()
    composition = bundle["entry"][0]["resource"]
    composition["section"] = [s for s in composition["section"] if s["code"]["coding"][0]["code"] != "48765-2"]
    found = errors(validator.issues(bundle, [IPS_2]))
    missing = find(found, "slice-missing", "Bundle.entry[0].resource.section")
    assert missing and "sectionAllergies" in missing[0].diagnostics and "48765-2" in missing[0].diagnostics, describe(found)


def test_profile_invariant(validator):
    bundle = bundle_01()
    bundle["entry"].append(copy.deepcopy(bundle["entry"][0]))
    bundle["entry"][-1]["fullUrl"] = "urn:uuid:7e3c8a55-17f4-4a47-a2b8-0d6d7f1f1a01"
    found = errors(validator.issues(bundle, [IPS_2]))
    assert any(i.diagnostics.startswith("bdl-ips-1") and i.expression == "Bundle" for i in found), describe(found)


def test_required_binding_in_profile(validator):
    bundle = bundle_01()
    bundle["entry"][0]["resource"]["status"] = "done"
    found = errors(validator.issues(bundle, [IPS_2]))
    assert find(found, "binding-required", "Bundle.entry[0].resource.status"), describe(found)


def test_reference_to_non_conforming_target(validator):
    bundle = bundle_01()
    index, patient = entry_of(bundle, "Patient")
    del patient["name"]
    found = errors(validator.issues(bundle, [IPS_2]))
    target = find(found, "reference-target-profile", "Bundle.entry[0].resource.subject.reference")
    assert target and f"Bundle.entry[{index}].resource" in target[0].diagnostics


def test_unknown_profile_is_a_warning(validator):
    resource = {"resourceType": "Patient", "meta": {"profile": ["http://example.org/StructureDefinition/nope"]}}
    issues = validator.issues(resource)
    assert errors(issues) == []
    assert find(issues, "profile-unknown", "Patient")[0].severity == "warning"


def test_profile_for_another_type(validator):
    found = errors(validator.issues({"resourceType": "Patient"}, [IPS_2]))
    assert find(found, "profile-type-mismatch", "Patient")


def test_closed_slicing_and_max(validator):
    """Extension slices by url on Patient-uv-ips-like data: a profile's max is enforced."""
    bundle = bundle_01()
    bundle["link"] = [{"relation": "self", "url": "http://example.org/x"}]
    bundle["entry"][0]["search"] = {"mode": "match"}
    found = errors(validator.issues(bundle, [IPS_2]))
    assert find(found, "cardinality-forbidden", "Bundle.entry[0].search"), describe(found)


class _CannotCheck:
    """A terminology service that can decide nothing (as if every code system were unknown)."""

    def validate_code(self, valueset, *, system, code, display=None):
        from fhirsrv.terminology import CodeCheck

        return CodeCheck(None, "no terminology", system_known=False)


def test_same_verdict_without_terminology(validator):
    """With no usable terminology, the IPS examples still have no errors (only warnings)."""
    for example in examples("hl7.fhir.uv.ips-2.0.0.tgz"):
        assert errors(validator.issues(example, terminology=_CannotCheck())) == [], example.get("id")
