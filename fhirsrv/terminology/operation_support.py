"""What the four terminology operations share: reading their input parameters, opening a
session over the request's database transaction, and writing ``Parameters`` out.

Parameters arrive typed in a POSTed ``Parameters`` resource (``valueCode``, ``valueCoding`` …)
and as strings in a GET query; every reader here accepts both. Bad input is a 400 with an
OperationOutcome naming the parameter.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Response

from .. import fhirjson
from ..errors import FhirError
from ..operations.framework import Invocation
from ..rest.http import fhir_response, services
from .conceptmaps import Dependency
from .service import Session


class LazyCursor:
    """A cursor on a pooled connection, taken on first use (shipped content needs none).

    Terminology operations only read, each with single statements, so the autocommit
    connection is used without an explicit transaction: one round trip per query.
    """

    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack
        self._cursor: Any = None

    def __call__(self) -> Any:
        if self._cursor is None:
            connection = self._stack.enter_context(services().pool.connection())
            self._cursor = self._stack.enter_context(connection.cursor())
        return self._cursor


@contextmanager
def request_session() -> Iterator[tuple[Session, LazyCursor]]:
    """A terminology session that also sees user-stored resources; yields (session, cursor)
    (the cursor reads the resource an instance-level invocation names)."""
    with ExitStack() as stack:
        yield services().terminology.session(), LazyCursor(stack)


def instance(inv: Invocation, cursor: LazyCursor) -> dict[str, Any] | None:
    """The stored resource an instance-level invocation (``ValueSet/[id]/$expand``) is about."""
    if inv.id is None:
        return None
    stored = services().store.read(cursor(), inv.rtype, inv.id)
    return fhirjson.loads(stored.body)


def text(inv: Invocation, name: str) -> str | None:
    value = inv.value(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise FhirError(f"parameter {name!r} must be a non-empty string", code="invalid", expression=name)
    return value.strip()


def boolean(inv: Invocation, name: str, default: bool = False) -> bool:
    value = inv.value(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise FhirError(f"parameter {name!r} must be true or false, got {value!r}", code="invalid", expression=name)


def integer(inv: Invocation, name: str, *, minimum: int = 0) -> int | None:
    value = inv.value(name)
    if value is None:
        return None
    well_formed = (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and value.strip().isascii() and value.strip().isdigit()
    )
    if not well_formed or int(value) < minimum:
        raise FhirError(f"parameter {name!r} must be a whole number >= {minimum}, got {value!r}",
                        code="invalid", expression=name)
    return int(value)


def resource(inv: Invocation, name: str, rtype: str) -> dict[str, Any] | None:
    value = inv.value(name)
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("resourceType") != rtype:
        raise FhirError(f"parameter {name!r} must be a {rtype} resource", code="invalid", expression=name)
    return value


@dataclass(frozen=True)
class Coded:
    """One coded input: a code with its system (and the parameter it came from)."""

    system: str | None
    code: str
    version: str | None = None
    display: str | None = None
    source: str = "code"


def _coding(value: Any, name: str) -> Coded:
    if isinstance(value, str) and "|" in value:  # GET convenience: coding=system|code
        system, _, code = value.rpartition("|")
        value = {"system": system, "code": code}
    if not isinstance(value, dict) or not isinstance(value.get("code"), str) or not value["code"].strip():
        raise FhirError(f"parameter {name!r} must be a Coding with a code", code="invalid", expression=name)
    return Coded(value.get("system"), value["code"], value.get("version"), value.get("display"), name)


def coded_input(
    inv: Invocation,
    *,
    code: str = "code",
    system: str = "system",
    coding: str = "coding",
    codeable: str | None = "codeableConcept",
    system_required: bool = True,
) -> list[Coded]:
    """Exactly one of ``code`` (+ ``system``), ``coding`` or ``codeableConcept``."""
    given = [n for n in (code, coding, codeable) if n and inv.values(n)]
    if len(given) > 1:
        raise FhirError(
            f"give only one of {', '.join(repr(n) for n in (code, coding, codeable) if n)}; "
            f"this request has {' and '.join(repr(n) for n in given)}",
            code="invalid", expression=given,
        )
    if not given:
        raise FhirError(
            f"a code is required: give {', '.join(repr(n) for n in (code, coding, codeable) if n)}",
            code="required", expression=code,
        )
    if given[0] == code:
        value = text(inv, code)
        sys = text(inv, system)
        if sys is None and system_required:
            raise FhirError(f"parameter {system!r} is required with {code!r}", code="required", expression=system)
        version = text(inv, "version") if inv.values("version") else None
        display = text(inv, "display") if inv.values("display") else None
        return [Coded(sys, value or "", version, display, code)]
    if given[0] == coding:
        return [_coding(inv.value(coding), coding)]
    concept = inv.value(codeable)
    codings = concept.get("coding") if isinstance(concept, dict) else None
    if not isinstance(codings, list) or not codings:
        raise FhirError(f"parameter {codeable!r} must be a CodeableConcept with at least one coding",
                        code="invalid", expression=codeable)
    return [_coding(c, f"{codeable}.coding[{i}]") for i, c in enumerate(codings)]


def dependencies(inv: Invocation) -> tuple[Dependency, ...]:
    """``$translate``'s ``dependency`` parameters: parts ``element`` (uri) and ``concept``
    (CodeableConcept, or a Coding); parts need a POSTed Parameters, so a GET gets a 400."""
    out: list[Dependency] = []
    for at, value in enumerate(inv.values("dependency")):
        where = f"dependency[{at}]"
        if not isinstance(value, list):
            raise FhirError("'dependency' has parts (element, concept): POST a Parameters resource",
                            code="invalid", expression=where)
        elements = [v for p in value if p.get("name") == "element" for k, v in p.items() if k.startswith("value")]
        concepts = [v for p in value if p.get("name") == "concept" for k, v in p.items() if k.startswith("value")]
        if len(elements) != 1 or not isinstance(elements[0], str) or len(concepts) != 1:
            raise FhirError("each 'dependency' needs exactly one 'element' (uri) and one 'concept'",
                            code="invalid", expression=where)
        concept = concepts[0]
        codings = concept.get("coding") if isinstance(concept, dict) and "coding" in concept else [concept]
        pairs = tuple((c.get("system"), c["code"]) for c in codings or ()
                      if isinstance(c, dict) and isinstance(c.get("code"), str))
        if not pairs:
            raise FhirError(f"{where}.concept must carry a code", code="invalid", expression=f"{where}.concept")
        out.append(Dependency(elements[0], pairs))
    return tuple(out)


def out_parameters(*pairs: tuple[str, Any]) -> Response:
    """``Parameters`` from (name, value) pairs; the value's FHIR type is inferred, None skipped."""
    params: list[dict[str, Any]] = []
    for name, value in pairs:
        if value is None:
            continue
        params.append(parameter(name, value))
    return fhir_response({"resourceType": "Parameters", "parameter": params})


def parameter(name: str, value: Any) -> dict[str, Any]:
    """One output parameter: booleans, integers and strings as value[x], lists as parts."""
    if isinstance(value, bool):
        return {"name": name, "valueBoolean": value}
    if isinstance(value, int):
        return {"name": name, "valueInteger": value}
    if isinstance(value, str):
        return {"name": name, "valueString": value}
    if isinstance(value, list):
        return {"name": name, "part": value}
    raise TypeError(f"cannot express {value!r} as a Parameters value")
