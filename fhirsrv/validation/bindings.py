"""Terminology bindings: is the code of a coded element in the bound value set?

required → error when the value set can be checked and the code is not in it;
extensible → warning; preferred and example → not checked. When the checker cannot decide
(``valid is None``: a code system we do not have, a filter we cannot evaluate) the answer
is a warning that says so — never a silent pass, never a false error.
"""

from __future__ import annotations

from typing import Any

from fhirsrv.terminology import ValueSetChecker

from .model import Binding
from .outcome import Issue

CHECKED_STRENGTHS = frozenset({"required", "extensible"})
CODED_TYPES = frozenset({"code", "Coding", "CodeableConcept", "Quantity", "string", "uri"})


def _system(value: dict[str, Any]) -> str | None:
    """The system of a Coding or Quantity; a non-string one (a JSON-type error the walk
    reports) counts as absent, so that it cannot reach the terminology lookup."""
    system = value.get("system")
    return system if isinstance(system, str) else None


def _codings(type_code: str, value: Any) -> list[tuple[str | None, str, str]] | None:
    """(system, code, path suffix) pairs of a coded value; None when there is nothing coded."""
    if type_code in ("code", "string", "uri"):
        return [(None, value, "")] if isinstance(value, str) else None
    if not isinstance(value, dict):
        return None
    if type_code in ("Coding", "Quantity"):
        code = value.get("code")
        return [(_system(value), code, "")] if isinstance(code, str) else []
    codings = value.get("coding")
    if not isinstance(codings, list):
        return []
    return [
        (_system(c), c["code"], f".coding[{i}]")
        for i, c in enumerate(codings)
        if isinstance(c, dict) and isinstance(c.get("code"), str)
    ]


def check_binding(
    binding: Binding, type_code: str, value: Any, path: str, checker: ValueSetChecker
) -> list[Issue]:
    if binding.strength not in CHECKED_STRENGTHS or type_code not in CODED_TYPES:
        return []
    codings = _codings(type_code, value)
    if codings is None:
        return []
    required = binding.strength == "required"
    vs_name = binding.value_set.split("|", 1)[0]
    if not codings:
        if required and type_code == "CodeableConcept":
            return [Issue("error", "code-invalid", "binding-no-code", f"A code from the required value set {vs_name} must be given; text alone is not enough.", path)]
        return []
    unknown: list[str] = []
    wrong: list[tuple[str, str]] = []
    for system, code, suffix in codings:
        answer = checker.validate_code(binding.value_set, system=system, code=code)
        if answer.valid:
            return []
        shown = f"{system}#{code}" if system else repr(code)
        if answer.valid is None:
            unknown.append(answer.message or f"{shown} cannot be checked against {binding.value_set}")
        else:
            wrong.append((shown, suffix))
    if wrong and not unknown:
        shown = " or ".join(s for s, _ in wrong)
        suffix = wrong[0][1] if len(wrong) == 1 else ""
        if required:
            return [Issue("error", "code-invalid", "binding-required", f"The code {shown} is not in the required value set {vs_name}; use a code from that value set.", path + suffix)]
        return [Issue("warning", "code-invalid", "binding-extensible", f"The code {shown} is not in the extensible value set {vs_name}; use a code from it when one applies.", path + suffix)]
    reason = "; ".join(dict.fromkeys(unknown))
    return [Issue("warning", "not-supported", "binding-unchecked", f"The {binding.strength} binding to {vs_name} could not be checked: {reason}.", path)]
