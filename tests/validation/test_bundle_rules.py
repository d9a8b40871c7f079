"""Bundle rules beyond the StructureDefinition (fhirsrv.validation.bundle_rules) and Bundle /
Parameters reference resolution: each was a disagreement with the HL7 Java validator in
fhir-test-cases (bundle-duplicate-id, bundle-id-2/-3/-4, bundle-with-contained,
bundle-document-versioned-references-bad, parameters-reference-bad)."""

from __future__ import annotations

from fhirsrv.validation import Validator, default_validator
from fhirsrv.validation.options import ValidationOptions

from .helpers import describe, errors, find


def _where(issues, message_id: str) -> list[tuple[str, str, str]]:
    return [(i.severity, i.code, i.expression) for i in find(issues, message_id)]


def test_full_url_must_be_absolute(validator: Validator) -> None:
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "Patient/1", "resource": {"resourceType": "Patient", "id": "1"}},
        {"fullUrl": "uin:uuid:cd7f9309-2530-4adf-9b94-e44548361e8a", "resource": {"resourceType": "Patient"}},
        {"fullUrl": "urn:uuid:cd7f9309-2530-4adf-9b94-e44548361e8b", "resource": {"resourceType": "Patient"}},
    ]}
    issues = validator.issues(bundle)
    assert _where(issues, "bundle-fullurl-relative") == [("error", "invalid", "Bundle.entry[0].fullUrl")], describe(issues)


def test_restful_full_url_must_match_type_and_id(validator: Validator) -> None:
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "http://example.org/fhir/Patient/pat12", "resource": {"resourceType": "Patient", "id": "pat2"}},
        {"fullUrl": "http://example.org/fhir/Patient/pat1", "resource": {"resourceType": "Patient", "id": "pat1"}},
        {"fullUrl": "http://example.org/fhir/Patient/x", "resource": {"resourceType": "Patient"}},
    ]}
    issues = validator.issues(bundle)
    assert _where(issues, "bundle-fullurl-mismatch") == [("error", "invalid", "Bundle.entry[0].fullUrl")], describe(issues)


def test_link_relations_occur_once(validator: Validator) -> None:
    link = {"url": "http://example.org/fhir/Patient?name=test", "relation": "self"}
    bundle = {"resourceType": "Bundle", "type": "searchset", "link": [link, link, {**link, "relation": "next"}]}
    assert _where(validator.issues(bundle), "bundle-link-repeated") == [("error", "invariant", "Bundle.link[1]")]


def test_search_results(validator: Validator) -> None:
    bundle = {"resourceType": "Bundle", "type": "searchset",
              "link": [{"url": "http://example.org/fhir/Patient?name=test", "relation": "self"}],
              "entry": [
                  {"fullUrl": "http://nothing/1", "resource": {"resourceType": "Immunization", "status": "completed", "vaccineCode": {"text": "x"}, "patient": {"display": "p"}, "occurrenceString": "x"}, "search": {"mode": "match"}},
                  {"fullUrl": "http://example.org/fhir/Patient/2", "resource": {"resourceType": "Patient", "id": "2"}, "search": {"mode": "match"}},
                  {"fullUrl": "http://nothing/3", "resource": {"resourceType": "Patient", "id": "3"}, "search": {"mode": "outcome"}},
                  {"fullUrl": "http://example.org/fhir/Organization/4", "resource": {"resourceType": "Organization", "id": "4"}, "search": {"mode": "include"}},
              ]}
    issues = validator.issues(bundle)
    assert _where(issues, "bundle-search-id") == [("error", "required", "Bundle.entry[0].resource")], describe(issues)
    assert _where(issues, "bundle-search-type") == [("error", "invalid", "Bundle.entry[0].resource")]
    assert _where(issues, "bundle-search-outcome") == [("error", "invalid", "Bundle.entry[2].resource")]


def test_search_types_from_the_type_parameter(validator: Validator) -> None:
    bundle = {"resourceType": "Bundle", "type": "searchset",
              "link": [{"url": "http://example.org/fhir?_type=Observation,DocumentReference", "relation": "self"}],
              "entry": [{"fullUrl": "http://nothing/2", "resource": {"resourceType": "OperationOutcome", "id": "2", "issue": [{"severity": "error", "code": "invalid"}]}, "search": {"mode": "match"}}]}
    assert _where(validator.issues(bundle), "bundle-search-type") == [("error", "invalid", "Bundle.entry[0].resource")]


def _document(*entries: dict, section_refs: list[str]) -> dict:
    composition = {"resourceType": "Composition", "id": "c", "status": "final", "type": {"text": "t"}, "date": "2024-01-01",
                   "author": [{"reference": "Patient/p"}], "title": "t", "subject": {"reference": "Patient/p"},
                   "section": [{"title": "s", "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">s</div>'},
                                "entry": [{"reference": r} for r in section_refs]}]}
    return {"resourceType": "Bundle", "type": "document", "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:1"},
            "timestamp": "2024-01-01T00:00:00Z", "entry": [
                {"fullUrl": "http://example.org/Composition/c", "resource": composition},
                {"fullUrl": "http://example.org/Patient/p", "resource": {"resourceType": "Patient", "id": "p"}},
                *entries]}


def _observation(version: str) -> dict:
    return {"fullUrl": "http://example.org/Observation/o", "resource": {
        "resourceType": "Observation", "id": "o", "meta": {"versionId": version}, "status": "final", "code": {"text": "x"}}}


def test_reference_matching_two_entries_is_ambiguous(validator: Validator) -> None:
    bundle = _document(_observation("1"), _observation("2"), section_refs=["Observation/o"])
    issues = validator.issues(bundle)
    assert _where(issues, "reference-ambiguous") == [("error", "invalid", "Bundle.entry[0].resource.section[0].entry[0].reference")], describe(issues)


def test_versioned_reference_needs_that_version(validator: Validator) -> None:
    bundle = _document(_observation("1"), _observation("2"), section_refs=["Observation/o/_history/2", "Observation/o/_history/3"])
    issues = validator.issues(bundle)
    assert not find(issues, "reference-ambiguous"), describe(issues)
    assert _where(issues, "reference-dangling") == [("error", "not-found", "Bundle.entry[0].resource.section[0].entry[1].reference")], describe(issues)


def _parameters(beneficiary: str) -> dict:
    coverage = {"resourceType": "Coverage", "id": "cov", "status": "active", "beneficiary": {"reference": beneficiary},
                "payor": [{"reference": "http://example.org/fhir/Organization/payer"}]}
    return {"resourceType": "Parameters", "parameter": [
        {"name": "MemberPatient", "resource": {"resourceType": "Patient", "id": "1"}},
        {"name": "Coverage", "resource": coverage}]}


def test_parameters_references_must_resolve_with_the_option() -> None:
    """parameters-reference-bad (validateReference CHECK_EXISTS_AND_TYPE): Java "Unable to
    resolve resource with reference 'Patient/2'"; absolute URLs are not fetched."""
    strict = Validator(default_validator().registry, options=ValidationOptions(references_must_resolve=True))
    issues = strict.issues(_parameters("Patient/2"))
    assert _where(issues, "reference-unresolved") == [("error", "not-found", "Parameters.parameter[1].resource.beneficiary.reference")], describe(issues)
    assert not errors(strict.issues(_parameters("Patient/1")))
    assert not find(default_validator().issues(_parameters("Patient/2")), "reference-unresolved")
