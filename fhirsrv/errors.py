"""Errors are answers: every failure becomes an OperationOutcome with the right HTTP status.

Code anywhere in the server raises :class:`FhirError` (or a subclass); the application's
error handler turns it into a response. Issues carry an issue-type ``code``, a sentence that
says what is wrong and what to do, and, where one element is at fault, its FHIRPath.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Issue:
    severity: str  # fatal | error | warning | information
    code: str  # FHIR issue-type code (invalid, structure, not-found, conflict …)
    diagnostics: str
    expression: list[str] = field(default_factory=list)
    message_id: str | None = None

    def to_fhir(self) -> dict[str, Any]:
        issue: dict[str, Any] = {"severity": self.severity, "code": self.code}
        if self.message_id:
            issue["details"] = {
                "coding": [{"system": MESSAGE_ID_SYSTEM, "code": self.message_id}],
                "text": self.diagnostics,
            }
        issue["diagnostics"] = self.diagnostics
        if self.expression:
            issue["expression"] = list(self.expression)
        return issue


MESSAGE_ID_SYSTEM = "https://fhirsrv.dev/CodeSystem/message-id"


def operation_outcome(issues: list[Issue] | list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [i.to_fhir() if isinstance(i, Issue) else i for i in issues],
    }


class FhirError(Exception):
    """An error answered with ``status`` and an OperationOutcome."""

    status = 400

    def __init__(
        self,
        diagnostics: str,
        *,
        status: int | None = None,
        code: str = "invalid",
        expression: list[str] | str | None = None,
        message_id: str | None = None,
        outcome: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(diagnostics)
        if status is not None:
            self.status = status
        if isinstance(expression, str):
            expression = [expression]
        self.issue = Issue("error", code, diagnostics, list(expression or []), message_id)
        self._outcome = outcome
        self.headers = dict(headers or {})

    @property
    def outcome(self) -> dict[str, Any]:
        return self._outcome or operation_outcome([self.issue])


class NotFound(FhirError):
    status = 404

    def __init__(self, diagnostics: str, **kwargs: Any) -> None:
        kwargs.setdefault("code", "not-found")
        super().__init__(diagnostics, **kwargs)


class Gone(FhirError):
    status = 410

    def __init__(self, diagnostics: str, **kwargs: Any) -> None:
        kwargs.setdefault("code", "deleted")
        super().__init__(diagnostics, **kwargs)


class Conflict(FhirError):
    status = 409

    def __init__(self, diagnostics: str, **kwargs: Any) -> None:
        kwargs.setdefault("code", "conflict")
        super().__init__(diagnostics, **kwargs)


class PreconditionFailed(FhirError):
    status = 412

    def __init__(self, diagnostics: str, **kwargs: Any) -> None:
        kwargs.setdefault("code", "conflict")
        super().__init__(diagnostics, **kwargs)


class Unprocessable(FhirError):
    """The resource parsed but breaks FHIR rules (base R4 or a profile)."""

    status = 422

    def __init__(self, diagnostics: str, **kwargs: Any) -> None:
        kwargs.setdefault("code", "processing")
        super().__init__(diagnostics, **kwargs)


def has_errors(outcome: dict[str, Any]) -> bool:
    return any(i.get("severity") in {"error", "fatal"} for i in outcome.get("issue", []))
