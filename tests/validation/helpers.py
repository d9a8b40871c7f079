"""Small helpers for asserting on validation issues."""

from __future__ import annotations

from fhirsrv.validation import Issue, Validator
from fhirsrv.validation.options import DEFAULT_OPTIONS, ValidationOptions


def errors(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.is_error]


def find(issues: list[Issue], message_id: str, expression: str | None = None) -> list[Issue]:
    """The issues with this message id (and expression, if given)."""
    return [i for i in issues if i.message_id == message_id and (expression is None or i.expression == expression)]


def describe(issues: list[Issue]) -> str:
    return "\n".join(f"{i.severity} {i.message_id} {i.expression}: {i.diagnostics}" for i in issues)


def local_validator(*resources: dict, options: ValidationOptions = DEFAULT_OPTIONS) -> Validator:
    """A validator over the shipped definitions plus ``resources`` (test profiles, value sets,
    a Measure …), leaving the shared registry untouched."""
    from fhirsrv.conformance.registry import Registry
    from fhirsrv.validation import default_validator

    registry = Registry()
    shared = default_validator().registry
    for kind in ("StructureDefinition", "ValueSet", "CodeSystem"):
        registry.add_all(shared.iter_type(kind))
    registry.add_all(resources)
    return Validator(registry, options=options)


def constraint_profile(url: str, type_: str, *elements: dict) -> dict:
    """A differential-only constraint profile on a core resource type."""
    return {
        "resourceType": "StructureDefinition", "url": url, "name": url.rsplit("/", 1)[-1].replace("-", ""), "status": "draft",
        "kind": "resource", "abstract": False, "type": type_, "derivation": "constraint",
        "baseDefinition": f"http://hl7.org/fhir/StructureDefinition/{type_}",
        "differential": {"element": [{"id": type_, "path": type_}, *elements]},
    }
