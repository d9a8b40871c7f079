"""read and vread: the current version (one indexed row) or a given version, sent as stored."""

from __future__ import annotations

from flask import Response, request

from .. import security
from ..errors import FhirError
from .checks import known_type
from .elements import shape_body
from .http import check_accept, fhir_response, services, version_headers


def read(rtype: str, rid: str) -> Response:
    known_type(rtype)
    check_accept()
    with services().reading() as cur:
        stored = security.read_current(security.current(), cur, rtype, rid)
    headers = version_headers(stored)
    if _not_modified(stored.etag, headers["Last-Modified"]):
        return fhir_response(None, 304, headers)
    return fhir_response(shape_body(stored.body), 200, headers)


def vread(rtype: str, rid: str, vid: str) -> Response:
    known_type(rtype)
    check_accept()
    if not (vid.isascii() and vid.isdigit()):
        raise FhirError(f"version {vid!r} is not a version number", code="value")
    with services().reading() as cur:
        stored = security.authorize_read(security.current(), services().store.vread(cur, rtype, rid, int(vid)), cur)
    return fhir_response(shape_body(stored.body), 200, version_headers(stored))


def _not_modified(etag: str, last_modified: str) -> bool:
    """Conditional read: If-None-Match with the current ETag, or If-Modified-Since not older."""
    none_match = request.headers.get("If-None-Match")
    if none_match is not None:
        return any(tag.strip() in {etag, etag[2:], "*"} for tag in none_match.split(","))
    since = request.headers.get("If-Modified-Since")
    return since is not None and since.strip() == last_modified
