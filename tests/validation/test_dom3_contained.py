"""dom-3: a contained resource is referred to from elsewhere in its container, or refers to
the container. R4 publishes the rule with ``descendants().as(canonical)``, which FHIRPath
cannot evaluate on a collection: every resource with contained resources used to get an
``invariant-unevaluable`` warning and no check at all. It is evaluated in the R4B/R5 wording
(``ofType``, see constraint_corrections.py)."""

from __future__ import annotations

import pytest

from fhirsrv.validation import Validator

from .helpers import describe, errors

PRACTITIONER = {"resourceType": "Practitioner", "id": "p1"}
VALUE_SET = {"resourceType": "ValueSet", "id": "vs1", "status": "active",
             "compose": {"include": [{"system": "http://loinc.org"}]}}


def _condition(**extra: object) -> dict:
    return {"resourceType": "Condition", "id": "c", "contained": [PRACTITIONER],
            "subject": {"reference": "Patient/1"}, **extra}


def _dom3(issues: list) -> list[tuple[str, str, str, str]]:
    return [(i.severity, i.code, i.message_id, i.expression) for i in issues if "dom-3" in i.diagnostics]


def test_an_unreferenced_contained_resource_breaks_dom3(validator: Validator) -> None:
    issues = validator.issues(_condition())
    assert _dom3(issues) == [("error", "invariant", "invariant-failed", "Condition")], describe(issues)


@pytest.mark.parametrize("resource", [
    _condition(asserter={"reference": "#p1"}),  # referenced from the container
    {"resourceType": "Condition", "id": "c", "subject": {"reference": "Patient/1"},  # refers to its container
     "contained": [{"resourceType": "Provenance", "id": "prov", "recorded": "2024-01-01T00:00:00Z",
                    "target": [{"reference": "#"}], "agent": [{"who": {"display": "x"}}]}],
     "evidence": [{"detail": [{"display": "y"}]}]},
    {"resourceType": "Questionnaire", "id": "q", "status": "active", "contained": [VALUE_SET],  # a canonical
     "item": [{"linkId": "1", "type": "choice", "answerValueSet": "#vs1"}]},
])
def test_referenced_contained_resources_pass_dom3_without_warnings(validator: Validator, resource: dict) -> None:
    issues = validator.issues(resource)
    assert _dom3(issues) == [], describe(issues)
    assert not [i for i in issues if i.message_id == "invariant-unevaluable"], describe(issues)
    assert not errors(issues), describe(issues)
