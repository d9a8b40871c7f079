"""Absence in patient summaries: "no known …" (a known absence) versus "no information".

IPS 1.1.0 said both with resources coded from ``absent-unknown-uv-ips`` (its required
sections needed an entry; ``emptyReason`` was 0..0). IPS 2.0 removed that code system: a
known absence is a SNOMED CT situation code, missing information is
``section.emptyReason`` (or SNOMED 1287211007). See IPS "Empty Sections and Missing Data".

We store what was sent and translate when we emit: into a 2.0 document a 1.1.0 "no known"
resource goes with the SNOMED code added beside its own, and a "no information" resource
becomes ``emptyReason``; into a 1.1.0 document an empty required section gets the 1.1.0
"no information" resource, generated and not stored.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..jsonshape import items, text

ABSENT_UNKNOWN = "http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips"
SNOMED = "http://snomed.info/sct"
LIST_EMPTY_REASON = "http://terminology.hl7.org/CodeSystem/list-empty-reason"

# IPS 1.1.0 "no known …" → the SNOMED CT concept IPS 2.0 uses instead.
NO_KNOWN_TO_SNOMED = {
    "no-known-allergies": ("716186003", "No known allergy"),
    "no-known-medication-allergies": ("409137002", "No known drug allergy"),
    "no-known-environmental-allergies": ("428607008", "No known environmental allergy"),
    "no-known-food-allergies": ("429625007", "No known food allergy"),
    "no-known-medications": ("787481004", "No known medications"),
    "no-known-problems": ("160245001", "No current problems or disability"),
    "no-known-immunizations": ("787482006", "No known immunizations"),
    "no-known-procedures": ("787480003", "No known procedures"),
    "no-known-devices": ("787483001", "No known device use"),
}
NO_INFO_CODES = frozenset(
    {"no-allergy-info", "no-medication-info", "no-problem-info", "no-immunization-info",
     "no-procedure-info", "no-device-info"}
)
# "No known …" for a whole section: contradicted by any real entry of that section. The
# narrower ones ("no known food allergy") are statements that stand beside real entries.
GENERAL_NO_KNOWN = frozenset(
    {"no-known-allergies", "no-known-medications", "no-known-problems", "no-known-immunizations",
     "no-known-procedures", "no-known-devices"}
)
SNOMED_GENERAL_NO_KNOWN = frozenset(NO_KNOWN_TO_SNOMED[c][0] for c in GENERAL_NO_KNOWN)
SNOMED_NO_INFO = "1287211007"

_CODE_ELEMENTS = ("code", "medicationCodeableConcept", "vaccineCode")


def _codings(resource: dict[str, Any]) -> list[dict[str, Any]]:
    for key in _CODE_ELEMENTS:
        value = resource.get(key)
        if isinstance(value, dict):
            return [c for c in items(value.get("coding")) if isinstance(c, dict)]
    return []


def classify(resource: dict[str, Any]) -> str | None:
    """``"no-known"`` (a section-wide known absence), ``"no-info"``, or None (a statement)."""
    for coding in _codings(resource):
        system, code = text(coding.get("system")), text(coding.get("code"))
        if system == ABSENT_UNKNOWN and code in NO_INFO_CODES:
            return "no-info"
        if (system == ABSENT_UNKNOWN and code in GENERAL_NO_KNOWN) or (
                system == SNOMED and code in SNOMED_GENERAL_NO_KNOWN):
            return "no-known"
        if system == SNOMED and code == SNOMED_NO_INFO:
            return "no-info"
    return None


def uses_absent_unknown(resource: dict[str, Any]) -> bool:
    return any(c.get("system") == ABSENT_UNKNOWN for c in _codings(resource))


def with_snomed(resource: dict[str, Any]) -> dict[str, Any] | None:
    """A copy with the SNOMED equivalent of a 1.1.0 "no known" code added; None if not needed."""
    for key in _CODE_ELEMENTS:
        value = resource.get(key)
        if not isinstance(value, dict):
            continue
        codings = [c for c in items(value.get("coding")) if isinstance(c, dict)]
        if any(c.get("system") == SNOMED for c in codings):
            return None
        for coding in codings:
            if coding.get("system") == ABSENT_UNKNOWN and text(coding.get("code")) in NO_KNOWN_TO_SNOMED:
                code, display = NO_KNOWN_TO_SNOMED[coding["code"]]
                added = {"system": SNOMED, "code": code, "display": display}
                return {**resource, key: {**value, "coding": [added, *codings]}}
        return None
    return None


def empty_reason() -> dict[str, Any]:
    return {"coding": [{"system": LIST_EMPTY_REASON, "code": "unavailable", "display": "Unavailable"}]}


def _absent(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": ABSENT_UNKNOWN, "code": code, "display": display}]}


def no_information_resource(section_code: str, patient_ref: str) -> dict[str, Any] | None:
    """The IPS 1.1.0 way to say "no information" in a required section (None: no such way)."""
    rid = str(uuid.uuid4())
    subject = {"reference": patient_ref}
    if section_code == "11450-4":
        return {"resourceType": "Condition", "id": rid,
                "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                               "code": "active"}]},
                "code": _absent("no-problem-info", "No information about problems"), "subject": subject}
    if section_code == "48765-2":
        return {"resourceType": "AllergyIntolerance", "id": rid,
                "clinicalStatus": {"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
                "code": _absent("no-allergy-info", "No information about allergies"), "patient": subject}
    if section_code == "10160-0":
        return {"resourceType": "MedicationStatement", "id": rid, "status": "unknown",
                "medicationCodeableConcept": _absent("no-medication-info", "No information about medications"),
                "subject": subject,
                "effectivePeriod": {"extension": [{
                    "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "not-applicable"}]}}
    return None
