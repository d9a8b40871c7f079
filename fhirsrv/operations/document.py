"""``Composition/[id]/$document``: a stored Composition assembled into a document Bundle.

The Bundle holds the Composition first and every resource it references, transitively,
each once (the stored text, spliced in). ``persist=true`` is not supported: stored
documents are the ones clients send (POST Bundle), generated ones are transient.
"""

from __future__ import annotations

from flask import Response

from .. import security
from ..documents.ips_builder import build_document
from ..errors import FhirError
from ..rest.http import base_url, check_accept, fhir_response, services
from .framework import Invocation, operation

DOCUMENT = "http://hl7.org/fhir/OperationDefinition/Composition-document"


@operation("document", definition=DOCUMENT, type_level=False, instance=True, resource_types=("Composition",),
           documentation="A stored Composition and everything it references, as a document Bundle")
def document(invocation: Invocation) -> Response:
    check_accept()
    invocation.parameters_only()
    if str(invocation.value("persist") or "false").lower() not in {"false", "0"}:
        raise FhirError("persist=true is not supported: post the document to [base]/Bundle to store it",
                        code="not-supported", expression="persist")
    if invocation.value("graph") is not None:
        raise FhirError("graph is not supported by this server", code="not-supported", expression="graph")
    svc = services()
    caller = security.current()
    with svc.transaction() as cur:
        stored = svc.store.read(cur, "Composition", invocation.id or "")  # 404 / 410
        security.authorize_read(caller, stored, cur)
        admit = security.document_admit(caller, stored.patient_id, cur)
        bundle = build_document(cur, invocation.id or "", base_url(), admit)
    assert bundle is not None
    return fhir_response(bundle)
