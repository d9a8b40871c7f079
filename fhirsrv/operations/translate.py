"""``ConceptMap/$translate`` (R4): every applicable target of a code, with its R4 equivalence.

``result`` is true only when some match is neither ``unmatched`` nor ``disjoint``; explicit
non-matches are still listed, as the specification asks. Without ``url``/``conceptMap`` every
map the server has (shipped, packaged, stored) is consulted. A target with ``dependsOn``
applies only when the ``dependency`` parameters give each such element its value.
"""

from __future__ import annotations

from typing import Any

from flask import Response

from ..errors import FhirError
from ..terminology.conceptmaps import Match, Translation
from ..terminology.operation_support import (
    boolean,
    coded_input,
    dependencies,
    instance,
    out_parameters,
    request_session,
    resource,
    text,
)
from .framework import Invocation, operation


@operation(
    "translate",
    definition="http://hl7.org/fhir/OperationDefinition/ConceptMap-translate",
    type_level=True,
    instance=True,
    resource_types=("ConceptMap",),
    documentation="Local codes (CNK, ATC, ICPC-2, local lab) to SNOMED CT and LOINC; reverse and targetsystem supported.",
)
def translate(inv: Invocation) -> Response:
    with request_session() as (session, cur):
        conceptmap = instance(inv, cur) or resource(inv, "conceptMap", "ConceptMap")
        url = text(inv, "url")
        if url is not None:
            if conceptmap is not None:
                raise FhirError("give either 'url' or 'conceptMap' (or an instance), not both", code="invalid",
                                expression="url")
            version = text(inv, "conceptMapVersion") if inv.values("conceptMapVersion") else None
            conceptmap = session.find_map(f"{url}|{version}" if version else url)
            if conceptmap is None:
                raise FhirError(f"the ConceptMap {url} is not known to this server", code="not-found",
                                expression="url")
        codings = coded_input(inv)
        reverse = boolean(inv, "reverse")
        target_system = text(inv, "targetsystem") if inv.values("targetsystem") else None
        given = dependencies(inv)
        merged = Translation()
        for coded in codings:
            if not coded.system:
                raise FhirError(f"{coded.source} needs a system to be translated", code="required",
                                expression=coded.source)
            if conceptmap is None and not (session.system_is_mapped(coded.system) or session.system_known(coded.system)):
                raise FhirError(f"the code system {coded.system} is not known to this server", code="not-found",
                                expression="system" if coded.source == "code" else coded.source)
            part = session.translate(
                coded.system, coded.code, reverse=reverse, target_system=target_system, conceptmap=conceptmap,
                source_valueset=text(inv, "source") if inv.values("source") else None,
                target_valueset=text(inv, "target") if inv.values("target") else None,
                dependencies=given,
            )
            merged.matches.extend(part.matches)
            merged.unmet |= part.unmet
            merged.message = merged.message or part.message
        return out_parameters(
            ("result", merged.result),
            ("message", None if merged.result else merged.message),
            *[("match", _match(m)) for m in merged.matches],
        )


def _match(match: Match) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = [{"name": "equivalence", "valueCode": match.equivalence}]
    coding = match.coding()
    if coding is not None:
        parts.append({"name": "concept", "valueCoding": coding})
    for product in match.products:
        product_parts = [{"name": "element", "valueUri": product.get("property")}]
        if product.get("value") is not None:
            product_parts.append({"name": "concept", "valueCoding": {"system": product.get("system"),
                                                                     "code": product.get("value")}})
        parts.append({"name": "product", "part": product_parts})
    parts.append({"name": "source", "valueUri": match.source})
    return parts
