"""The operation registry and the call convention every ``$operation`` module follows.

An operation module declares itself with :func:`operation` (name, canonical
OperationDefinition, levels, resource types); the REST layer dispatches ``[base]/$op``,
``[base]/[type]/$op`` and ``[base]/[type]/[id]/$op`` here, and the CapabilityStatement lists
exactly what is registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Response, request

from ..errors import FhirError
from ..rest.http import read_json_body
from .parameter_shapes import check_parameter_shapes


@dataclass
class Invocation:
    """One call of an operation: where it was invoked and its input parameters."""

    name: str
    rtype: str | None
    id: str | None
    method: str
    parameters: list[dict[str, Any]] = field(default_factory=list)  # Parameters.parameter
    body: Any = None  # the raw POST body when it was not a Parameters resource

    def values(self, name: str) -> list[Any]:
        """Every value of a parameter (value[x] or resource or parts)."""
        out = []
        for p in self.parameters:
            if p.get("name") != name:
                continue
            if "resource" in p:
                out.append(p["resource"])
            elif "part" in p:
                out.append(p["part"])
            else:
                out.extend(v for k, v in p.items() if k.startswith("value"))
        return out

    def value(self, name: str) -> Any:
        values = self.values(name)
        if len(values) > 1:
            raise FhirError(f"parameter {name!r} may be given only once", code="invalid", expression=name)
        return values[0] if values else None

    def names(self) -> set[str]:
        return {p["name"] for p in self.parameters}

    def parameters_only(self) -> None:
        """400 when a POST body is a resource other than Parameters: for operations whose inputs
        are all parameters (no single resource input, as ``$validate`` has), such a body would
        otherwise be ignored without a word."""
        if self.body is not None:
            kind = self.body.get("resourceType") if isinstance(self.body, dict) else None
            raise FhirError(
                f"POST ${self.name} takes a Parameters resource (or no body), not {kind or 'this body'}",
                code="invalid", expression=str(kind) if kind else None)


Handler = Callable[[Invocation], Response]


@dataclass(frozen=True)
class OperationSpec:
    name: str
    handler: Handler
    definition: str  # canonical URL of the OperationDefinition
    system: bool = False
    type_level: bool = True
    instance: bool = False
    resource_types: tuple[str, ...] = ("*",)  # "*" = every type
    affects_state: bool = False
    documentation: str = ""

    def applies_to(self, rtype: str | None, instance: bool) -> bool:
        if rtype is None:
            return self.system
        if instance and not self.instance:
            return False
        if not instance and not self.type_level:
            return False
        return "*" in self.resource_types or rtype in self.resource_types


_REGISTRY: dict[str, list[OperationSpec]] = {}


def operation(name: str, *, definition: str, **options: Any) -> Callable[[Handler], Handler]:
    """Register ``handler`` as operation ``$name``."""

    def register(handler: Handler) -> Handler:
        _REGISTRY.setdefault(name, []).append(OperationSpec(name, handler, definition, **options))
        return handler

    return register


def registered() -> list[OperationSpec]:
    return [spec for specs in _REGISTRY.values() for spec in specs]


def find(name: str, rtype: str | None, instance: bool) -> OperationSpec:
    specs = _REGISTRY.get(name)
    if not specs:
        raise FhirError(f"operation ${name} is not supported by this server", status=404, code="not-supported")
    for spec in specs:
        if spec.applies_to(rtype, instance):
            return spec
    where = "at the system level" if rtype is None else (f"on a {rtype} instance" if instance else f"on {rtype}")
    raise FhirError(f"operation ${name} cannot be invoked {where}", status=404, code="not-supported")


def parse_invocation(name: str, rtype: str | None, rid: str | None, spec: OperationSpec) -> Invocation:
    method = request.method
    if method == "GET":
        if spec.affects_state:
            raise FhirError(f"${name} changes data and must be invoked with POST", status=405, code="not-supported")
        parameters = [{"name": k, "valueString": v} for k, v in request.args.items(multi=True) if k != "_format"]
        return Invocation(name, rtype, rid, method, parameters)
    body = read_json_body() if request.get_data(cache=True).strip() else None
    parameters = [{"name": k, "valueString": v} for k, v in request.args.items(multi=True) if k != "_format"]
    if isinstance(body, dict) and body.get("resourceType") == "Parameters":
        parameters.extend(check_parameter_shapes(body.get("parameter", [])))
        return Invocation(name, rtype, rid, method, parameters)
    return Invocation(name, rtype, rid, method, parameters, body=body)


def invoke(name: str, rtype: str | None, rid: str | None) -> Response:
    spec = find(name, rtype, rid is not None)
    return spec.handler(parse_invocation(name, rtype, rid, spec))
