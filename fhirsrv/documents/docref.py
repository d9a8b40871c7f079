"""The DocumentReference that makes a stored document findable (MHD ITI-67 / EU Health Data API).

``DocumentReference?patient=…&type=http://loinc.org|60591-5&status=current`` finds the
newest summary of each source; ``content.attachment.url`` points at the stored Bundle
(ITI-68 returns the native document Bundle, never a Binary).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..store.repository import format_instant

LOINC = "http://loinc.org"
PATIENT_SUMMARY = {"system": LOINC, "code": "60591-5", "display": "Patient summary Document"}
_DOC_STATUS = {"preliminary", "final", "amended", "entered-in-error"}


def document_reference(
    *,
    bundle: dict[str, Any],
    bundle_id: str,
    composition: dict[str, Any],
    composition_id: str,
    patient_id: str,
    moment: datetime,
    replaces: str | None = None,
    superseded: bool = False,
) -> dict[str, Any]:
    """Build the DocumentReference of a stored document (``composition`` already rewritten)."""
    out: dict[str, Any] = {"resourceType": "DocumentReference"}
    identifier = bundle.get("identifier") or {}
    out["masterIdentifier"] = {k: identifier[k] for k in ("system", "value") if k in identifier}
    if isinstance(composition.get("identifier"), dict):
        out["identifier"] = [composition["identifier"]]
    out["status"] = "superseded" if superseded else "current"
    if composition.get("status") in _DOC_STATUS:
        out["docStatus"] = composition["status"]
    out["type"] = composition.get("type") or {"coding": [PATIENT_SUMMARY]}
    out["subject"] = {"reference": f"Patient/{patient_id}"}
    out["date"] = format_instant(moment)
    if composition.get("author"):
        out["author"] = composition["author"]
    if composition.get("custodian"):
        out["custodian"] = composition["custodian"]
    if replaces:
        out["relatesTo"] = [{"code": "replaces", "target": {"reference": f"DocumentReference/{replaces}"}}]
    if composition.get("title"):
        out["description"] = composition["title"]
    attachment: dict[str, Any] = {"contentType": "application/fhir+json", "url": f"Bundle/{bundle_id}"}
    if bundle.get("language"):
        attachment["language"] = bundle["language"]
    if composition.get("title"):
        attachment["title"] = composition["title"]
    if composition.get("date"):
        attachment["creation"] = composition["date"]
    out["content"] = [{"attachment": attachment}]
    context: dict[str, Any] = {}
    period = next((e.get("period") for e in composition.get("event") or [] if e.get("period")), None)
    if period:
        context["period"] = period
    context["related"] = [{"reference": f"Composition/{composition_id}"}]  # the decomposed document
    out["context"] = context
    return out
