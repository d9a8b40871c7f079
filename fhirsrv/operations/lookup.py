"""``CodeSystem/$lookup``: what the server knows about one code (R4 OperationDefinition)."""

from __future__ import annotations

from typing import Any

from flask import Response

from ..errors import FhirError, NotFound
from ..terminology.codesystems import CodeSystemIndex, Concept
from ..terminology.operation_support import coded_input, instance, out_parameters, request_session
from .framework import Invocation, operation


@operation(
    "lookup",
    definition="http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup",
    type_level=True,
    instance=True,
    resource_types=("CodeSystem",),
    documentation="Display, designations and properties (parent, child, definition …) of a code.",
)
def lookup(inv: Invocation) -> Response:
    with request_session() as (session, cur):
        stored = instance(inv, cur)
        [coded] = coded_input(inv, codeable=None, system_required=stored is None)
        if stored is not None:
            index = CodeSystemIndex(stored)
            if coded.system and session.aliases.normalise(coded.system) != index.url:
                raise FhirError(f"the system {coded.system} is not the code system {index.url} of "
                                f"CodeSystem/{inv.id}", code="invalid", expression="system")
        else:
            index = session.require_codesystem(coded.system, coded.version)
        concept = index.get(coded.code)
        if concept is None:
            if not index.complete:
                raise NotFound(f"{coded.code!r} is not in the {index.content} of {index.url} this server holds; "
                               "a terminology server with the full code system may know it", expression=coded.source)
            raise NotFound(f"{coded.code!r} is not a code of {index.url}", expression=coded.source)
        wanted = {str(p) for p in inv.values("property")}
        return out_parameters(
            ("name", index.name),
            ("version", index.version),
            ("display", concept.display or concept.code),
            *[("designation", _designation(d)) for d in concept.designations],
            *[("property", parts) for parts in _properties(index, concept, wanted)],
        )


def _designation(designation: dict[str, Any]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if designation.get("language"):
        parts.append({"name": "language", "valueCode": designation["language"]})
    if designation.get("use"):
        parts.append({"name": "use", "valueCoding": designation["use"]})
    parts.append({"name": "value", "valueString": str(designation.get("value", ""))})
    return parts


def _properties(index: CodeSystemIndex, concept: Concept, wanted: set[str]) -> list[list[dict[str, Any]]]:
    """R4 standard properties (definition, parent, child) and the concept's own properties."""
    found: list[tuple[str, str, Any]] = []
    if concept.definition:
        found.append(("definition", "valueString", concept.definition))
    found += [("parent", "valueCode", p) for p in sorted(concept.parents)]
    found += [("child", "valueCode", c) for c in concept.children]
    for prop in concept.properties:
        code = prop.get("code")
        if code in ("parent", "child"):
            continue
        for key, value in prop.items():
            if key.startswith("value"):
                found.append((code, key, value))
    return [
        [{"name": "code", "valueCode": code}, {"name": "value", key: value}]
        for code, key, value in found
        if not wanted or code in wanted
    ]
