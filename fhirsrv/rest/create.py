"""create (POST [type]), with conditional create (If-None-Exist)."""

from __future__ import annotations

from flask import Response, request

from .. import security
from ..documents.rest import create_document, is_document
from ..store.condition_locks import lock_conditions
from .checks import known_type, validate_for_write
from .conditional import single_match
from .http import check_accept, read_resource_body, services, write_response


def create(rtype: str) -> Response:
    known_type(rtype)
    check_accept()
    resource = read_resource_body(rtype)
    if is_document(rtype, resource):
        return create_document(resource)  # validated against its document profile there
    validate_for_write(resource)
    condition = request.headers.get("If-None-Exist")
    svc = services()
    with svc.transaction() as cur:
        security.authorize_write(security.current(), rtype, resource, cur)
        if condition:
            # the lock a transaction's ifNoneExist takes: two identical conditional creates
            # at once give one resource, whichever path (REST or Bundle) each comes by
            lock_conditions(cur, [(rtype, condition.lstrip("?"))])
            existing = single_match(cur, rtype, condition, what="If-None-Exist")
            if existing is not None:
                stored = svc.store.read(cur, rtype, existing)
                security.authorize_read(security.current(), stored, cur)
                return write_response(stored, stored.body or "", 200)
        stored, body = svc.store.create(cur, rtype, resource)
    return write_response(stored, body, 201)
