"""delete (logical: a later read answers 410) and conditional delete."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from .. import security
from .checks import known_type, valid_id
from .conditional import single_match
from .http import fhir_response, parse_etag, services


def _deleted_outcome(text: str) -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "information", "code": "informational", "diagnostics": text}],
    }


def _guarded(svc: Any) -> Any:
    """The store what a delete also changes goes through (a withdrawn document's
    DocumentReference and resources): authorised and audited like the caller's own writes."""
    return security.guard(svc.store, security.current())


def delete(rtype: str, rid: str) -> Response:
    known_type(rtype)
    valid_id(rid)
    if_match = parse_etag(request.headers.get("If-Match"))
    svc = services()
    with svc.transaction() as cur:
        security.authorize_write(security.current(), rtype, None, cur, letter="d",
                                 existing=lambda: svc.store.find_current(cur, rtype, rid))
        marker = svc.store.delete(cur, rtype, rid, if_match=if_match, writer=_guarded(svc))
    if marker is None:
        return fhir_response(_deleted_outcome(f"{rtype}/{rid} does not exist or was already deleted"), 200)
    return fhir_response(
        _deleted_outcome(f"{rtype}/{rid} deleted (version {marker.version})"), 200, {"ETag": marker.etag}
    )


def conditional_delete(rtype: str) -> Response:
    known_type(rtype)
    svc = services()
    with svc.transaction() as cur:
        target = single_match(cur, rtype, request.query_string.decode(), what="conditional delete")
        security.authorize_write(security.current(), rtype, None, cur, letter="d",
                                 existing=lambda: svc.store.find_current(cur, rtype, target) if target else None)
        marker = svc.store.delete(cur, rtype, target, writer=_guarded(svc)) if target is not None else None
    if marker is None:
        return fhir_response(_deleted_outcome(f"no {rtype} matched the criteria; nothing deleted"), 200)
    return fhir_response(_deleted_outcome(f"{rtype}/{target} deleted"), 200, {"ETag": marker.etag})
