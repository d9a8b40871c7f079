"""The examples of the packages we build validate, with no error, against the profile they were
written for: our Sumehr-like examples against sumehr-bundle and IPS 2.0.0, the EPS examples
against bundle-eu-eps. Terminology offline only (no server is ever called).

Why here: these examples are content we ship and claim valid; a change in our profiles (or
in the validator) that makes them fail must be seen.
"""

from __future__ import annotations

import pytest

from fhirsrv.conformance.aliases import resolve_profile_alias
from fhirsrv.conformance.packages import load_npm_package
from fhirsrv.validation.validator import validate

from .conftest import PROFILES_DIR

CASES = [
    (package, example["id"], alias)
    for package, aliases in (
        ("fhirsrv.be.sumehr-0.1.0.tgz", ("sumehr", "ips")),
        ("hl7.fhir.eu.eps-1.0.0-xtehr.tgz", ("eps",)),
    )
    for example in load_npm_package(PROFILES_DIR / package, with_examples=True).examples
    for alias in aliases
]


@pytest.mark.parametrize(("package", "example_id", "alias"), CASES)
def test_example_has_no_errors(package: str, example_id: str, alias: str, registry) -> None:
    example = next(e for e in load_npm_package(PROFILES_DIR / package, with_examples=True).examples if e["id"] == example_id)
    outcome = validate(example, [resolve_profile_alias(alias)], registry=registry)
    errors = [f"{i.get('expression')}: {i.get('diagnostics')}" for i in outcome.get("issue", []) if i["severity"] in ("error", "fatal")]
    assert not errors, "\n".join(errors)


def _sumehr_example() -> dict:
    package = load_npm_package(PROFILES_DIR / "fhirsrv.be.sumehr-0.1.0.tgz", with_examples=True)
    return next(e for e in package.examples if e["id"] == "sumehr-example-1")


def _entry(bundle: dict, resource_type: str) -> dict:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type)


def _without_ssin(bundle: dict) -> None:
    _entry(bundle, "Patient")["identifier"] = [{"system": "urn:oid:1.2.3", "value": "x"}]


def _without_gender(bundle: dict) -> None:
    del _entry(bundle, "Patient")["gender"]


def _cnk_without_code(bundle: dict) -> None:
    del _entry(bundle, "MedicationStatement")["medicationCodeableConcept"]["coding"][0]["code"]


def _without_allergy_section(bundle: dict) -> None:
    composition = bundle["entry"][0]["resource"]
    composition["section"] = [s for s in composition["section"] if s["code"]["coding"][0]["code"] != "48765-2"]


def _gmd_section_with_a_patient(bundle: dict) -> None:
    composition = bundle["entry"][0]["resource"]
    gmd = next(s for s in composition["section"] if s["code"]["coding"][0]["code"] == "gmdmanager")
    gmd["entry"] = [{"reference": composition["subject"]["reference"]}]


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (_without_ssin, "SSIN"),
        (_without_gender, "gender"),
        (_cnk_without_code, "code"),
        (_without_allergy_section, "sectionAllergies"),
        (_gmd_section_with_a_patient, "only Practitioner, PractitionerRole"),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else v,
)
def test_sumehr_profile_rejects(break_it, expected: str, registry) -> None:
    bundle = _sumehr_example()
    break_it(bundle)
    outcome = validate(bundle, [resolve_profile_alias("sumehr")], registry=registry)
    errors = [f"{i.get('expression')}: {i.get('diagnostics')}" for i in outcome.get("issue", []) if i["severity"] == "error"]
    assert errors, "expected an error"
    assert any(expected in e for e in errors), "\n".join(errors)


def test_sumehr_author_must_be_a_health_care_professional(registry) -> None:
    bundle = _sumehr_example()
    composition = bundle["entry"][0]["resource"]
    composition["author"] = [{"reference": composition["subject"]["reference"]}]
    outcome = validate(bundle, [resolve_profile_alias("sumehr")], registry=registry)
    assert any(i["severity"] == "error" and "author" in (i.get("diagnostics") or "") for i in outcome["issue"])
