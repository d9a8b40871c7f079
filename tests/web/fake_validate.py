"""A stand-in ``$validate`` for the browser test, used only while the real one is not on main.

It answers like the real operation (an OperationOutcome with severity, code, diagnostics and
a FHIRPath expression per issue) for the few mistakes the shipped broken example contains,
so the page can be tested end to end. ``installed`` tells whether it had to be installed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fhirsrv.operations import framework
from fhirsrv.rest.http import fhir_response

GENDERS = {"male", "female", "other", "unknown"}
DATE_TIME = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?(T.*)?$")
calls: list[dict[str, Any]] = []


def _issues(resource: dict[str, Any], path: str) -> list[dict[str, Any]]:
    found = []

    def error(code: str, text: str, where: str) -> None:
        found.append({"severity": "error", "code": code, "diagnostics": text, "expression": [where]})

    rtype = resource.get("resourceType")
    if rtype == "Patient" and "gender" in resource and resource["gender"] not in GENDERS:
        error("code-invalid", f"'{resource['gender']}' is not in the value set AdministrativeGender", f"{path}.gender")
    if rtype == "Composition" and "title" not in resource:
        error("required", "Composition.title: minimum required = 1, but only found 0", path)
    if rtype == "AllergyIntolerance" and "patient" not in resource:
        error("required", "AllergyIntolerance.patient: minimum required = 1, but only found 0", path)
    onset = resource.get("onsetDateTime")
    if isinstance(onset, str) and not DATE_TIME.match(onset):
        error("value", f"'{onset}' is not a valid dateTime", f"{path}.onset.ofType(dateTime)")
    return found


def _validate(invocation: framework.Invocation):
    body = invocation.body if invocation.body is not None else invocation.value("resource")
    calls.append({"profile": invocation.value("profile"), "type": invocation.rtype})
    issues: list[dict[str, Any]] = []
    if isinstance(body, dict):
        if body.get("resourceType") == "Bundle":
            for n, entry in enumerate(body.get("entry", [])):
                issues += _issues(entry.get("resource", {}), f"Bundle.entry[{n}].resource")
        else:
            issues += _issues(body, str(body.get("resourceType")))
    if not issues:
        issues = [{"severity": "information", "code": "informational", "diagnostics": "no issues found"}]
    issues.append({"severity": "warning", "code": "informational",
                   "diagnostics": "validated by the test stand-in", "expression": ["Bundle.meta"]})
    return fhir_response({"resourceType": "OperationOutcome", "issue": issues})


def real_validate_registered() -> bool:
    return any(spec.name == "validate" for spec in framework.registered())


@contextmanager
def installed() -> Iterator[bool]:
    """Register the stand-in unless a real ``$validate`` exists; yields True when it did."""
    if real_validate_registered():
        yield False
        return
    install()
    try:
        yield True
    finally:
        framework._REGISTRY.pop("validate", None)


def install() -> None:
    framework.operation("validate", definition="http://hl7.org/fhir/OperationDefinition/Resource-validate",
                        documentation="test stand-in")(_validate)
