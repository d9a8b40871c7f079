"""An invariant holds only when its result is true, and date-time elements compare as times.

fhir-test-cases invariants/encounter-period: ``Encounter.period`` from ``2023-06-21`` to
``2023-06-21T06:20:00Z``. FHIRPath cannot order a date against a time on that same day (the
comparison is empty), so per-1 (``… or (start <= end)``) is empty, and the HL7 Java validator
reports "Constraint failed: per-1". fhirsrv used to count an empty result as holding, and
fhirpathpy compared the two elements as strings (true) besides.
"""

from __future__ import annotations

import pytest

from fhirsrv.validation import Validator

from .helpers import constraint_profile, describe, errors, find, local_validator

# fhir-test-cases validator/encounter-period.json, shortened (CC0)
ENCOUNTER = {
    "resourceType": "Encounter",
    "status": "unknown",
    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
    "subject": {"reference": "Patient/eNO3wqOfAltfnWMfWBQ1WmQ3"},
}


def _encounter(start: str, end: str) -> dict:
    return dict(ENCOUNTER, period={"start": start, "end": end})


def test_a_date_and_a_time_on_the_same_day_fail_per1(validator: Validator) -> None:
    issues = validator.issues(_encounter("2023-06-21", "2023-06-21T06:20:00Z"))
    found = [(i.severity, i.code, i.message_id, i.expression) for i in errors(issues)]
    assert found == [("error", "invariant", "invariant-failed", "Encounter.period")], describe(issues)
    assert errors(issues)[0].diagnostics.startswith("per-1:")


@pytest.mark.parametrize(("start", "end", "valid"), [
    ("2023-06-20", "2023-06-21T06:20:00Z", True),  # the days decide
    ("2023-06-22", "2023-06-21T06:20:00Z", False),
    ("2023-06-21T10:00:00+02:00", "2023-06-21T09:00:00Z", True),  # 08:00 UTC before 09:00 UTC (not text order)
    ("2023-06-21T10:00:00+00:00", "2023-06-21T09:00:00Z", False),
    ("2023-06-21T06:20:00Z", "2023-06-21T06:20:00Z", True),
])
def test_period_bounds_compare_as_times(validator: Validator, start: str, end: str, valid: bool) -> None:
    issues = validator.issues(_encounter(start, end))
    assert bool(find(issues, "invariant-failed", "Encounter.period")) is not valid, describe(issues)


def test_an_empty_result_is_a_failed_invariant() -> None:
    url = "http://example.org/fhirsrv-test/StructureDefinition/born-after-2000"
    local = local_validator(constraint_profile(url, "Patient", {
        "id": "Patient", "path": "Patient",
        "constraint": [{"key": "zzz-1", "severity": "error", "human": "born after 2000",
                        "expression": "birthDate > @2000-01-01"}]}))
    no_birth_date = local.issues({"resourceType": "Patient"}, [url])  # the comparison is empty
    assert [(i.code, i.message_id, i.expression) for i in errors(no_birth_date)] == [
        ("invariant", "invariant-failed", "Patient")], describe(no_birth_date)
    assert not errors(local.issues({"resourceType": "Patient", "birthDate": "2001-05-05"}, [url]))


def test_ras2_without_a_probability_holds_as_corrected(validator: Validator) -> None:
    """ras-2 as published is empty when a prediction has no probability; the Java validator
    (and fhirsrv, constraint_corrections) evaluate the corrected wording."""
    risk = {"resourceType": "RiskAssessment", "status": "final", "subject": {"reference": "Patient/1"},
            "prediction": [{"outcome": {"text": "Unknown risk"}}]}
    assert not errors(validator.issues(risk)), describe(validator.issues(risk))
    risk["prediction"][0]["probabilityDecimal"] = 150
    found = errors(validator.issues(risk))
    assert [(i.message_id, i.expression) for i in found] == [("invariant-failed", "RiskAssessment.prediction[0]")]
    assert found[0].diagnostics.startswith("ras-2:")


def test_a_canonical_resource_without_a_name_gets_no_name_warning(validator: Validator) -> None:
    code_system = {"resourceType": "CodeSystem", "status": "draft", "content": "not-present"}
    assert not [i for i in validator.issues(code_system) if "csd-0" in i.diagnostics]
    code_system["name"] = "lower case"
    assert [i.severity for i in validator.issues(code_system) if i.diagnostics.startswith("csd-0")] == ["warning"]
