"""The offline fallback value-set checker."""

from __future__ import annotations

from fhirsrv.validation.valuesets import LocalValueSets


def test_enumerated_and_whole_system(validator):
    local = LocalValueSets(validator.registry)
    assert local.validate_code("http://hl7.org/fhir/ValueSet/administrative-gender", system="http://hl7.org/fhir/administrative-gender", code="female").valid is True
    assert local.validate_code("http://hl7.org/fhir/ValueSet/administrative-gender", system=None, code="man").valid is False
    assert local.validate_code("http://hl7.org/fhir/ValueSet/bundle-type|4.0.1", system=None, code="document").valid is True
    assert local.validate_code("http://hl7.org/fhir/ValueSet/composition-status", system=None, code="final").valid is True


def test_cannot_check_is_none(validator):
    local = LocalValueSets(validator.registry)
    answer = local.validate_code("http://hl7.org/fhir/ValueSet/all-languages", system="urn:ietf:bcp:47", code="nl-BE")
    assert answer.valid is None and answer.message
    assert local.validate_code("http://example.org/ValueSet/unknown", system=None, code="x").valid is None
