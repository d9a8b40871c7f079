"""FHIRPath environment variables of invariants: %context, %resource and %rootResource.

Profiles check where they are evaluated with ``%resource.type().name`` (HL7's validator test
suite has such a case); these must see typed resources, not untyped JSON objects.
"""

from __future__ import annotations

from fhirsrv.validation.invariants import holds

PATIENT = {
    "resourceType": "Patient",
    "contained": [{"resourceType": "Practitioner", "id": "p1", "name": [{"text": "Dr Who"}]}],
    "generalPractitioner": [{"reference": "#p1"}],
}


def test_context_and_resource_types_on_an_element() -> None:
    reference = PATIENT["generalPractitioner"][0]
    assert holds("%context.type().name = 'Reference'", reference, "Reference", PATIENT, PATIENT)
    assert holds("%resource.type().name = 'Patient'", reference, "Reference", PATIENT, PATIENT)
    assert holds("%rootResource.type().name = 'Patient'", reference, "Reference", PATIENT, PATIENT)
    assert not holds("%resource.type().name = 'Practitioner'", reference, "Reference", PATIENT, PATIENT)


def test_resource_is_the_contained_one_and_root_the_container() -> None:
    contained = PATIENT["contained"][0]
    name = contained["name"][0]
    expression = "%resource.type().name = 'Practitioner' and %rootResource.type().name = 'Patient'"
    assert holds(expression, name, "HumanName", contained, PATIENT)
