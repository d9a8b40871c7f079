"""The OpenAPI description of the FHIR API, generated from the route table and the operation registry.

flask-smorest publishes ``/openapi.json`` from the blueprint, but knows only URL rules. This
module adds what a developer needs to call them: a summary per interaction, the FHIR
parameters and headers, the request body, the error answers, and one explicit path per
registered ``$operation`` with the parameters of its OperationDefinition.

It stays generated: route docs are keyed by the CapabilityStatement interaction codes the
route table already carries, and operations come from :mod:`fhirsrv.operations.framework`.
Everything that needs the loaded definitions (the resource type list, OperationDefinition
parameters) is added on the first request for ``/openapi.json``, so starting the server
does not pay for it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app
from flask_smorest import Api
from werkzeug.routing import Map, Rule

from ..config import Settings
from ..operations.framework import OperationSpec, registered

FHIR_JSON = "application/fhir+json"
RESOURCE_REF = {"$ref": "#/components/schemas/Resource"}
OUTCOME_REF = {"$ref": "#/components/schemas/OperationOutcome"}
BUNDLE_REF = {"$ref": "#/components/schemas/Bundle"}
TYPE_REF = {"$ref": "#/components/schemas/ResourceType"}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"in": "query", "name": name, "description": description, "required": False,
            "schema": schema or {"type": "string"}}


def _header(name: str, description: str) -> dict[str, Any]:
    return {"in": "header", "name": name, "description": description, "required": False,
            "schema": {"type": "string"}}


FORMAT = _query("_format", "Response format; only JSON is spoken (json, application/fhir+json)")
SUMMARY = _query("_summary", "Return a summary of the resource", {"type": "string",
                 "enum": ["true", "false", "text", "data", "count"]})
ELEMENTS = _query("_elements", "Comma-separated top-level elements to return")
COUNT = _query("_count", "Page size", {"type": "integer", "minimum": 0})
PREFER = _header("Prefer", "return=minimal | return=representation | return=OperationOutcome")
IF_MATCH = _header("If-Match", 'Version-aware update/delete: the ETag of the version you read, e.g. W/"3"')
SEARCH_COMMON = [
    _query("_id", "Logical id"), _query("_lastUpdated", "Date of last change, with a prefix (ge2024-01-01)"),
    _query("_profile", "Canonical of a claimed profile"), _query("_tag", "A meta.tag token"),
    COUNT, _query("_sort", "Sort order: comma-separated parameter names, '-' for descending"),
    _query("_include", "Include referenced resources (Type:param)"),
    _query("_revinclude", "Include referencing resources (Type:param)"),
    SUMMARY, ELEMENTS, _query("_total", "none | estimate | accurate"), FORMAT,
]
HISTORY = [COUNT, _query("_since", "Only versions changed after this instant"),
           _query("_total", "accurate: count every matching version (type and system history are not counted by default)"),
           _query("_at", "Only versions current at this time"), FORMAT]
RESOURCE_BODY = {"required": True, "content": {FHIR_JSON: {"schema": RESOURCE_REF}}}
ERRORS = {
    "400": "Bad request: the OperationOutcome says what to fix",
    "401": "Not authenticated (send a bearer token)",
    "403": "Not allowed for this caller",
    "404": "Unknown resource type, resource or operation",
    "422": "The resource breaks FHIR or profile rules",
}


def _answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {FHIR_JSON: {"schema": schema}}}


# One entry per interaction code of the route table (rest/routes.py); the key "" is a route
# without an interaction code (the $operation dispatchers, POST _search).
INTERACTIONS: dict[str, dict[str, Any]] = {
    "capabilities": {"summary": "CapabilityStatement: what this server supports", "parameters": [FORMAT],
                     "responses": {"200": _answer("The CapabilityStatement", RESOURCE_REF)}},
    "search-system": {"summary": "Search across all resource types", "parameters": SEARCH_COMMON,
                      "responses": {"200": _answer("A searchset Bundle", BUNDLE_REF)}},
    "transaction": {"summary": "Process a transaction (all or nothing) or batch Bundle",
                    "requestBody": {"required": True, "content": {FHIR_JSON: {"schema": BUNDLE_REF}}},
                    "responses": {"200": _answer("A transaction-response or batch-response Bundle", BUNDLE_REF)}},
    "history-system": {"summary": "History of every resource", "parameters": HISTORY,
                       "responses": {"200": _answer("A history Bundle", BUNDLE_REF)}},
    "search-type": {"summary": "Search resources of one type (type-specific parameters: see /metadata)",
                    "parameters": SEARCH_COMMON,
                    "responses": {"200": _answer("A searchset Bundle", BUNDLE_REF)}},
    "create": {"summary": "Create a resource (the server assigns the id)",
               "parameters": [_header("If-None-Exist", "Conditional create: search criteria, e.g. identifier=s|v"),
                              PREFER],
               "requestBody": RESOURCE_BODY,
               "responses": {"201": _answer("Created; Location gives the new version", RESOURCE_REF),
                             "200": _answer("If-None-Exist matched an existing resource", RESOURCE_REF)}},
    "conditional-update": {"summary": "Conditional update: search criteria in the query pick the resource",
                           "parameters": [IF_MATCH, PREFER], "requestBody": RESOURCE_BODY,
                           "responses": {"200": _answer("Updated", RESOURCE_REF),
                                         "201": _answer("Created", RESOURCE_REF),
                                         "412": _answer("The criteria matched several resources", OUTCOME_REF)}},
    "conditional-delete": {"summary": "Conditional delete: search criteria in the query pick the resource",
                           "responses": {"204": {"description": "Deleted (or nothing matched)"},
                                         "412": _answer("The criteria matched several resources", OUTCOME_REF)}},
    "history-type": {"summary": "History of every resource of one type", "parameters": HISTORY,
                     "responses": {"200": _answer("A history Bundle", BUNDLE_REF)}},
    "read": {"summary": "Read the current version of a resource",
             "parameters": [SUMMARY, ELEMENTS, FORMAT,
                            _header("If-None-Match", "ETag of a version you have: 304 if still current"),
                            _header("If-Modified-Since", "HTTP date: 304 if not changed since")],
             "responses": {"200": _answer("The resource", RESOURCE_REF), "304": {"description": "Not modified"},
                           "410": _answer("The resource was deleted", OUTCOME_REF)}},
    "update": {"summary": "Update a resource, or create it with this id",
               "parameters": [IF_MATCH, PREFER], "requestBody": RESOURCE_BODY,
               "responses": {"200": _answer("Updated", RESOURCE_REF),
                             "201": _answer("Created with the client's id", RESOURCE_REF),
                             "412": _answer("If-Match does not name the current version", OUTCOME_REF)}},
    "delete": {"summary": "Delete a resource (its history stays readable)", "parameters": [IF_MATCH],
               "responses": {"204": {"description": "Deleted"}}},
    "history-instance": {"summary": "History of one resource", "parameters": HISTORY,
                         "responses": {"200": _answer("A history Bundle", BUNDLE_REF)}},
    "vread": {"summary": "Read one version of a resource", "parameters": [FORMAT],
              "responses": {"200": _answer("That version", RESOURCE_REF),
                            "410": _answer("That version is a deletion", OUTCOME_REF)}},
}
SEARCH_POST = {"summary": "Search with the parameters in an application/x-www-form-urlencoded body",
               "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}},
               "responses": {"200": _answer("A searchset Bundle", BUNDLE_REF)}}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Resource": {"type": "object", "description": "Any FHIR R4 resource in JSON",
                 "required": ["resourceType"], "additionalProperties": True,
                 "properties": {"resourceType": TYPE_REF, "id": {"type": "string"},
                                "meta": {"type": "object"}}},
    "Bundle": {"type": "object", "description": "A FHIR Bundle", "required": ["resourceType", "type"],
               "additionalProperties": True,
               "properties": {"resourceType": {"type": "string", "enum": ["Bundle"]},
                              "type": {"type": "string"},
                              "entry": {"type": "array", "items": {"type": "object"}}}},
    "OperationOutcome": {"type": "object", "description": "Errors, warnings and information",
                         "additionalProperties": True,
                         "properties": {"resourceType": {"type": "string", "enum": ["OperationOutcome"]},
                                        "issue": {"type": "array", "items": {"type": "object", "properties": {
                                            "severity": {"type": "string"}, "code": {"type": "string"},
                                            "diagnostics": {"type": "string"},
                                            "expression": {"type": "array", "items": {"type": "string"}}}}}}},
}


def _errors() -> dict[str, Any]:
    return {status: _answer(text, OUTCOME_REF) for status, text in ERRORS.items()}


def route_doc(rule: str, method: str, interactions: tuple[str, ...], level: str) -> dict[str, Any]:
    """The OpenAPI operation object (the manual part) of one route and method."""
    key = next((code for code in interactions if code in INTERACTIONS), "")
    if key:
        doc = dict(INTERACTIONS[key])
    elif rule.endswith("/_search"):
        doc = dict(SEARCH_POST)
    else:
        names = sorted({f"${spec.name}" for spec in registered()
                        if (spec.system if level == "system" else spec.type_level if level == "type" else spec.instance)})
        doc = {"summary": f"Invoke a {level}-level operation",
               "description": "Registered here: " + (", ".join(names) or "none") +
                              ". Each has its own path below with its parameters.",
               "responses": {"200": _answer("The operation's output", RESOURCE_REF)}}
    doc["responses"] = {**_errors(), **doc.get("responses", {})}
    if method not in ("POST", "PUT"):
        doc.pop("requestBody", None)
    if "<rtype>" in rule:
        doc["parameters"] = [{"in": "path", "name": "rtype", "required": True, "schema": TYPE_REF,
                              "description": "Resource type"}, *doc.get("parameters", [])]
    return doc


def documented(view: Callable[..., Response], rule: str, methods: tuple[str, ...],
               interactions: tuple[str, ...], level: str) -> Callable[..., Response]:
    """A per-route wrapper of ``view`` carrying that route's docs (views are shared by routes)."""

    def route_view(**kwargs: Any) -> Response:
        return view(**kwargs)

    route_view.__name__ = view.__name__
    route_view.__doc__ = view.__doc__
    # flask-smorest reads a function's docs from ``_apidoc["manual_doc"]``; with several
    # methods on one rule, the per-method part is keyed by the lower-case method.
    docs = {m.lower(): route_doc(rule, m, interactions, level) for m in methods}
    if len(methods) == 1:
        route_view._apidoc = {"manual_doc": docs[methods[0].lower()]}  # type: ignore[attr-defined]
    else:
        route_view._apidoc = {"manual_doc": _common(docs)}  # type: ignore[attr-defined]
    return route_view


def _common(docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """GET and POST of an $operation dispatcher share one description."""
    return next(iter(docs.values()))


def _operation_parameters(definition: dict[str, Any] | None, method: str) -> tuple[list, dict | None]:
    """Query parameters (GET) or a Parameters body (POST) from an OperationDefinition."""
    params = [p for p in (definition or {}).get("parameter", []) if p.get("use") == "in"]
    if method == "GET":
        return [_query(p["name"], p.get("documentation", "")[:300] or f"{p.get('type', '')} parameter",
                       {"type": "string"}) for p in params if p.get("type") not in (None, "Resource")
                ], None
    description = "A Parameters resource, or the resource itself. Inputs: " + (
        "; ".join(f"{p['name']} ({p.get('type', 'part')}, {p.get('min', 0)}..{p.get('max', '*')})"
                  for p in params) or "see the OperationDefinition")
    return [], {"description": description, "content": {FHIR_JSON: {"schema": RESOURCE_REF}}}


def _operation_paths(spec: OperationSpec, base: str, definition: dict[str, Any] | None,
                     number: int) -> dict[str, tuple[dict, list]]:
    """URL rule -> (operations by method, path parameters) for one registered operation."""
    paths: dict[str, tuple[dict, list]] = {}
    levels = [("system", spec.system, f"{base}/${spec.name}"),
              ("type", spec.type_level, f"{base}/<rtype>/${spec.name}"),
              ("instance", spec.instance, f"{base}/<rtype>/<id>/${spec.name}")]
    title = (definition or {}).get("title") or (definition or {}).get("name") or spec.name
    for level, enabled, path in levels:
        if not enabled:
            continue
        path_params = []
        if level != "system":
            types = [t for t in spec.resource_types if t != "*"]
            path_params.append({"in": "path", "name": "rtype", "required": True,
                                "schema": {"type": "string", "enum": types} if types else TYPE_REF})
        if level == "instance":
            path_params.append({"in": "path", "name": "id", "required": True, "schema": {"type": "string"}})
        operations = {}
        for method in ("get", "post"):
            if method == "get" and spec.affects_state:
                continue
            query, body = _operation_parameters(definition, method.upper())
            op: dict[str, Any] = {
                "summary": f"${spec.name}: {title}",
                "description": (spec.documentation or (definition or {}).get("description", ""))[:2000]
                + f"\n\nOperationDefinition: {spec.definition}",
                "tags": ["Operations"],
                "operationId": f"{spec.name}_{level}_{method}_{number}",
                "parameters": query,
                "responses": {**_errors(), "200": _answer("The operation's output", RESOURCE_REF)},
            }
            if body:
                op["requestBody"] = body
            operations[method] = op
        paths[path] = (operations, path_params)
    return paths


def _component_key(prefix: str, code: str, url: str = "") -> str:
    """A components/parameters key (OpenAPI allows ``[A-Za-z0-9._-]``), unique per definition."""
    raw = f"{prefix}.{code}" + (f".{url.rstrip('/').rsplit('/', 1)[-1]}" if url else "")
    return re.sub(r"[^A-Za-z0-9._-]", "-", raw)


def _search_parameter(param: Any) -> dict[str, Any]:
    text = " ".join((param.description or "").split())
    if len(text) > 300:
        text = text[:297] + "…"
    return {"name": param.code, "required": False, "schema": {"type": "string"},
            "description": f"{param.type} — {text}" if text else param.type}


class OpenApiDescriber:
    """Adds the FHIR descriptions to flask-smorest's spec: per-route docs at mount time, the
    parts that need the loaded definitions on the first ``/openapi.json`` request."""

    def __init__(self, api: Api, settings: Settings) -> None:
        self.api = api
        self.base = settings.base_path.rstrip("/")
        self._done = False
        self._lock = threading.Lock()
        for name, schema in SCHEMAS.items():
            api.spec.components.schema(name, schema)

    def view(self, route: Any) -> Callable[..., Response]:
        return documented(route.view, route.rule, route.methods, route.interactions, route.level)

    def install(self, app: Flask) -> None:
        """Wrap flask-smorest's /openapi.json view so that it completes the spec once."""
        endpoint = next((e for e in app.view_functions if e.endswith(".openapi_json")), None)
        if endpoint is None:
            return
        serve = app.view_functions[endpoint]

        def openapi_json(**kwargs: Any) -> Response:
            self.complete()
            return serve(**kwargs)

        app.view_functions[endpoint] = openapi_json

    def complete(self) -> None:
        if self._done:
            return
        with self._lock:
            if self._done:
                return
            services = current_app.extensions["fhirsrv"]
            types = sorted(services.model.resource_types)
            self.api.spec.components.schema("ResourceType", {"type": "string", "enum": types})
            self._type_searches(services.model, types)
            for number, spec in enumerate(registered()):
                definition = services.registry.get(spec.definition) if spec.definition else None
                for rule, (operations, params) in _operation_paths(spec, self.base, definition, number).items():
                    # flask-smorest's apispec plugin turns a werkzeug Rule into the path
                    self.api.spec.path(rule=next(Map([Rule(rule, defaults={})]).iter_rules()),
                                       operations=operations, parameters=params)
            self._done = True

    def _type_searches(self, model: Any, types: list[str]) -> None:
        """``GET [base]/[type]`` per type, with that type's own search parameters.

        Each SearchParameter is one entry of components/parameters, referenced by every type
        that has it (``patient`` is shared by dozens), so the document stays small.
        """
        spec = self.api.spec
        registered_keys: set[str] = set()

        def component(key: str, parameter: dict[str, Any]) -> str:
            if key not in registered_keys:
                body = {k: v for k, v in parameter.items() if k not in ("in",)}
                spec.components.parameter(key, "query", body)
                registered_keys.add(key)
            return key

        for rtype in types:
            params = model.params_for(rtype)
            refs = [component(_component_key("search", code, p.url), _search_parameter(p))
                    for code, p in sorted(params.items())]
            refs += [component(_component_key("result", common["name"]), common)
                     for common in SEARCH_COMMON if common["name"] not in params]
            operation = {"summary": f"Search {rtype}", "tags": ["Search by resource type"],
                         "operationId": f"search_{rtype}", "parameters": refs,
                         "responses": {**_errors(), "200": _answer(f"A searchset Bundle of {rtype}", BUNDLE_REF)}}
            spec.path(rule=next(Map([Rule(f"{self.base}/{rtype}", defaults={})]).iter_rules()),
                      operations={"get": operation}, parameters=[])
