"""batch and transaction (``POST [base]`` with a Bundle): the HTTP side of the processor.

Parsing, Prefer and the database transaction live here; what the entries mean is decided by
:mod:`fhirsrv.store.transaction`, which document ingest reuses without HTTP. A transaction
that fails rolls back as a whole (the ``with`` block below) and is answered with the failing
entry's OperationOutcome and status; a batch always answers 200 with one outcome per entry.
"""

from __future__ import annotations

from typing import Any

import psycopg
from flask import Response
from psycopg import Cursor

from .. import security
from ..documents.ingest import ingest_document
from ..errors import Conflict
from ..store.repository import Stored
from ..store.transaction import PREFER_RETURN, BundleContext, process_bundle
from .checks import validate_for_write
from .http import base_url, check_accept, fhir_response, prefer, read_json_body, services


def context() -> BundleContext:
    """The processor's view of this server and this request (base URL, Prefer, validator)."""
    svc = services()
    mode = prefer("return")
    return BundleContext(
        store=security.guard(svc.store, security.current()),
        model=svc.model,
        base=base_url(),
        validate=validate_for_write,
        prefer_return=mode if mode in PREFER_RETURN else "representation",
        ingest_document=_ingest,
    )


def _ingest(cur: Cursor, document: dict[str, Any]) -> tuple[Stored, bool]:
    """A document Bundle posted inside a batch/transaction is ingested as ``POST [base]/Bundle``
    would: validated against its profile, stored as received, decomposed."""
    result = ingest_document(cur, document, svc=security.guard_services(services(), security.current()))
    return result.bundle, result.created


def process() -> Response:
    check_accept()
    bundle = read_json_body()
    ctx = context()
    try:
        with services().transaction() as cur:
            result = process_bundle(cur, bundle, ctx)
    except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
        raise Conflict(
            "the Bundle collided with a concurrent write to the same resources and was rolled back; "
            "send it again",
            code="transient",
        ) from None
    return fhir_response(result.bundle, 200)
