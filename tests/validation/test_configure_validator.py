"""configure_validator: the server's options change, its compiled definitions stay.

Compiling the profiles is what makes a new validator expensive; options are read per call.
So a change of options only (the server configured again, ``fhirsrv validate
--unknown-extensions error``) must give a validator with the new options over the same
Definitions, and leave the validator that other callers may still hold as it was.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fhirsrv.conformance.registry import Registry
from fhirsrv.validation import default_validator
from fhirsrv.validation import validator as validator_module
from fhirsrv.validation.options import ValidationOptions
from fhirsrv.validation.validator import configure_validator, validator_for

from .helpers import find

UNKNOWN = "http://unknown.invalid/fhir/StructureDefinition/nobody-defines-this"
PATIENT = {"resourceType": "Patient", "extension": [{"url": UNKNOWN, "valueString": "x"}]}


@pytest.fixture()
def registry() -> Iterator[Registry]:
    """A registry of its own (the shipped definitions), forgotten by the module afterwards."""
    own = Registry()
    own.add_all(default_validator().registry.iter_type("StructureDefinition"))
    yield own
    validator_module._by_registry.pop(id(own), None)


def test_an_options_change_keeps_the_compiled_definitions(registry: Registry) -> None:
    lenient = configure_validator(registry, ValidationOptions())
    assert [i.severity for i in find(lenient.issues(PATIENT), "extension-unknown", "Patient.extension[0]")] == ["warning"]
    patient_model = lenient.definitions.base("Patient")  # compiled by that call

    strict = configure_validator(registry, ValidationOptions(unknown_extensions="error"))

    assert strict.definitions is lenient.definitions
    assert strict.definitions.base("Patient") is patient_model
    assert validator_for(registry) is strict
    # the new options take effect …
    assert [(i.severity, i.code) for i in find(strict.issues(PATIENT), "extension-unknown", "Patient.extension[0]")] == [("error", "structure")]
    # … and the validator handed out before keeps its own
    assert lenient.options == ValidationOptions()
    assert [i.severity for i in find(lenient.issues(PATIENT), "extension-unknown", "Patient.extension[0]")] == ["warning"]


def test_the_same_options_give_the_same_validator(registry: Registry) -> None:
    first = configure_validator(registry, ValidationOptions(display_warnings=False))
    assert configure_validator(registry, ValidationOptions(display_warnings=False)) is first


def test_another_registry_gets_its_own_definitions(registry: Registry) -> None:
    other = Registry()
    other.add_all(registry.iter_type("StructureDefinition"))
    try:
        assert configure_validator(other, ValidationOptions()).definitions is not configure_validator(registry, ValidationOptions()).definitions
    finally:
        validator_module._by_registry.pop(id(other), None)
