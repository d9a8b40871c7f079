"""``Patient/[id]/$summary`` and ``Patient/$summary?identifier=system|value`` (IPS).

Generates a patient-summary document from the current stored data (see
:mod:`fhirsrv.documents.ips_builder`). ``profile`` selects the document profile: IPS 2.0
by default, IPS 1.1.0 or the EU Patient Summary on request (a canonical, ``|version``
optional, or an alias such as ``ips-1.1``). Errors: type level without ``identifier`` → 400;
no such patient → 404; an identifier shared by several patients → 422.
"""

from __future__ import annotations

from typing import Any

from flask import Response

from .. import security
from ..documents.ips_builder import build_summary, load_patient
from ..documents.patients import parse_token, patient_by_identifier
from ..documents.profiles import resolve
from ..errors import FhirError
from ..rest.http import base_url, check_accept, fhir_response, services
from .framework import Invocation, operation

SUMMARY = "http://hl7.org/fhir/uv/ips/OperationDefinition/summary"


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
    svc = services()
    profile = resolve(str(invocation.value("profile") or "ips"), svc.registry)[0]
    identifier = invocation.value("identifier")
    base = base_url()
    # No transaction (reads only, no BEGIN/COMMIT round trips); the patient's data is one query,
    # sent together with the Patient's existence check.
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
        with cur.connection.pipeline():
            loaded = load_patient(cur, patient_id, base)
            svc.store.read(cur, "Patient", patient_id)  # 404 / 410
        caller = security.current()
        security.authorize_patient(caller, patient_id, cur)
        admit = security.document_admit(caller, patient_id, cur)
        bundle = build_summary(cur, svc.registry, patient_id, profile, base, admit, loaded.result())
    return fhir_response(bundle)
