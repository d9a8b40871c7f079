"""The snapshot generator's rules, one small differential each, over the real R4 core."""

from __future__ import annotations

from typing import Any

import pytest

from fhirsrv.conformance.registry import Registry
from fhirsrv.conformance.snapshot import SnapshotError, generate_snapshot, snapshot_of

BASE = "http://hl7.org/fhir/StructureDefinition/"


def profile(resource_type: str, *elements: dict[str, Any], url: str = "http://example.org/sd/test",
            base: str | None = None) -> dict[str, Any]:
    return {
        "resourceType": "StructureDefinition",
        "url": url,
        "type": resource_type,
        "derivation": "constraint",
        "baseDefinition": base or BASE + resource_type,
        "differential": {"element": list(elements)},
    }


def snapshot_by_id(sd: dict[str, Any], registry) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in generate_snapshot(sd, registry)["snapshot"]["element"]}


def test_cardinality_and_pattern_merge(registry) -> None:
    sd = profile("Observation", {"id": "Observation.code", "path": "Observation.code", "min": 1,
                                 "patternCodeableConcept": {"coding": [{"system": "http://loinc.org", "code": "1-8"}]}})
    code = snapshot_by_id(sd, registry)["Observation.code"]
    assert code["min"] == 1 and code["max"] == "1"
    assert code["patternCodeableConcept"]["coding"][0]["code"] == "1-8"
    assert code["short"]  # what the differential does not say comes from the base


def test_concrete_choice_name_becomes_type_slice(registry) -> None:
    sd = profile("Observation", {"id": "Observation.valueQuantity", "path": "Observation.valueQuantity", "min": 1},
                 {"id": "Observation.valueQuantity.system", "path": "Observation.valueQuantity.system",
                  "fixedUri": "http://unitsofmeasure.org"})
    elements = snapshot_by_id(sd, registry)
    value = elements["Observation.value[x]:valueQuantity"]
    assert value["path"] == "Observation.value[x]" and value["sliceName"] == "valueQuantity"
    assert [t["code"] for t in value["type"]] == ["Quantity"] and value["min"] == 1
    assert elements["Observation.value[x]"]["slicing"]["discriminator"] == [{"type": "type", "path": "$this"}]
    unit_system = elements["Observation.value[x]:valueQuantity.system"]
    assert unit_system["path"] == "Observation.value[x].system"
    assert unit_system["fixedUri"] == "http://unitsofmeasure.org"


def test_data_type_children_are_unrolled_in_place(registry) -> None:
    sd = profile("Condition", {"id": "Condition.code.coding", "path": "Condition.code.coding", "min": 1})
    ids = [e["id"] for e in generate_snapshot(sd, registry)["snapshot"]["element"]]
    start = ids.index("Condition.code")
    assert ids[start + 1 : start + 5] == ["Condition.code.id", "Condition.code.extension",
                                          "Condition.code.coding", "Condition.code.text"]
    assert ids[start + 5] == "Condition.bodySite"


def test_type_profile_is_used_to_unroll(registry) -> None:
    ips_cc = "http://hl7.org/fhir/uv/ips/StructureDefinition/CodeableConcept-uv-ips"
    sd = profile("Condition", {"id": "Condition.code", "path": "Condition.code",
                               "type": [{"code": "CodeableConcept", "profile": [ips_cc]}]},
                 {"id": "Condition.code.text", "path": "Condition.code.text", "max": "0"})
    elements = snapshot_by_id(sd, registry)
    # CodeableConcept-uv-ips slices coding; the unrolled children carry its constraints.
    assert any(i.startswith("Condition.code.coding") for i in elements)
    assert elements["Condition.code.text"]["max"] == "0"


def test_slices_copy_the_constrained_element_and_reslices_follow_their_slice(registry) -> None:
    sd = profile(
        "Patient",
        {"id": "Patient.identifier", "path": "Patient.identifier", "min": 1,
         "slicing": {"discriminator": [{"type": "value", "path": "system"}], "rules": "open"}},
        {"id": "Patient.identifier.value", "path": "Patient.identifier.value", "min": 1},
        {"id": "Patient.identifier:national", "path": "Patient.identifier", "sliceName": "national", "max": "1"},
        {"id": "Patient.identifier:national.system", "path": "Patient.identifier.system", "fixedUri": "urn:x"},
        {"id": "Patient.identifier:other", "path": "Patient.identifier", "sliceName": "other"},
        {"id": "Patient.identifier:national/bis", "path": "Patient.identifier", "sliceName": "national/bis"},
    )
    elements = generate_snapshot(sd, registry)["snapshot"]["element"]
    ids = [e["id"] for e in elements]
    national = ids.index("Patient.identifier:national")
    assert ids.index("Patient.identifier:national/bis") < ids.index("Patient.identifier:other")
    assert national < ids.index("Patient.identifier:national/bis")
    by_id = {e["id"]: e for e in elements}
    assert by_id["Patient.identifier:national.value"]["min"] == 1  # inherited from the sliced element
    assert by_id["Patient.identifier:national.system"]["fixedUri"] == "urn:x"
    assert "slicing" not in by_id["Patient.identifier:other"]
    assert by_id["Patient.identifier:national"]["max"] == "1"


def test_differential_without_ids(registry) -> None:
    sd = profile("Patient", {"path": "Patient.birthDate", "min": 1})
    assert snapshot_by_id(sd, registry)["Patient.birthDate"]["min"] == 1


def test_constraints_are_added_with_their_source(registry) -> None:
    sd = profile("Patient", {"id": "Patient.name", "path": "Patient.name",
                             "constraint": [{"key": "x-1", "severity": "error", "human": "h", "expression": "true"}]})
    keys = {c["key"]: c for c in snapshot_by_id(sd, registry)["Patient.name"]["constraint"]}
    assert "ele-1" in keys and keys["x-1"]["source"] == "http://example.org/sd/test"


def test_base_without_snapshot_is_generated_first(registry) -> None:
    parent = profile("Patient", {"id": "Patient.gender", "path": "Patient.gender", "min": 1},
                     url="http://example.org/sd/parent")
    child = profile("Patient", {"id": "Patient.birthDate", "path": "Patient.birthDate", "min": 1},
                    base="http://example.org/sd/parent")
    local = Registry()
    local.add_all(registry.iter_type("StructureDefinition"))
    local.add(parent)
    elements = snapshot_by_id(child, local)
    assert elements["Patient.gender"]["min"] == 1 and elements["Patient.birthDate"]["min"] == 1


def test_errors_name_the_problem(registry) -> None:
    with pytest.raises(SnapshotError, match="not in the registry"):
        generate_snapshot(profile("Patient", base="http://example.org/nothing"), registry)
    with pytest.raises(SnapshotError, match="does not exist"):
        generate_snapshot(profile("Patient", {"id": "Patient.nonsense", "path": "Patient.nonsense"}), registry)


def test_snapshot_of_generates_once_and_keeps_it(registry) -> None:
    sd = profile("Patient", {"id": "Patient.gender", "path": "Patient.gender", "min": 1})
    first = snapshot_of(sd, registry)
    assert sd["snapshot"]["element"] is first
    assert snapshot_of(sd, registry) is first
    assert next(e for e in first if e["id"] == "Patient.gender")["min"] == 1


def test_specialisations_are_refused(registry) -> None:
    logical = dict(profile("Base"), derivation="specialization")
    with pytest.raises(SnapshotError, match="only constraint"):
        generate_snapshot(logical, registry)


def test_concrete_choice_name_below_an_unrolled_extension_slice(registry) -> None:
    # fhir-test-cases general/StructureDefinition-Slice23: extension:otherId.valueIdentifier.type,
    # where the slice's value[x] appears only once the slice is unrolled.
    sd = profile("Patient",
                 {"id": "Patient.extension:otherId", "path": "Patient.extension", "sliceName": "otherId"},
                 {"id": "Patient.extension:otherId.valueIdentifier.type", "path": "Patient.extension.valueIdentifier.type",
                  "patternCodeableConcept": {"coding": [{"code": "NPI"}]}})
    elements = snapshot_by_id(sd, registry)
    value = elements["Patient.extension:otherId.value[x]:valueIdentifier"]
    assert [t["code"] for t in value["type"]] == ["Identifier"]
    assert elements["Patient.extension:otherId.value[x]:valueIdentifier.type"]["patternCodeableConcept"]["coding"][0]["code"] == "NPI"


def test_circular_definitions_are_an_error_not_a_recursion(registry) -> None:
    a = profile("Patient", url="http://example.org/sd/a", base="http://example.org/sd/b")
    b = profile("Patient", url="http://example.org/sd/b", base="http://example.org/sd/a")
    local = Registry()
    local.add_all(registry.iter_type("StructureDefinition"))
    local.add_all([a, b])
    with pytest.raises(SnapshotError, match="circular definitions: http://example.org/sd/a → http://example.org/sd/b → http://example.org/sd/a"):
        generate_snapshot(a, local)
