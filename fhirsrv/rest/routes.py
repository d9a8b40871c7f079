"""The URL map of the FHIR API: one table binding URLs and methods to interactions.

The CapabilityStatement is generated from this table (and from the operation registry),
so what the server declares is exactly what it routes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Response
from werkzeug.routing import BaseConverter

from . import bundle, capabilities, create, delete, history, operations, read, search, update


class OperationConverter(BaseConverter):
    """``$name`` path segments; preferred over a plain id segment."""

    regex = r"\$[A-Za-z][A-Za-z0-9_\-]*"
    weight = 50


@dataclass(frozen=True)
class Route:
    rule: str
    methods: tuple[str, ...]
    view: Callable[..., Response]
    interactions: tuple[str, ...]  # CapabilityStatement interaction codes (or conditional flags)
    level: str  # system | type | instance

    @property
    def endpoint(self) -> str:
        """The Flask endpoint name (unique per rule and methods); security maps it back."""
        return f"{self.view.__name__}_{'_'.join(m.lower() for m in self.methods)}_{self.level}"


ROUTES: tuple[Route, ...] = (
    Route("/metadata", ("GET",), capabilities.capabilities, ("capabilities",), "system"),
    Route("/", ("GET",), search.search_system, ("search-system",), "system"),
    Route("/", ("POST",), bundle.process, ("transaction", "batch"), "system"),
    Route("/_history", ("GET",), history.system_history, ("history-system",), "system"),
    Route("/<op:op>", ("GET", "POST"), operations.system_operation, (), "system"),
    Route("/<rtype>", ("GET",), search.search_type, ("search-type",), "type"),
    Route("/<rtype>", ("POST",), create.create, ("create",), "type"),
    Route("/<rtype>", ("PUT",), update.conditional_update, ("conditional-update",), "type"),
    Route("/<rtype>", ("DELETE",), delete.conditional_delete, ("conditional-delete",), "type"),
    Route("/<rtype>/_search", ("POST",), search.search_type, (), "type"),
    Route("/<rtype>/_history", ("GET",), history.type_history, ("history-type",), "type"),
    Route("/<rtype>/<op:op>", ("GET", "POST"), operations.type_operation, (), "type"),
    Route("/<rtype>/<rid>", ("GET",), read.read, ("read",), "instance"),
    Route("/<rtype>/<rid>", ("PUT",), update.update, ("update",), "instance"),
    Route("/<rtype>/<rid>", ("DELETE",), delete.delete, ("delete",), "instance"),
    Route("/<rtype>/<rid>/_history", ("GET",), history.instance_history, ("history-instance",), "instance"),
    Route("/<rtype>/<rid>/_history/<vid>", ("GET",), read.vread, ("vread",), "instance"),
    Route("/<rtype>/<rid>/<op:op>", ("GET", "POST"), operations.instance_operation, (), "instance"),
)


ROUTES_BY_ENDPOINT: dict[str, Route] = {r.endpoint: r for r in ROUTES}


def implemented(level: str) -> list[str]:
    return [code for r in ROUTES if r.level == level for code in r.interactions]


