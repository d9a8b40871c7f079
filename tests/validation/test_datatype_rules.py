"""Rules on datatype values beyond the StructureDefinitions (fhirsrv.validation.datatype_rules,
text_rules): each was a disagreement with the HL7 Java validator in fhir-test-cases."""

from __future__ import annotations

import base64
import hashlib

import pytest

from fhirsrv.validation import Validator, default_validator
from fhirsrv.validation.options import ValidationOptions

from .helpers import describe, errors, find

SSIN = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ssin"


def _only(issues, message_id: str):
    found = find(issues, message_id)
    assert len(found) == 1, describe(issues)
    return found[0]


def test_coding_system_must_be_absolute(validator: Validator) -> None:
    """mr-covid-m5: Java "Coding.system must be an absolute reference, not a local reference"."""
    measure = {"resourceType": "Measure", "status": "draft", "subjectCodeableConcept": {"coding": [{"system": "Location1", "code": "Location"}]}}
    issue = _only(validator.issues(measure), "coding-system-relative")
    assert (issue.severity, issue.code, issue.expression) == ("error", "value", "Measure.subjectCodeableConcept.coding[0].system")


def test_coding_system_must_not_be_a_value_set(validator: Validator) -> None:
    """mr-covid-m5: Java "The Coding references a value set, not a code system"."""
    measure = {"resourceType": "Measure", "status": "draft", "type": [{"coding": [{"system": "http://hl7.org/fhir/ValueSet/measure-type", "code": "structure"}]}]}
    issue = _only(validator.issues(measure), "coding-system-is-valueset")
    assert (issue.severity, issue.code, issue.expression) == ("error", "value", "Measure.type[0].coding[0].system")


def test_absolute_systems_pass(validator: Validator) -> None:
    patient = {"resourceType": "Patient", "maritalStatus": {"coding": [{"system": "urn:oid:2.16.840.1.113883.5.2", "code": "M"}]}}
    assert not find(validator.issues(patient), "coding-system-relative")


def _media(**content) -> dict:
    return {"resourceType": "Media", "status": "completed", "content": {"contentType": "text/plain", "data": "aGVscCBpJ20gYSBidWc=", **content}}


def test_attachment_size_must_match_the_data(validator: Validator) -> None:
    """attachment-with-wrong-size: Java "Stated Attachment Size 100 does not match actual attachment size 14"."""
    issue = _only(validator.issues(_media(size=100)), "attachment-size")
    assert (issue.severity, issue.code, issue.expression) == ("error", "value", "Media.content.size")
    assert "14 bytes" in issue.diagnostics
    assert not find(validator.issues(_media(size=14)), "attachment-size")


def test_attachment_hash_is_checked_as_a_warning(validator: Validator) -> None:
    issue = _only(validator.issues(_media(hash="AAAAAAAAAAAAAAAAAAAAAAAAAAA=")), "attachment-hash")
    assert (issue.severity, issue.expression) == ("warning", "Media.content.hash")
    right = base64.b64encode(hashlib.sha1(b"help i'm a bug").digest()).decode()  # noqa: S324 - FHIR's hash is SHA-1
    assert not find(validator.issues(_media(hash=right)), "attachment-hash")


def test_ssin_check_digit_is_a_warning_never_an_error(validator: Validator) -> None:
    """Issue 3: the SSIN check digit is a warning (official Belgian examples fail it)."""
    bad = {"resourceType": "Patient", "identifier": [{"system": SSIN, "value": "85073003327"}]}
    issues = validator.issues(bad)
    issue = _only(issues, "ssin-check-digit")
    assert (issue.severity, issue.code, issue.expression) == ("warning", "value", "Patient.identifier[0].value")
    assert not errors(issues), describe(issues)
    good = {"resourceType": "Patient", "identifier": [{"system": SSIN, "value": "85073003328"}]}
    assert not find(validator.issues(good), "ssin-check-digit")
    other = {"resourceType": "Patient", "identifier": [{"system": "http://example.org/mrn", "value": "85073003327"}]}
    assert not find(validator.issues(other), "ssin-check-digit")


def test_strings_over_one_mebibyte(validator: Validator) -> None:
    """resource-invalid-eid-2: Java "value is longer than permitted maximum length of 1 MB"."""
    location = {"resourceType": "Location", "name": "A", "position": {"id": "x" * (1024 * 1024 + 1), "longitude": 1, "latitude": 2}}
    issue = _only(validator.issues(location), "string-too-long")
    assert (issue.severity, issue.code, issue.expression) == ("error", "too-long", "Location.position.id")


def test_html_in_markdown_is_a_warning_or_with_the_option_an_error() -> None:
    """bad-markdown (warning) and bad-markdown-no-html (error, Java noHtmlInMarkdown)."""
    communication = {"resourceType": "Communication", "status": "completed", "note": [{"text": "<resource type>\\<id>"}]}
    issue = _only(default_validator().issues(communication), "markdown-html")
    assert (issue.severity, issue.code, issue.expression) == ("warning", "value", "Communication.note[0].text")
    strict = Validator(default_validator().registry, options=ValidationOptions(no_html_in_markdown=True))
    assert _only(strict.issues(communication), "markdown-html").severity == "error"


def test_html_in_strings_with_security_checks() -> None:
    """pat-security-bad-string: Java (security-checks) "looks like embedded HTML tags"."""
    patient = {"resourceType": "Patient", "name": [{"text": "Standard <script>somescript</script>"}]}
    assert not find(default_validator().issues(patient), "string-html")
    secure = Validator(default_validator().registry, options=ValidationOptions(security_checks=True))
    issue = _only(secure.issues(patient), "string-html")
    assert (issue.severity, issue.code, issue.expression) == ("error", "security", "Patient.name[0].text")
    assert not find(secure.issues({"resourceType": "Patient", "name": [{"text": "a < b > c"}]}), "string-html")


@pytest.mark.parametrize("url, flagged", [
    ("http://repository.example.org/fhir/DocumentReference/example", True),
    ("https://example.com/x", True),
    ("http://example.org", True),
    ("http://hl7.org/fhir/example.org", False),
    ("http://notexample.org/x", False),
])
def test_example_urls_when_not_allowed(url: str, flagged: bool) -> None:
    """dr-example-org: Java (examples: false) "Example URLs are not allowed in this context"."""
    document = {"resourceType": "DocumentReference", "status": "current", "content": [{"attachment": {"contentType": "text/plain", "url": url}}]}
    assert not find(default_validator().issues(document), "example-url")
    strict = Validator(default_validator().registry, options=ValidationOptions(allow_example_urls=False))
    found = find(strict.issues(document), "example-url")
    if flagged:
        assert [(i.severity, i.code, i.expression) for i in found] == [("error", "value", "DocumentReference.content[0].attachment.url")]
    else:
        assert not found


@pytest.mark.parametrize("value, message_id", [
    ("urn:uuid:c757873d-ec9a-4326-a141-556f43239520", None),
    ("urn:uuid:c757873d-ec9a-4326-a141-556f43239520#frag", None),
    ("urn:uuid:c757873d-ec9a-4326-a141-556f43239520asdf", "uri-uuid"),  # url-value-qr
    ("urn:uuid:C757873D-EC9A-4326-A141-556F43239520", "uri-uuid"),
    ("urn:uuid:6a2ee390-978e-42c6-8f88-c17dff3bd8a", "uri-uuid"),  # vs-canonical-urn-bad (one digit short)
    ("urn:oid:2.16.840.1.113883.5.2", None),
    ("urn:oid:1.2.36.1.2001.1001.101.104.16592|4.0.1", None),  # system|version (R4 Bundle-valueset-expansions)
    ("urn:oid:1.2.3.04", "uri-oid"),
    ("urn:oid:3.1", "uri-oid"),
    ("urn:oid:1.2.x", "uri-oid"),
    ("urn:ietf:rfc:3986", None),
])
def test_urn_uuid_and_oid_in_uri_values(validator: Validator, value: str, message_id: str | None) -> None:
    """url-value-qr: Java "UUIDs must be valid and lowercase (c757873d-…-556f43239520asdf)"."""
    patient = {"resourceType": "Patient", "identifier": [{"system": value, "value": "1"}]}
    found = [(i.message_id, i.severity, i.code, i.expression) for i in validator.issues(patient) if i.message_id.startswith("uri-")]
    assert found == ([(message_id, "error", "value", "Patient.identifier[0].system")] if message_id else [])


def test_urn_uuid_rule_is_for_uri_types_not_reference_strings(validator: Validator) -> None:
    """Reference.reference is an R4 string: the Java validator reports a bad urn:uuid there as an
    unresolved reference (fhir-test-cases bundle cases), not with the UUID rule."""
    observation = {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                   "subject": {"reference": "urn:uuid:75ea28b5-74b8-4d9c-9eb5-cfdc10b48fa"},
                   "valueString": "urn:uuid:NOT-A-UUID"}
    assert not [i for i in validator.issues(observation) if i.message_id.startswith("uri-")]
