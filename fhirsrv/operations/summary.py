"""``Patient/[id]/$summary`` and ``Patient/$summary?identifier=system|value`` (IPS).

Generates a patient-summary document from the current stored data (see
:mod:`fhirsrv.documents.ips_builder`). ``profile`` selects the document profile: IPS 2.0
by default, IPS 1.1.0 or the EU Patient Summary on request (a canonical, ``|version``
optional, or an alias such as ``ips-1.1``). Errors: type level without ``identifier`` → 400;
no such patient → 404; an identifier shared by several patients → 422; a parameter the
OperationDefinition does not have, or its output ``return`` given as input → 400.

``return`` (the OperationDefinition's only ``out`` parameter, a Bundle) is the response body
itself: the document, never wrapped in a Parameters resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from weakref import WeakKeyDictionary

from flask import Response

from .. import security
from ..conformance.registry import Registry
from ..documents.ips_builder import Custodian, build_summary, load_patient
from ..documents.patients import parse_token, patient_by_identifier
from ..documents.profiles import resolve
from ..errors import FhirError
from ..rest.http import base_url, check_accept, fhir_response, prefer, services
from .framework import Invocation, operation

SUMMARY = "http://hl7.org/fhir/uv/ips/OperationDefinition/summary"


_GENERAL = {"_format", "_pretty", "_summary", "_elements"}  # http.html parameters, not the operation's
# registry → {parameter name: use} of the summary OperationDefinition(s) it holds. A registry
# is filled once at start and never changes after, so the table is built once per registry;
# weak keys let a test's short-lived application take its registry with it.
_USES: WeakKeyDictionary[Registry, Mapping[str, str]] = WeakKeyDictionary()


def parameter_uses(registry: Registry) -> Mapping[str, str]:
    """Name → ``in``/``out`` over every shipped version of the IPS ``summary``
    OperationDefinition (1.1.0 spells ``identifer`` and has ``graph``); built on first use."""
    uses = _USES.get(registry)
    if uses is None:
        table: dict[str, str] = {}
        for version in registry.versions(SUMMARY):
            for parameter in (registry.get(SUMMARY, version) or {}).get("parameter", []):
                table.setdefault(parameter["name"], parameter["use"])
        uses = _USES[registry] = MappingProxyType(table)
    return uses


def _check_parameters(invocation: Invocation, registry: Registry) -> None:
    """Inputs are the ``in`` parameters of the IPS ``summary`` OperationDefinition (any shipped
    version). ``return`` is its ``out`` parameter: the document itself, sent as the response
    body (a single resource ``return`` is not wrapped in Parameters, operations.html), so a
    request cannot set it. Anything else is a 400, as an unknown search parameter is, unless
    ``Prefer: handling=lenient``."""
    uses = parameter_uses(registry)
    lenient = prefer("handling") == "lenient"
    for name in sorted(invocation.names() - _GENERAL):
        use = uses.get(name)
        if use == "out":
            raise FhirError(
                f"{name!r} is the output of $summary: the document Bundle, returned as the response body "
                "itself; it cannot be given as input (ask for a profile with 'profile')",
                code="invalid", expression=name)
        if name == "graph":
            raise FhirError("graph is not supported by this server: the sections are those of the profile",
                            code="not-supported", expression=name)
        if use is None and not lenient:
            raise FhirError(
                f"$summary has no parameter {name!r}; its parameters are identifier and profile",
                code="not-supported", expression=name)


def _identifier(value: Any) -> tuple[str, str]:
    """``system|value`` (2.0, token) or an Identifier (1.1.0's parameter type)."""
    if isinstance(value, dict):
        if value.get("system") and value.get("value"):
            return str(value["system"]), str(value["value"])
        raise FhirError("identifier needs both system and value", code="invalid", expression="identifier")
    return parse_token(str(value))


@operation("summary", definition=SUMMARY, type_level=True, instance=True, resource_types=("Patient",),
           documentation="IPS / EU Patient Summary generated from the current stored data")
def summary(invocation: Invocation) -> Response:
    check_accept()
    invocation.parameters_only()
    svc = services()
    _check_parameters(invocation, svc.registry)
    profile = resolve(str(invocation.value("profile") or "ips"), svc.registry)[0]
    identifier = invocation.value("identifier")
    if identifier is None:
        identifier = invocation.value("identifer")  # the parameter's name in IPS 1.1.0
    base = base_url()
    # No transaction (reads only, no BEGIN/COMMIT round trips). The caller is authorised for the
    # patient before anything of the patient's is read: a refused caller causes no read of their
    # data. Then the patient's data is one query, sent together with the Patient's existence check.
    caller = security.current()
    with svc.reading() as cur:
        if invocation.id is not None:
            if identifier is not None:
                raise FhirError("give either Patient/[id]/$summary or identifier, not both", code="invalid",
                                expression="identifier")
            patient_id = invocation.id
        else:
            if identifier is None:
                raise FhirError(
                    "Patient/$summary needs identifier=system|value (IPS: requestors SHALL provide an "
                    "identifier); or call Patient/[id]/$summary", code="required", expression="identifier")
            patient_id = patient_by_identifier(cur, *_identifier(identifier))
        security.authorize_patient(caller, patient_id, cur)
        with cur.connection.pipeline():
            loaded = load_patient(cur, patient_id, base)
            svc.store.read(cur, "Patient", patient_id)  # 404 / 410
        admit = security.document_admit(caller, patient_id, cur)
        custodian = Custodian(svc.settings.summary_custodian, svc.settings.summary_custodian_identifier)
        bundle = build_summary(cur, svc.registry, patient_id, profile, base, admit, loaded.result(), custodian)
    return fhir_response(bundle)
