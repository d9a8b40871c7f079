"""``ValueSet/$validate-code`` and ``CodeSystem/$validate-code`` (R4 semantics).

A code the server cannot judge (a SNOMED CT filter, a code system it does not hold) is
answered ``result=false`` with a message that says it could not be checked, as terminology
servers do; the validator uses the three-valued service API instead.
"""

from __future__ import annotations

from flask import Response

from ..errors import FhirError
from ..terminology import CodeCheck
from ..terminology.codesystems import CodeSystemIndex
from ..terminology.operation_support import (
    Coded,
    boolean,
    coded_input,
    instance,
    out_parameters,
    request_session,
    resource,
    text,
)
from ..terminology.service import Session
from ..terminology.valuesets import Expansion, Member
from .framework import Invocation, operation


def _answer(checks: list[CodeCheck]) -> Response:
    """One answer for several codings (a CodeableConcept): valid if any coding is."""
    good = [c for c in checks if c.valid]
    if good:
        return out_parameters(("result", True), ("message", good[0].message or None), ("display", good[0].display))
    messages = [("unable to check: " if c.valid is None else "") + c.message for c in checks if c.message]
    return out_parameters(("result", False), ("message", "; ".join(dict.fromkeys(messages)) or None))


@operation(
    "validate-code",
    definition="http://hl7.org/fhir/OperationDefinition/ValueSet-validate-code",
    type_level=True,
    instance=True,
    resource_types=("ValueSet",),
    documentation="Is the code in the value set? (membership over expansions cached per value set)",
)
def validate_valueset_code(inv: Invocation) -> Response:
    with request_session() as (session, cur):
        valueset = instance(inv, cur) or resource(inv, "valueSet", "ValueSet")
        url, version = text(inv, "url"), text(inv, "valueSetVersion")
        codings = coded_input(inv, system_required=False)
        if valueset is not None:
            expansion, label = session.expand_resource(valueset), valueset.get("url") or f"ValueSet/{inv.id}"
        elif url is not None:
            label = f"{url}|{version}" if version else url
            expansion = session.expansion(label)
            if expansion is None:
                raise FhirError(f"the value set {label} is not known to this server", code="not-found",
                                expression="url")
        else:
            raise FhirError("say which value set: give 'url' (or 'valueSet', or use ValueSet/[id]/$validate-code)",
                            code="required", expression="url")
        checks = [session.check_member(expansion, label, c.system, c.code, c.display) for c in codings]
        if not boolean(inv, "abstract"):  # R4: abstract concepts are valid only when the caller allows them
            checks = [_not_abstract(session, expansion, c, check) for c, check in zip(codings, checks, strict=True)]
        return _answer(checks)


def _not_abstract(session: Session, expansion: Expansion, coded: Coded, check: CodeCheck) -> CodeCheck:
    system = session.aliases.normalise(coded.system)
    member = expansion.find(system, coded.code) if check.valid and system else None
    if member is not None and member.abstract:
        return CodeCheck(False, f"{member.system}#{member.code} is abstract (not selectable); "
                                "pass abstract=true where abstract concepts are allowed")
    return check


@operation(
    "validate-code",
    definition="http://hl7.org/fhir/OperationDefinition/CodeSystem-validate-code",
    type_level=True,
    instance=True,
    resource_types=("CodeSystem",),
    documentation="Is the code defined by the code system? Unknown code systems are a 400.",
)
def validate_codesystem_code(inv: Invocation) -> Response:
    with request_session() as (session, cur):
        codesystem = instance(inv, cur) or resource(inv, "codeSystem", "CodeSystem")
        codings = coded_input(inv, system_required=False)
        if codesystem is not None:
            index = CodeSystemIndex(codesystem)
        else:
            url = text(inv, "url") or next((c.system for c in codings if c.system), None)
            index = session.require_codesystem(url, text(inv, "version") if inv.values("version") else None)
        return _answer([_check(session, index, c) for c in codings])


def _check(session: Session, index: CodeSystemIndex, coded: Coded) -> CodeCheck:
    if coded.system and (session.aliases.normalise(coded.system) or coded.system) != index.url:
        return CodeCheck(False, f"the coding's system {coded.system} is not the code system {index.url}")
    concept = index.get(coded.code)
    if concept is None:
        if not index.complete:
            return CodeCheck(None, f"this server holds only a {index.content} of {index.url}; "
                                   f"{coded.code!r} cannot be checked")
        return CodeCheck(False, f"{coded.code!r} is not a code of {index.url}")
    return session.with_display(Member(index.url, concept.code, concept.display, index.version), coded.display)
