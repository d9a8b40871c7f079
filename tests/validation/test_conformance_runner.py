"""The conformance runner's own judgements (bench/conformance.py): which runs it skips as
needing an online terminology server, and which suite settings it maps onto our options."""

from __future__ import annotations

from bench.conformance import foreign_outcome, terminology_only, validation_options
from fhirsrv.validation import default_validator
from fhirsrv.validation.options import ValidationOptions


def _outcome(*texts: str, severity: str = "error") -> dict:
    return {"resourceType": "OperationOutcome", "issue": [{"severity": severity, "code": "invalid", "details": {"text": t}} for t in texts]}


WRONG_DISPLAY = "Wrong Display Name 'O2 % BldC Oximetry' for http://loinc.org#59408-5. Valid display is one of 3 choices"
UNKNOWN_CODE = "Unknown code '209' in the CodeSystem 'http://hl7.org/fhir/sid/cvx' version '20250715'"


def test_only_terminology_errors_on_systems_we_lack_are_skipped() -> None:
    registry = default_validator().registry
    assert terminology_only(_outcome(WRONG_DISPLAY, UNKNOWN_CODE), registry) == ["http://loinc.org", "http://hl7.org/fhir/sid/cvx"]


def test_any_other_error_keeps_the_run() -> None:
    registry = default_validator().registry
    assert terminology_only(_outcome(WRONG_DISPLAY, "Constraint failed: vs-3: 'If there is no a value a data absent reason must be present'"), registry) is None
    assert terminology_only(_outcome(), registry) is None  # nothing to blame on terminology
    assert terminology_only(_outcome(WRONG_DISPLAY, severity="warning"), registry) is None


def test_code_systems_we_hold_in_full_are_ours_to_judge() -> None:
    registry = default_validator().registry
    text = "Wrong Display Name 'x' for http://hl7.org/fhir/administrative-gender#male. Valid display is 'Male'"
    assert terminology_only(_outcome(text), registry) is None


def test_suite_settings_map_onto_validation_options() -> None:
    # Java's defaults: wrong displays are errors (fhirsrv's own default is a warning), and the
    # harness never allows unknown extensions beyond the allowed domains
    harness = ValidationOptions(display_warnings=False, unknown_extensions="error")
    assert validation_options({"name": "x"}) == harness
    assert validation_options({"name": "x", "wrong-displays": "warning"}) == ValidationOptions(unknown_extensions="error")
    assert validation_options({"security-checks": True, "noHtmlInMarkdown": True, "examples": False,
                               "validateReference": "CHECK_EXISTS_AND_TYPE"}) == ValidationOptions(
        security_checks=True, no_html_in_markdown=True, allow_example_urls=False, references_must_resolve=True,
        display_warnings=False, unknown_extensions="error")
    assert validation_options({"allow-comments": True, "validateContains": "IGNORE"}) == ValidationOptions(
        allow_comments=True, validate_contained=False, display_warnings=False, unknown_extensions="error")
    # CHECK_TYPE and CHECK_VALID have no weaker counterpart here: contained resources are validated
    assert validation_options({"validateContains": "CHECK_VALID", "wrong-displays": "warning"}) == ValidationOptions(
        unknown_extensions="error")
    assert validation_options({"allowed-extension-domain": "https://fhir.nhs.uk/StructureDefinition",
                               "allowed-extension-domains": ["http://a.example/", "http://b.example/"]}).allowed_extension_domains == (
        "https://fhir.nhs.uk/StructureDefinition", "http://a.example/", "http://b.example/")


def test_iso_3166_displays_are_ours_to_judge() -> None:
    """ISO 3166 is generated (not in the registry), so a run whose only Java errors are ISO
    display verdicts stays in the comparison."""
    text = "Wrong Display Name 'Australia' for urn:iso:std:iso:3166#BD. Valid display is 'Bangladesh' (en)"
    assert terminology_only(_outcome(text), default_validator().registry) is None


def test_an_outcome_about_another_resource_type_is_recognised() -> None:
    # fhir-test-cases lists ext-derived-circle twice; one entry carries, inline, an outcome
    # whose issues are all on a ValueSet while the input is a StructureDefinition.
    about_valueset = {"issue": [{"severity": "error", "expression": ["ValueSet"]},
                                {"severity": "error", "expression": ["ValueSet.compose.include[0].filter[0]"]}]}
    sd = {"resourceType": "StructureDefinition"}
    assert foreign_outcome(about_valueset, sd) == "ValueSet"
    own = {"issue": [{"severity": "warning", "expression": ["StructureDefinition.context[0]"]}]}
    assert foreign_outcome(own, sd) is None
    assert foreign_outcome({"issue": [{"severity": "error", "expression": ["Bundle.entry[2].resource"]}]}, {"resourceType": "Bundle"}) is None
    assert foreign_outcome({}, sd) is None  # nothing to judge by
