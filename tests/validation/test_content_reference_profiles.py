"""A profile on Parameters.parameter must not re-apply to every nested ``part``.

``part`` is a contentReference to ``#Parameters.parameter``; expanding it from the profile's
own (constrained) element fixed every part's name to the outer parameter's name and copied
the outer ``part`` minimum into each part — false errors on valid content.
"""

from __future__ import annotations

import pytest

from fhirsrv.validation import Validator

from .helpers import describe, errors, local_validator

URL = "http://example.org/fhirsrv-test/StructureDefinition/params-nested"


@pytest.fixture(scope="module")
def local() -> Validator:
    return local_validator({
        "resourceType": "StructureDefinition", "url": URL, "name": "ParamsNested", "status": "draft",
        "kind": "resource", "abstract": False, "type": "Parameters", "derivation": "constraint",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Parameters",
        "differential": {"element": [
            {"id": "Parameters", "path": "Parameters"},
            {"id": "Parameters.parameter.name", "path": "Parameters.parameter.name", "fixedString": "Outer"},
            {"id": "Parameters.parameter.part", "path": "Parameters.parameter.part", "min": 1,
             "slicing": {"discriminator": [{"type": "value", "path": "name"}], "rules": "closed"}},
            {"id": "Parameters.parameter.part:inner", "path": "Parameters.parameter.part",
             "sliceName": "inner", "min": 1, "max": "1"},
            {"id": "Parameters.parameter.part:inner.name", "path": "Parameters.parameter.part.name",
             "fixedString": "Inner"},
            {"id": "Parameters.parameter.part:inner.value[x]", "path": "Parameters.parameter.part.value[x]",
             "min": 1},
            {"id": "Parameters.parameter.part:inner.part", "path": "Parameters.parameter.part.part", "max": "0"},
        ]},
    })


def test_nested_part_follows_its_slice_not_the_outer_parameter(local: Validator) -> None:
    params = {"resourceType": "Parameters", "parameter": [
        {"name": "Outer", "part": [{"name": "Inner", "valueString": "x"}]},
    ]}
    issues = local.issues(params, [URL])
    assert not errors(issues), describe(issues)


def test_the_slice_rules_still_apply(local: Validator) -> None:
    params = {"resourceType": "Parameters", "parameter": [
        {"name": "Outer", "part": [{"name": "Inner"}]},
    ]}
    assert errors(local.issues(params, [URL]))
