"""Validation issues and the OperationOutcome they become.

Every issue carries a stable message id (``details.coding`` with :data:`MESSAGE_SYSTEM`) so
that clients and tests can key on the kind of problem without parsing English, a FHIR
issue-type ``code``, a sentence that says what to do, and a FHIRPath ``expression``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MESSAGE_SYSTEM = "https://fhirsrv.dev/CodeSystem/validation-message"

SEVERITY_ORDER = {"fatal": 0, "error": 1, "warning": 2, "information": 3}


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding; frozen so that equal findings from two walks collapse in a set."""

    severity: str  # fatal | error | warning | information
    code: str  # FHIR issue-type: structure, required, value, invariant, code-invalid …
    message_id: str  # stable id, e.g. ``unknown-element``
    diagnostics: str
    expression: str

    @property
    def is_error(self) -> bool:
        return self.severity in ("error", "fatal")

    def to_fhir(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "details": {"coding": [{"system": MESSAGE_SYSTEM, "code": self.message_id}]},
            "diagnostics": self.diagnostics,
            "expression": [self.expression],
        }


def dedupe(issues: list[Issue]) -> list[Issue]:
    """Drop repeats (base and profile walks can find the same thing), keep first order."""
    seen: set[tuple[str, str, str]] = set()
    result: list[Issue] = []
    for issue in issues:
        key = (issue.message_id, issue.expression, issue.diagnostics)
        if key not in seen:
            seen.add(key)
            result.append(issue)
    return result


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    """The OperationOutcome for a list of issues; an all-clear one when there are none.

    FHIR requires at least one issue, so a clean result says so with an ``information``.
    """
    unique = dedupe(issues)
    if not unique:
        return {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "information",
                    "code": "informational",
                    "details": {"coding": [{"system": MESSAGE_SYSTEM, "code": "all-ok"}]},
                    "diagnostics": "No issues found.",
                }
            ],
        }
    return {"resourceType": "OperationOutcome", "issue": [i.to_fhir() for i in unique]}


def has_errors(outcome: dict[str, Any]) -> bool:
    return any(i.get("severity") in ("error", "fatal") for i in outcome.get("issue", []))
