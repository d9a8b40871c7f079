"""The shared spelling rules of element paths: choice names and the steps of a simple FHIRPath."""

from __future__ import annotations

import pytest

from fhirsrv.conformance.element_paths import choice_type_suffix, path_steps


@pytest.mark.parametrize(("code", "suffix"), [
    ("dateTime", "DateTime"),
    ("CodeableConcept", "CodeableConcept"),
    ("string", "String"),
    ("", ""),
])
def test_choice_type_suffix_upper_cases_only_the_first_letter(code: str, suffix: str) -> None:
    assert choice_type_suffix(code) == suffix


@pytest.mark.parametrize(("path", "steps"), [
    ("code.coding.system", ("code", "coding", "system")),
    ("$this", ()),
    ("value.ofType(Quantity).code", ("value", "ofType(Quantity)", "code")),
    # a dot inside a function's argument, quoted or not, does not end the step
    ("extension('http://hl7.org/fhir/StructureDefinition/patient-birthPlace').value",
     ("extension('http://hl7.org/fhir/StructureDefinition/patient-birthPlace')", "value")),
    ("item.where(linkId = 'a.b').answer", ("item", "where(linkId = 'a.b')", "answer")),
    # a parenthesis inside quotes does not open or close anything
    ("extension('urn:x:a)b.c').url", ("extension('urn:x:a)b.c')", "url")),
    # $this and empty steps name the current node: left out
    ("$this.resolve().code", ("resolve()", "code")),
    ("code..system", ("code", "system")),
])
def test_path_steps_split_on_dots_outside_arguments(path: str, steps: tuple[str, ...]) -> None:
    assert path_steps(path) == steps
