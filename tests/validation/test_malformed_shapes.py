"""The validator's verdict on JSON of the wrong shape is an OperationOutcome, never an exception."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from fhirsrv.validation import Validator

from ..malformed import mutated_examples


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(resource=mutated_examples())
def test_malformed_values_are_reported_not_raised(validator: Validator, resource: dict) -> None:
    outcome = validator.validate(resource, [])
    assert outcome["resourceType"] == "OperationOutcome"
    assert not [i for i in outcome["issue"] if i["code"] == "exception"], outcome


def test_identifier_system_of_the_wrong_type_is_an_error_where_it_is(validator: Validator) -> None:
    patient = {"resourceType": "Patient", "identifier": [{"system": {"resourceType": "Patient"}, "value": "85073003328"}]}
    errors = [i for i in validator.validate(patient, [])["issue"] if i["severity"] == "error"]
    assert [(i["code"], i["expression"]) for i in errors] == [("structure", ["Patient.identifier[0].system"])]


def test_reference_to_an_entry_whose_resource_type_is_not_text(validator: Validator) -> None:
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:9b1d8a04-7d4e-4ad6-8f3a-1a4c7e3c9a01",
         "resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                      "subject": {"reference": "urn:uuid:9b1d8a04-7d4e-4ad6-8f3a-1a4c7e3c9a02"}}},
        {"fullUrl": "urn:uuid:9b1d8a04-7d4e-4ad6-8f3a-1a4c7e3c9a02", "resource": {"resourceType": ["Patient"]}},
    ]}
    outcome = validator.validate(bundle, [])
    assert not [i for i in outcome["issue"] if i["code"] == "exception"], outcome
    assert any(i["severity"] == "error" and i["expression"] == ["Bundle.entry[1].resource"] for i in outcome["issue"]), outcome
