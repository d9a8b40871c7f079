"""update (PUT [type]/[id], update-as-create with a client id) and conditional update."""

from __future__ import annotations

from flask import Response, request

from .. import security
from ..errors import FhirError
from .checks import known_type, valid_id, validate_for_write
from .conditional import single_match
from .http import check_accept, parse_etag, read_resource_body, services, write_response


def update(rtype: str, rid: str) -> Response:
    known_type(rtype)
    check_accept()
    valid_id(rid)
    resource = read_resource_body(rtype)
    body_id = resource.get("id")
    if body_id is None:
        raise FhirError(
            f"the body has no id: an update of {rtype}/{rid} must carry \"id\": \"{rid}\"",
            code="required",
            expression=f"{rtype}.id",
        )
    if body_id != rid:
        raise FhirError(
            f"the body's id {body_id!r} does not match the URL's id {rid!r}",
            status=422,
            code="invalid",
            expression=f"{rtype}.id",
        )
    if_match = parse_etag(request.headers.get("If-Match"))
    validate_for_write(resource)
    svc = services()
    with svc.transaction() as cur:
        security.authorize_write(security.current(), rtype, resource, cur, letter="u",
                                 existing=lambda: svc.store.find_current(cur, rtype, rid))
        stored, body, created = svc.store.update(cur, rtype, rid, resource, if_match=if_match)
    return write_response(stored, body, 201 if created else 200)


def conditional_update(rtype: str) -> Response:
    """PUT [type]?criteria: no match creates, one match updates, several are a 412."""
    known_type(rtype)
    check_accept()
    resource = read_resource_body(rtype)
    validate_for_write(resource)
    if_match = parse_etag(request.headers.get("If-Match"))
    svc = services()
    with svc.transaction() as cur:
        target = single_match(cur, rtype, request.query_string.decode(), what="conditional update")
        body_id = resource.get("id")
        if target is not None and body_id is not None and body_id != target:
            raise FhirError(
                f"the body's id {body_id!r} differs from the resource the criteria matched ({target})",
                code="invalid",
                expression=f"{rtype}.id",
            )
        security.authorize_write(security.current(), rtype, resource, cur, letter="u",
                                 existing=lambda: svc.store.find_current(cur, rtype, target or body_id) if (target or body_id) else None)
        if target is None and body_id is None:
            stored, body = svc.store.create(cur, rtype, resource)
            return write_response(stored, body, 201)
        stored, body, created = svc.store.update(cur, rtype, target or body_id, resource, if_match=if_match)
    return write_response(stored, body, 201 if created else 200)
