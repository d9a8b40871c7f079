"""Checks every write goes through before anything is stored."""

from __future__ import annotations

import re
from typing import Any

from ..errors import FhirError, NotFound, Unprocessable, has_errors
from ..terminology.conceptmap_rules import reject_broken_conceptmap
from .http import services

ID_PATTERN = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def known_type(rtype: str) -> str:
    """404 for a name that is not an R4 resource type (``/fhir/Patients``)."""
    if not services().model.is_resource_type(rtype):
        raise NotFound(f"{rtype!r} is not a FHIR R4 resource type", code="not-supported")
    return rtype


def valid_id(rid: str, expression: str = "id") -> str:
    if not ID_PATTERN.match(rid):
        raise FhirError(
            f"{rid!r} is not a valid FHIR id (1-64 characters: letters, digits, '-' and '.')",
            code="value",
            expression=expression,
        )
    return rid


def validate_for_write(resource: dict[str, Any], *, expression_prefix: str = "") -> None:
    """422 with the validator's OperationOutcome when the resource breaks base R4 or its profiles."""
    rid = resource.get("id")
    if rid is not None and (not isinstance(rid, str) or not ID_PATTERN.match(rid)):
        raise Unprocessable(
            f"{rid!r} is not a valid FHIR id", code="value", expression=f"{expression_prefix}{resource['resourceType']}.id"
        )
    reject_broken_conceptmap(resource, expression_prefix)  # R4 map rules, even with validation off
    if not services().settings.validate_on_write:
        return
    outcome = services().write_validator(resource)
    if has_errors(outcome):
        first = next(i for i in outcome["issue"] if i.get("severity") in {"error", "fatal"})
        raise Unprocessable(first.get("diagnostics", "the resource is not valid"), outcome=outcome)
