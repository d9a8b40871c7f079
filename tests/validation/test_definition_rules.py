"""SearchParameter / CapabilityStatement consistency and MeasureReport against its Measure
(fhirsrv.validation.definition_rules, measure_rules): fhir-test-cases sp-composite,
sp-diff-type, sp-diff-base, capstmt, mr-covid-mr1 and measure-report-ihe were Java-only errors."""

from __future__ import annotations

import pytest

from fhirsrv.validation import Validator

from .helpers import constraint_profile, describe, errors, find, local_validator


def _sp(**fields) -> dict:
    return {"resourceType": "SearchParameter", "url": "http://example.org/fhir/SearchParameter/x", "name": "X", "status": "active",
            "description": "x", "code": "name", "base": ["Organization"], "type": "string", "expression": "Organization.name", **fields}


def _where(issues, message_id: str) -> list[tuple[str, str, str]]:
    return [(i.severity, i.code, i.expression) for i in find(issues, message_id)]


def test_composite_needs_two_components(validator: Validator) -> None:
    issues = validator.issues(_sp(type="composite"))
    assert _where(issues, "searchparameter-composite") == [("error", "invalid", "SearchParameter")], describe(issues)


def test_derived_parameter_keeps_type_and_narrows_base(validator: Validator) -> None:
    origin = "http://hl7.org/fhir/SearchParameter/Organization-name"
    assert not errors(validator.issues(_sp(derivedFrom=origin))), describe(validator.issues(_sp(derivedFrom=origin)))
    issues = validator.issues(_sp(derivedFrom=origin, type="token"))
    assert _where(issues, "searchparameter-derived-type") == [("error", "invalid", "SearchParameter.type")], describe(issues)
    issues = validator.issues(_sp(derivedFrom=origin, base=["Patient"]))
    assert _where(issues, "searchparameter-derived-base") == [("error", "invalid", "SearchParameter.base[0]")], describe(issues)


def test_capability_statement_search_param_type_matches_definition(validator: Validator) -> None:
    def statement(kind: str) -> dict:
        return {"resourceType": "CapabilityStatement", "status": "active", "date": "2024-01-01", "kind": "instance",
                "implementation": {"description": "x"}, "fhirVersion": "4.0.1", "format": ["json"],
                "rest": [{"mode": "server", "resource": [{"type": "AllergyIntolerance", "searchParam": [
                    {"name": "clinical-status", "definition": "http://hl7.org/fhir/SearchParameter/AllergyIntolerance-clinical-status", "type": kind}]}]}]}
    issues = validator.issues(statement("date"))
    assert _where(issues, "capability-searchparam-type") == [("error", "invalid", "CapabilityStatement.rest[0].resource[0].searchParam[0].type")], describe(issues)
    assert not find(validator.issues(statement("token")), "capability-searchparam-type")


MEASURE = "http://example.org/fhir/Measure/m"


@pytest.fixture(scope="module")
def with_measure() -> Validator:
    stratifier_code = {"coding": [{"system": "http://example.org/strata", "code": "age"}]}
    return local_validator({"resourceType": "Measure", "url": MEASURE, "status": "active",
                  "scoring": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/measure-scoring", "code": "cohort"}]},
                  "group": [{"code": {"coding": [{"system": "http://example.org/g", "code": "g1"}]},
                             "stratifier": [{"id": "s1", "code": stratifier_code}]}]})


def _report(**group) -> dict:
    return {"resourceType": "MeasureReport", "status": "complete", "type": "summary", "measure": MEASURE,
            "period": {"start": "2024-01-01", "end": "2024-01-31"},
            "group": [{"code": {"coding": [{"system": "http://example.org/g", "code": "g1"}]}, **group}]}


def test_cohort_measure_has_no_score(with_measure: Validator) -> None:
    stratifier = [{"code": [{"coding": [{"system": "http://example.org/strata", "code": "age"}]}]}]
    issues = with_measure.issues(_report(measureScore={"value": 10}, stratifier=stratifier))
    assert _where(issues, "measurereport-score-cohort") == [("error", "business-rule", "MeasureReport.group[0].measureScore")], describe(issues)
    assert not errors(with_measure.issues(_report(stratifier=stratifier)))


def test_stratifiers_are_linked_by_code(with_measure: Validator) -> None:
    issues = with_measure.issues(_report(stratifier=[{"id": "s1"}]))
    assert _where(issues, "measurereport-stratifier-unknown") == [("error", "business-rule", "MeasureReport.group[0].stratifier[0]")], describe(issues)
    assert _where(issues, "measurereport-stratifier-missing") == [("error", "business-rule", "MeasureReport.group[0]")]


def test_unknown_target_profile_is_an_error() -> None:
    """res-inv-example-good: Java "Unable to resolve the profile reference '…'"."""
    local = local_validator(constraint_profile(
        "http://example.org/fhir/StructureDefinition/brand", "Organization",
        {"id": "Organization.endpoint", "path": "Organization.endpoint",
         "type": [{"code": "Reference", "targetProfile": ["http://example.org/fhir/StructureDefinition/not-loaded"]}]}))
    organization = {"resourceType": "Organization", "name": "O", "endpoint": [{"reference": "Endpoint/1"}]}
    issues = local.issues(organization, ["http://example.org/fhir/StructureDefinition/brand"])
    assert _where(issues, "reference-target-profile-unknown") == [("error", "not-found", "Organization.endpoint[0]")], describe(issues)
    assert not find(local.issues(organization), "reference-target-profile-unknown")  # base R4 alone: no such restriction
