"""A literal reference that cannot be one is an error of the base walk (R4 references.html),
as the HL7 validator reports it (fhir-test-cases questionnaire/reference-invalid-*-qr)."""

from __future__ import annotations

import pytest


def _observation(reference: str) -> dict:
    return {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
            "subject": {"reference": reference}}


@pytest.mark.parametrize(("reference", "said"), [
    ("ht sdtps://example.org/Patient/1", "white space"),
    ("Patient/ 1", "white space"),
    ("Chicken/example", "Chicken, which is not a FHIR R4 resource type"),
])
def test_a_reference_that_cannot_be_one_is_an_error(validator, reference, said):
    issues = [i for i in validator.issues(_observation(reference)) if i.is_error]
    assert [(i.message_id, i.code, i.expression) for i in issues] == [("reference-format", "value", "Observation.subject.reference")]
    assert said in issues[0].diagnostics


@pytest.mark.parametrize("reference", [
    "Patient/1", "https://example.org/fhir/Patient/1", "Patient/1/_history/2", "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0",
    "http://example.org/documents/patient-1",  # an absolute URL need not be RESTful
    "http://hl7.org/fhir/ig/vhdir/Network/patriotppo",  # nor name an R4 type (R4 example OrganizationAffiliation-orgrole1)
])
def test_well_formed_references_pass_the_format_check(validator, reference):
    assert not [i for i in validator.issues(_observation(reference)) if i.message_id == "reference-format"]
    if "vhdir" not in reference:  # (a Network is no Patient: reference-target-type, another rule)
        assert not [i for i in validator.issues(_observation(reference)) if i.is_error]
