"""Options that put the validator in a mode of the HL7 Java validator, for comparing verdicts
(``bench/conformance.py`` maps the test suite's settings onto them): ``allow_comments``
(Java ``allow-comments``, fhir-test-cases json5/json-comments-*) and ``validate_contained``
(Java ``validateContains: IGNORE``, references/contained-resource-bad-id-ignore). The defaults
are what the server runs with: no comments, contained resources validated.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace

import pytest

from fhirsrv import fhirjson
from fhirsrv.validation import Validator
from fhirsrv.validation.cli import run
from fhirsrv.validation.options import DEFAULT_OPTIONS

from .helpers import describe, errors

# fhir-test-cases validator/json-comments-2.json, shortened (CC0)
COMMENTED_PATIENT = """{
  "resourceType" : "Patient",
  // example with comments
  "id" : "au-5",
  "name" : [{"family" : "Simmons", "given" : ["Sarah"] /* a comment in a bad place */ }],
  "gender" : "female",
  "telecom" : [{"system" : "url", "value" : "http://example.org/a//b /* not a comment */"}]
}"""

# fhir-test-cases validator/contained-resource.json (CC0): a 65-character contained id
CONTAINED = {
    "resourceType": "Condition",
    "subject": {"reference": "http://some.random.reference.that.doesnt.matter.com/yeah"},
    "contained": [{"resourceType": "Practitioner", "id": "1234567890" * 6 + "12345", "name": [{"family": "Person"}]}],
}


def _with(validator: Validator, **options: object) -> Validator:
    return Validator(validator.registry, options=replace(DEFAULT_OPTIONS, **options))


def test_comments_are_an_error_by_default(validator: Validator) -> None:
    with pytest.raises(fhirjson.JsonError, match=r"comments are not allowed in JSON \(line 3 column 3\)"):
        validator.parse(COMMENTED_PATIENT)


def test_allow_comments_reads_them_and_leaves_strings_alone(validator: Validator) -> None:
    patient = _with(validator, allow_comments=True).parse(COMMENTED_PATIENT)
    assert patient["telecom"][0]["value"] == "http://example.org/a//b /* not a comment */"
    assert patient["name"] == [{"family": "Simmons", "given": ["Sarah"]}]
    assert not errors(validator.issues(patient))


def test_cli_reports_a_commented_file_as_one_fatal_issue(tmp_path, validator: Validator) -> None:
    file = tmp_path / "commented.json"
    file.write_text(COMMENTED_PATIENT)
    out = io.StringIO()
    assert run([str(file), "--format", "json"], validator=validator, stdout=out) == 1
    issues = json.loads(out.getvalue())["issue"]
    assert [(i["severity"], i["code"], i["expression"]) for i in issues] == [("fatal", "structure", ["$this"])]
    assert "comments are not allowed in JSON (line 3 column 3)" in issues[0]["diagnostics"]


def test_contained_resources_are_validated_by_default(validator: Validator) -> None:
    found = [(i.severity, i.code, i.message_id, i.expression) for i in errors(validator.issues(CONTAINED))]
    # the case's description: "should yield 2 errors" — the id, and dom-3 (nothing refers to
    # the contained Practitioner)
    assert found == [("error", "value", "primitive-format", "Condition.contained[0].id"),
                     ("error", "invariant", "invariant-failed", "Condition")]


def test_validate_contained_off_leaves_them_and_dom3_unchecked(validator: Validator) -> None:
    issues = _with(validator, validate_contained=False).issues(CONTAINED)
    assert not errors(issues), describe(issues)
    assert not [i for i in issues if i.expression.startswith("Condition.contained")], describe(issues)
    assert not [i for i in issues if "dom-3" in i.diagnostics], describe(issues)
    # the containing resource itself is still validated
    bad = dict(CONTAINED, clinicalStatus={"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "nonsense"}]})
    assert [i.expression for i in errors(_with(validator, validate_contained=False).issues(bad))] == ["Condition.clinicalStatus.coding[0]"]
