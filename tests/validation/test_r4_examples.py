"""Official R4 examples validate with no error against base R4 — except those that are
themselves invalid, each named here with the rule it breaks.

The sample (``tests/data/validation/r4-examples-sample.tgz``, see its README) was built with::

    members = sorted(m for m in tar if m.name.endswith(".json") and m.size < 150_000)
    sample = [m for i, m in enumerate(members) if i % 8 == 0 or m.name in INVALID]

Over all 5,306 examples the same exception list holds plus the few large definition bundles
listed in ``INVALID_OUTSIDE_SAMPLE`` (checked by hand with ``bench``-style runs, not here).
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from fhirsrv import fhirjson

from .helpers import describe, errors

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "validation" / "r4-examples-sample.tgz"

# example file → (message id, the rule it breaks)
INVALID = {
    "DeviceMetric-example.json": ("reference-target-type", "DeviceMetric.parent is Reference(Device); the example points to a DeviceDefinition"),
    "DeviceUseStatement-example.json": ("reference-target-type", "reasonReference allows Condition|Observation|DiagnosticReport|DocumentReference|Media, not Procedure"),
    "Observation-clinical-gender.json": ("reference-target-type", "Observation.performer may not reference an Encounter"),
    "OrganizationAffiliation-orgrole1.json": ("reference-target-type", "network is Reference(Organization); the example uses 'Network/…'"),
    "Questionnaire-qs1.json": ("cardinality-min", "Questionnaire.item.linkId is 1..1; nested items lack it"),
    "SearchParameter-questionnaireresponse-extensions-QuestionnaireResponse-item-subject.json": ("primitive-format", "the id is 67 characters; an id has at most 64"),
    "SearchParameter-valueset-extensions-ValueSet-author.json": ("cardinality-min", "SearchParameter.base is 1..*"),
    "SearchParameter-codesystem-extensions-CodeSystem-keyword.json": ("cardinality-min", "SearchParameter.base is 1..*"),
}

INVALID_OUTSIDE_SAMPLE = {
    "SearchParameter-valueset-extensions-ValueSet-{effective,end,keyword,workflow}.json": "SearchParameter.base is 1..*",
    "Bundle-bundle-response.json / Bundle-bundle-transaction.json": "none since inv-1 typing was fixed",
    "ImplementationGuide-*.json (2)": "ImplementationGuide.name and .status are 1..1",
    "StructureDefinition examples (4)": "sdf-4: a non-abstract structure needs a baseDefinition",
    "CodeSystem-* with ext-1 failures": "extensions with neither value nor sub-extensions",
}


def _examples():
    with tarfile.open(SAMPLE) as tar:
        for member in tar:
            if member.isfile() and member.name.endswith(".json"):
                yield member.name.rsplit("/", 1)[-1], fhirjson.loads(tar.extractfile(member).read())


def test_sample_is_broad():
    names = [name for name, _ in _examples()]
    assert len(names) > 600
    assert set(INVALID) <= set(names)


@pytest.mark.slow
def test_r4_examples_sample(validator):
    unexpected, missed = {}, []
    for name, resource in _examples():
        if not isinstance(resource, dict) or "resourceType" not in resource:
            continue
        found = errors(validator.issues(resource))
        if name in INVALID:
            if not any(i.message_id == INVALID[name][0] for i in found):
                missed.append(name)
        elif found:
            unexpected[name] = describe(found)
    assert not unexpected, unexpected
    assert not missed, missed
