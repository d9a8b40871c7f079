"""``$validate`` (R4 ``Resource-validate``): the same validator the write path uses, as an answer.

``POST [base]/[type]/$validate`` takes the resource itself or a ``Parameters`` with
``resource``, ``mode`` and ``profile``; ``[type]/[id]/$validate`` also validates the stored
resource (GET) or checks an update / delete against it. The answer is always an
OperationOutcome with status 200, valid or not: the request succeeded, the resource did not.
"""

from __future__ import annotations

from typing import Any

from flask import Response

from ..errors import FhirError, operation_outcome
from ..rest.http import fhir_response, services
from ..validation.profiles import UnknownProfile, resolve_profile
from .framework import Invocation, operation

MODES = {"create", "update", "delete", "profile"}
VALIDATE_DEFINITION = "http://hl7.org/fhir/OperationDefinition/Resource-validate"


def _resource(inv: Invocation) -> dict[str, Any] | None:
    given = inv.value("resource")
    if given is None and isinstance(inv.body, dict):
        given = inv.body
    if given is not None and (not isinstance(given, dict) or not isinstance(given.get("resourceType"), str)):
        raise FhirError("the resource to validate must be a FHIR resource (a JSON object with resourceType)",
                        code="structure", expression="resource")
    return given


def _stored(inv: Invocation) -> dict[str, Any]:
    from .. import fhirjson

    svc = services()
    with svc.reading() as cur:
        stored = svc.store.read(cur, inv.rtype or "", inv.id or "")
    return fhirjson.loads(stored.body or "{}")


def _profiles(inv: Invocation) -> list[str]:
    names = [str(v) for v in inv.values("profile") if v]
    try:
        return [resolve_profile(name, services().registry) for name in names]
    except UnknownProfile as exc:
        raise FhirError(str(exc), code="not-supported", expression="profile") from None


@operation("validate", definition=VALIDATE_DEFINITION, type_level=True, instance=True,
           documentation="Validate a resource against base R4, the given profile and its meta.profile")
def validate_operation(inv: Invocation) -> Response:
    mode = inv.value("mode")
    if mode is not None and (not isinstance(mode, str) or mode not in MODES):
        raise FhirError(f"mode={mode} is not one of {sorted(MODES)}", code="value", expression="mode")
    resource = _resource(inv)
    if mode == "delete":
        if inv.id is None:
            raise FhirError("mode=delete needs a resource id: POST [type]/[id]/$validate", code="required")
        _stored(inv)  # 404 / 410 when there is nothing to delete
        return fhir_response(operation_outcome([{"severity": "information", "code": "informational",
                                                 "diagnostics": f"{inv.rtype}/{inv.id} may be deleted"}]))
    if resource is None:
        if inv.id is None:
            raise FhirError("nothing to validate: send the resource as the body or as the 'resource' parameter",
                            code="required", expression="resource")
        resource = _stored(inv)
    if resource["resourceType"] != inv.rtype:
        raise FhirError(f"the resource is a {resource['resourceType']} but the URL is for {inv.rtype}",
                        code="invalid", expression="resourceType")
    if mode == "update" and inv.id is not None and resource.get("id") != inv.id:
        raise FhirError(f"mode=update: the resource's id {resource.get('id')!r} is not {inv.id!r}",
                        code="invalid", expression=f"{inv.rtype}.id")
    svc = services()
    outcome = svc.validate(resource, _profiles(inv))
    if not outcome["issue"]:
        outcome["issue"] = [{"severity": "information", "code": "informational",
                             "diagnostics": "no issues: the resource is valid"}]
    return fhir_response(outcome)
