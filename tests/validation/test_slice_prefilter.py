"""Slice matching skips a slice only when a value/pattern discriminator is sure to fail.

``slicing._cannot_match`` rejects a slice before its discriminators run when a string of the
slice's fixed or pattern value occurs nowhere in the item at the discriminator's path. It
must never reject a slice the discriminators would accept; these tests check that over every
section of every IPS example Composition against every section slice of the IPS profile
(with codes altered, too), and that the matching itself still gives the same sentences.
"""

from __future__ import annotations

import copy

from fhirsrv.validation.context import Run
from fhirsrv.validation.slicing import _cannot_match, _failure

from .helpers import describe, find
from .test_profiles import IPS_2, bundle_01, examples

COMPOSITION_IPS = "http://hl7.org/fhir/uv/ips/StructureDefinition/Composition-uv-ips|2.0.0"


def _sections() -> list[dict]:
    found = []
    for example in examples("hl7.fhir.uv.ips-2.0.0.tgz"):
        resources = [example] + [e.get("resource") or {} for e in example.get("entry") or []]
        for resource in resources:
            if resource.get("resourceType") == "Composition":
                found.extend(resource.get("section") or [])
    return found


def test_a_rejected_slice_is_one_the_discriminators_reject(validator):
    model = validator.definitions.structure(COMPOSITION_IPS)
    assert model is not None
    sliced = model.root.children["section"]
    assert sliced.slices and sliced.slicing is not None
    run = Run(validator.definitions, validator.local_valuesets)
    sections = _sections()
    altered = []
    for section in sections[:10]:  # the same sections with the LOINC system or code changed
        for field, value in (("system", "http://snomed.info/sct"), ("code", "11450-4x")):
            changed = copy.deepcopy(section)
            for coding in (changed.get("code") or {}).get("coding") or []:
                coding[field] = value
            altered.append(changed)
    assert len(sections) > 20
    rejected = 0
    for section in sections + altered:
        for slice_elem in sliced.slices:
            if _cannot_match(run, sliced, slice_elem, section, "Composition.section[0]", {}):
                rejected += 1
                assert _failure(run, sliced, slice_elem, section, "Composition.section[0]")[1] is not None
            # and a slice the discriminators accept is never rejected
            if _failure(run, sliced, slice_elem, section, "Composition.section[0]")[1] is None:
                assert not _cannot_match(run, sliced, slice_elem, section, "Composition.section[0]", {})
    assert rejected > len(sections)  # the filter does reject most slices


def test_a_section_with_a_wrong_code_still_gets_the_slice_sentence(validator):
    bundle = bundle_01()
    composition = bundle["entry"][0]["resource"]
    composition["section"][0]["code"]["coding"][0]["code"] = "00000-0"
    issues = validator.issues(bundle, [IPS_2])
    missing = find(issues, "slice-missing")
    assert missing, describe(issues)
    assert any("closest candidate, Bundle.entry[0].resource.section[0]" in i.diagnostics for i in missing), describe(missing)
