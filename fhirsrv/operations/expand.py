"""``ValueSet/$expand``: the codes of a value set, with ``filter``, ``count`` and ``offset``."""

from __future__ import annotations

from flask import Response

from ..errors import FhirError
from ..rest.http import fhir_response
from ..terminology.operation_support import boolean, instance, integer, request_session, resource, text
from .framework import Invocation, operation


@operation(
    "expand",
    definition="http://hl7.org/fhir/OperationDefinition/ValueSet-expand",
    type_level=True,
    instance=True,
    resource_types=("ValueSet",),
    documentation="Expands value sets built from enumerated codes, hierarchy filters and other value sets.",
)
def expand(inv: Invocation) -> Response:
    with request_session() as (session, cur):
        valueset = instance(inv, cur) or resource(inv, "valueSet", "ValueSet")
        url, version = text(inv, "url"), text(inv, "valueSetVersion")
        if valueset is not None and url is not None:
            raise FhirError("give either 'url' or 'valueSet', not both", code="invalid", expression="url")
        if valueset is None:
            if url is None:
                raise FhirError("say which value set to expand: give 'url' (or 'valueSet', or use ValueSet/[id]/$expand)",
                                code="required", expression="url")
            reference = f"{url}|{version}" if version else url
            found = session.resolver.find("ValueSet", reference)
            if found is None:
                raise FhirError(f"the value set {reference} is not known to this server", code="not-found",
                                expression="url")
            valueset, expansion = found.resource, session.expansion(reference)
        else:
            expansion = session.expand_resource(valueset)
        filter_text = text(inv, "filter") if inv.values("filter") else None
        offset = integer(inv, "offset") or 0
        count = integer(inv, "count")
        echoed = [
            {"name": name, "valueString" if isinstance(value, str) else "valueInteger": value}
            for name, value in (("filter", filter_text), ("offset", offset or None), ("count", count))
            if value is not None
        ]
        body = session.expansion_resource(valueset, expansion, text=filter_text, offset=offset, count=count,
                                          active_only=boolean(inv, "activeOnly"), parameters=echoed)
        return fhir_response(body)
