"""``POST [base]/Bundle`` with ``type = document``: the HTTP face of :mod:`.ingest`."""

from __future__ import annotations

from typing import Any

from flask import Response

from .. import security
from ..rest.http import services, write_response
from .ingest import ingest_document


def is_document(rtype: str, resource: dict[str, Any]) -> bool:
    return rtype == "Bundle" and resource.get("type") == "document"


def create_document(bundle: dict[str, Any]) -> Response:
    """201 with the stored Bundle, or 200 with the one already stored under that identifier."""
    with services().transaction(pipelined=True) as cur:  # BEGIN and COMMIT ride with the statements
        result = ingest_document(cur, bundle, svc=security.guard_services(services(), security.current()))
    stored = result.bundle
    response = write_response(stored, stored.body or "", 201 if result.created else 200)
    response.headers["X-Document-Reference"] = f"DocumentReference/{result.docref_id}"
    return response
