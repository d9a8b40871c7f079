"""GET /metadata: the CapabilityStatement, generated from what the server really routes.

Types come from the R4 definitions, interactions from the URL table (:mod:`.routes`),
search parameters from the search engine's definitions, operations from the operation
registry. Nothing here is a hand-kept list of features.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask import Response

from .. import FHIR_VERSION, __version__
from ..operations.framework import registered
from ..security import capability as security_capability
from ..store.repository import format_instant, now
from ..store.search_parse import is_supported
from .http import base_url, check_accept, fhir_response, services


def capabilities() -> Response:
    check_accept()
    return fhir_response(capability_statement(base_url()))


def capability_statement(base: str) -> dict[str, Any]:
    from . import routes

    statement: dict[str, Any] = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": format_instant(now()),
        "publisher": "fhirsrv",
        "kind": "instance",
        "software": {"name": "fhirsrv", "version": __version__},
        "implementation": {"description": "fhirsrv FHIR R4 server", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [_rest(routes)],
    }
    security_capability.amend(statement["rest"][0], base)
    return statement


def _rest(routes: Any) -> dict[str, Any]:
    type_interactions = [*routes.implemented("type"), *routes.implemented("instance")]
    system_interactions = [c for c in routes.implemented("system") if c in SYSTEM_INTERACTIONS]
    resources = [_resource(rtype, type_interactions) for rtype in sorted(services().model.resource_types)]
    system_ops = [_op_ref(spec) for spec in registered() if spec.system]
    rest: dict[str, Any] = {"mode": "server", "resource": resources,
                            "interaction": [{"code": c} for c in system_interactions]}
    if system_ops:
        rest["operation"] = system_ops
    return rest


SYSTEM_INTERACTIONS = {"transaction", "batch", "search-system", "history-system"}
TYPE_INTERACTIONS = {"read", "vread", "update", "patch", "delete", "history-instance", "history-type",
                     "create", "search-type"}


def _resource(rtype: str, interactions: list[str]) -> dict[str, Any]:
    codes = [c for c in dict.fromkeys(interactions) if c in TYPE_INTERACTIONS]
    entry: dict[str, Any] = {
        "type": rtype,
        "profile": f"http://hl7.org/fhir/StructureDefinition/{rtype}",
        "interaction": [{"code": c} for c in codes],
        "versioning": "versioned-update",
        "readHistory": "vread" in codes,
        "updateCreate": "update" in codes,
        "conditionalCreate": "create" in codes,
        "conditionalRead": "not-match",
        "conditionalUpdate": "conditional-update" in interactions,
        "conditionalDelete": "single" if "conditional-delete" in interactions else "not-supported",
    }
    entry["searchParam"] = _search_params(rtype)
    ops = [_op_ref(spec) for spec in registered() if spec.applies_to(rtype, False) or spec.applies_to(rtype, True)]
    if ops:
        entry["operation"] = ops
    return entry


@lru_cache(maxsize=512)
def _search_params_cached(rtype: str) -> tuple[tuple[str, str, str, str], ...]:
    params = services().model.params_for(rtype)
    return tuple(
        (code, p.url, p.type, p.description)
        for code, p in sorted(params.items())
        if is_supported(p)
    )


def _search_params(rtype: str) -> list[dict[str, Any]]:
    return [
        {"name": code, "definition": url, "type": ptype, "documentation": doc}
        for code, url, ptype, doc in _search_params_cached(rtype)
    ]


def _op_ref(spec: Any) -> dict[str, Any]:
    return {"name": spec.name, "definition": spec.definition}
