"""A StructureDefinition validated as a definition (fhirsrv.validation.structure_definition_rules).

The definitions below are small versions of HL7's validator test cases (fhir-test-cases, CC0):
sd/obs-mz (a differential path renaming value[x] after no type), general/StructureDefinition-Slice23
(a slice that redefines the extension slicing, with a discriminator path Extension does not
have), sd/ext-derived (a derived extension that changes its base's fixed url) and
sd/ext-derived-circle (an extension derived from itself: Java warns that it cannot find the
base). Each was a Java-only error (or, for the circle, must stay a warning).
"""

from __future__ import annotations

import copy

from fhirsrv.validation import Validator

from .helpers import constraint_profile, describe, errors, find, local_validator

TEST = "http://example.org/fhir/StructureDefinition/"


def _where(issues, message_id: str) -> list[tuple[str, str, str]]:
    return [(i.severity, i.code, i.expression) for i in find(issues, message_id)]


def _sd_issues(issues) -> list:
    return [i for i in issues if i.message_id.startswith("sd-")]


def _extension(name: str, base: str, fixed_url: str) -> dict:
    return {
        "resourceType": "StructureDefinition", "url": TEST + name, "name": name.replace("-", ""), "status": "draft",
        "fhirVersion": "4.0.1", "kind": "complex-type", "abstract": False,
        "context": [{"type": "element", "expression": "Patient"}], "type": "Extension", "baseDefinition": base,
        "derivation": "constraint",
        "differential": {"element": [
            {"id": "Extension.extension", "path": "Extension.extension", "max": "0"},
            {"id": "Extension.url", "path": "Extension.url", "fixedUri": fixed_url},
            {"id": "Extension.value[x]", "path": "Extension.value[x]", "type": [{"code": "string"}]},
        ]},
    }


EXT_BASE = _extension("ext-base", "http://hl7.org/fhir/StructureDefinition/Extension", TEST + "ext-base")


def test_choice_renamed_after_no_type_is_an_error(validator: Validator) -> None:
    # obs-mz: the id says valueQuantity, the path says valueBla (no type is called Bla)
    profile = constraint_profile(TEST + "obs-mz", "Observation", {"id": "Observation.valueQuantity", "path": "Observation.valueBla"})
    issues = validator.issues(profile)
    assert _where(issues, "sd-differential-path") == [("error", "invalid", "StructureDefinition.differential.element[1].path")], describe(issues)
    assert "'Observation.value[x]'" in find(issues, "sd-differential-path")[0].diagnostics
    # the same element named after one of value[x]'s types is fine
    good = constraint_profile(TEST + "obs-ok", "Observation", {"id": "Observation.valueQuantity", "path": "Observation.valueQuantity", "min": 1})
    assert not _sd_issues(validator.issues(good)), describe(validator.issues(good))


def test_a_path_the_base_does_not_have_fails_snapshot_generation(validator: Validator) -> None:
    profile = constraint_profile(TEST + "obs-bad", "Observation", {"id": "Observation.colour", "path": "Observation.colour"})
    issues = validator.issues(profile)
    assert _where(issues, "sd-snapshot-generation") == [("error", "exception", "StructureDefinition")], describe(issues)
    # a definition that brings its own snapshot stays usable: a failed regeneration is a warning
    with_snapshot = dict(profile, snapshot=copy.deepcopy(validator.registry.get("http://hl7.org/fhir/StructureDefinition/Observation")["snapshot"]))
    issues = validator.issues(with_snapshot)
    assert _where(issues, "sd-snapshot-generation") == [("warning", "exception", "StructureDefinition")], describe(issues)


def _slice23(extension_slicing_path: str) -> dict:
    """AuditEvent.agent.extension sliced by url; the slice extOtherId restates the slicing."""
    other_id = TEST + "OtherId"
    return constraint_profile(
        TEST + "Slice23", "AuditEvent",
        {"id": "AuditEvent.agent.extension", "path": "AuditEvent.agent.extension",
         "slicing": {"discriminator": [{"type": "value", "path": "url"}], "ordered": False, "rules": "open"}},
        {"id": "AuditEvent.agent.extension:extOtherId", "path": "AuditEvent.agent.extension", "sliceName": "extOtherId",
         "slicing": {"discriminator": [{"type": "value", "path": extension_slicing_path}], "rules": "open"},
         "type": [{"code": "Extension", "profile": [other_id]}]},
        {"id": "AuditEvent.agent.extension:extOtherId/npi", "path": "AuditEvent.agent.extension", "sliceName": "extOtherId/npi", "max": "1"},
    )


OTHER_ID = {
    "resourceType": "StructureDefinition", "url": TEST + "OtherId", "name": "OtherId", "status": "draft",
    "kind": "complex-type", "abstract": False, "context": [{"type": "element", "expression": "Element"}],
    "type": "Extension", "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Extension", "derivation": "constraint",
    "differential": {"element": [
        {"id": "Extension.url", "path": "Extension.url", "fixedUri": TEST + "OtherId"},
        {"id": "Extension.value[x]", "path": "Extension.value[x]", "type": [{"code": "Identifier"}]},
    ]},
}


def test_slice_redefining_the_slicing_and_a_discriminator_extension_lacks() -> None:
    validator = local_validator(OTHER_ID)
    issues = validator.issues(_slice23("type"))
    where = "StructureDefinition.differential.element"
    assert _where(issues, "sd-slicing-redefined") == [("error", "business-rule", f"{where}[2].slicing")], describe(issues)
    assert "unordered/open [value=url]" in find(issues, "sd-slicing-redefined")[0].diagnostics
    assert _where(issues, "sd-discriminator-path") == [("error", "invalid", f"{where}[2].slicing.discriminator[0]")], describe(issues)


def test_restating_the_same_slicing_and_valid_discriminators_pass() -> None:
    validator = local_validator(OTHER_ID)
    issues = validator.issues(_slice23("url"))
    assert not _sd_issues(issues), describe(issues)
    # paths through a type choice, an extension and a resolved reference are followed or accepted
    profile = constraint_profile(
        TEST + "obs-slices", "Observation",
        {"id": "Observation.component", "path": "Observation.component",
         "slicing": {"discriminator": [{"type": "pattern", "path": "code.coding.system"},
                                       {"type": "value", "path": "value.ofType(Quantity).unit"},
                                       {"type": "value", "path": "extension('http://example.org/x').value"}], "rules": "open"}},
        {"id": "Observation.performer", "path": "Observation.performer",
         "slicing": {"discriminator": [{"type": "type", "path": "resolve()"}], "rules": "open"}},
    )
    issues = validator.issues(profile)
    assert not _sd_issues(issues), describe(issues)
    bad = constraint_profile(TEST + "obs-bad-slices", "Observation",
                             {"id": "Observation.component", "path": "Observation.component",
                              "slicing": {"discriminator": [{"type": "pattern", "path": "code.colour"}], "rules": "open"}})
    assert _where(validator.issues(bad), "sd-discriminator-path") == [("error", "invalid", "StructureDefinition.differential.element[1].slicing.discriminator[0]")]


def test_derived_extension_cannot_change_the_fixed_url() -> None:
    validator = local_validator(EXT_BASE)
    derived = _extension("ext-derived", TEST + "ext-base", TEST + "ext-derived")
    issues = validator.issues(derived)
    assert _where(issues, "sd-fixed-contradicts-base") == [("error", "value", "StructureDefinition.differential.element[1].fixedUri")], describe(issues)
    assert len(errors(issues)) == 1, describe(issues)
    # restating the base's fixed url is fine
    same = _extension("ext-derived", TEST + "ext-base", TEST + "ext-base")
    assert not _sd_issues(validator.issues(same)), describe(validator.issues(same))


def test_pattern_must_still_match_the_base_pattern() -> None:
    loinc = {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}
    base = constraint_profile(TEST + "heart-rate", "Observation", {"id": "Observation.code", "path": "Observation.code", "patternCodeableConcept": loinc})
    validator = local_validator(base)

    def derived(pattern: dict) -> dict:
        profile = constraint_profile(TEST + "heart-rate-2", "Observation", {"id": "Observation.code", "path": "Observation.code", "patternCodeableConcept": pattern})
        return dict(profile, baseDefinition=TEST + "heart-rate")

    narrower = {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]}
    assert not _sd_issues(validator.issues(derived(narrower))), describe(validator.issues(derived(narrower)))
    other = {"coding": [{"system": "http://loinc.org", "code": "9279-1"}]}
    issues = validator.issues(derived(other))
    assert _where(issues, "sd-pattern-contradicts-base") == [("error", "value", "StructureDefinition.differential.element[1].patternCodeableConcept")], describe(issues)


def test_extension_derived_from_itself_is_a_warning() -> None:
    # ext-derived-circle: Java reports "Unable to find base … so can't check the differential"
    # as a warning and no error; so do we, saying why.
    circle = _extension("ext-derived", TEST + "ext-derived", TEST + "ext-derived")
    validator = local_validator(EXT_BASE)
    issues = validator.issues(circle)
    assert _where(issues, "sd-base-circular") == [("warning", "not-found", "StructureDefinition.baseDefinition")], describe(issues)
    assert not errors(issues), describe(issues)
    # also when the definition is already in the registry (no endless recursion)
    assert _where(local_validator(circle).issues(circle), "sd-base-circular") == [("warning", "not-found", "StructureDefinition.baseDefinition")]


def test_longer_circle_fails_snapshot_generation() -> None:
    a = _extension("ext-a", TEST + "ext-b", TEST + "ext-a")
    b = _extension("ext-b", TEST + "ext-a", TEST + "ext-b")
    issues = local_validator(a, b).issues(a)
    assert _where(issues, "sd-snapshot-generation") == [("error", "exception", "StructureDefinition")], describe(issues)
    assert "circular" in find(issues, "sd-snapshot-generation")[0].diagnostics


def test_unknown_base_and_type_mismatch(validator: Validator) -> None:
    unknown = dict(constraint_profile(TEST + "p", "Patient"), baseDefinition=TEST + "not-here")
    issues = validator.issues(unknown)
    assert _where(issues, "sd-base-unknown") == [("warning", "not-found", "StructureDefinition.baseDefinition")], describe(issues)
    assert not errors(issues), describe(issues)
    wrong_type = dict(constraint_profile(TEST + "p", "Patient"), baseDefinition="http://hl7.org/fhir/StructureDefinition/Observation")
    issues = validator.issues(wrong_type)
    assert _where(issues, "sd-type-mismatch") == [("error", "invalid", "StructureDefinition.type")], describe(issues)
