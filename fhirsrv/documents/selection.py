"""Which stored resources belong in which IPS section — the rules the IPS states in prose.

The profile says which resource *types* a section may hold (read from the snapshot, see
:mod:`.sections`); what is clinically current is not expressible there, so it is written
here, one small rule per section LOINC code, after IPS "Generation and Data Inclusion" and
the section definitions:

* Problems (11450-4): conditions that are active (active/recurrence/relapse; or no status
  and no abatement). Past problems (11348-0): inactive/remission/resolved.
* Allergies (48765-2): every allergy or intolerance, resolved ones included (IPS keeps them,
  with the abatement extension), but never refuted or entered in error.
* Medications (10160-0): statements and requests that are not stopped, completed,
  cancelled, not taken or entered in error; requests that say "do not perform" are excluded.
* Results, vital signs, social history: observations by category, the latest per code (a
  summary is not a lab history); pregnancy observations by their IPS LOINC codes.
* Advance directives: Consents with scope ``adr`` only — never access-control consents.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import jsonshape
from . import fhirtime

Rule = Callable[[dict[str, Any]], bool]

_NOT_VALID = {"entered-in-error", "refuted"}
_ACTIVE = {"active", "recurrence", "relapse"}
_PAST = {"inactive", "remission", "resolved"}
_MEDICATION_STATEMENT_CURRENT = {"active", "intended", "on-hold", "unknown"}
_MEDICATION_REQUEST_CURRENT = {"active", "on-hold", "unknown"}
_OBSERVATION_DONE = {"final", "amended", "corrected", "preliminary"}
PREGNANCY_CODES = frozenset(
    {"82810-3", "11778-8", "11779-6", "11780-4", "11636-8", "11637-6", "11638-4", "11639-2", "11640-0",
     "11612-9", "11613-7", "11614-5", "33065-4"}
)


def _code(value: Any) -> str | None:
    """The first coding's code of a CodeableConcept."""
    if isinstance(value, dict):
        for coding in jsonshape.items(value.get("coding")):
            if isinstance(coding, dict) and coding.get("code"):
                return str(coding["code"])
    return None


def _codes(value: Any) -> set[str]:
    concepts = value if isinstance(value, list) else [value]
    return {str(c.get("code")) for cc in concepts if isinstance(cc, dict)
            for c in jsonshape.items(cc.get("coding")) if isinstance(c, dict) and c.get("code")}


def _verified(resource: dict[str, Any]) -> bool:
    return _code(resource.get("verificationStatus")) not in _NOT_VALID


def _has_abatement(resource: dict[str, Any]) -> bool:
    return any(k.startswith("abatement") for k in resource)


def active_problem(r: dict[str, Any]) -> bool:
    status = _code(r.get("clinicalStatus"))
    return r.get("resourceType") == "Condition" and _verified(r) and (
        status in _ACTIVE or (status is None and not _has_abatement(r)))


def past_problem(r: dict[str, Any]) -> bool:
    status = _code(r.get("clinicalStatus"))
    return r.get("resourceType") == "Condition" and _verified(r) and (
        status in _PAST or (status is None and _has_abatement(r)))


def allergy(r: dict[str, Any]) -> bool:
    return r.get("resourceType") == "AllergyIntolerance" and _verified(r)


def current_medication(r: dict[str, Any]) -> bool:
    if r.get("resourceType") == "MedicationStatement":
        return r.get("status") in _MEDICATION_STATEMENT_CURRENT
    if r.get("resourceType") == "MedicationRequest":
        return r.get("status") in _MEDICATION_REQUEST_CURRENT and r.get("doNotPerform") is not True
    return False


def _status_not(*excluded: str) -> Rule:
    return lambda r: r.get("status") not in excluded


def _status_in(*allowed: str) -> Rule:
    return lambda r: r.get("status") in allowed


def _observation(categories: set[str]) -> Rule:
    def rule(r: dict[str, Any]) -> bool:
        return (r.get("resourceType") == "Observation" and r.get("status") in _OBSERVATION_DONE
                and bool(_codes(r.get("category")) & categories) and not (_codes(r.get("code")) & PREGNANCY_CODES))

    return rule


def result(r: dict[str, Any]) -> bool:
    if r.get("resourceType") == "DiagnosticReport":
        return r.get("status") in _OBSERVATION_DONE and bool(_codes(r.get("category")) & {"LAB", "RAD", "laboratory"})
    return _observation({"laboratory", "imaging", "pathology", "LAB", "RAD"})(r)


def pregnancy(r: dict[str, Any]) -> bool:
    return r.get("resourceType") == "Observation" and r.get("status") != "entered-in-error" and bool(
        _codes(r.get("code")) & PREGNANCY_CODES)


def functional_status(r: dict[str, Any]) -> bool:
    """Functional assessments; disability Conditions are left to the problem sections."""
    return r.get("resourceType") == "ClinicalImpression" and r.get("status") != "entered-in-error"


def plan_of_care(r: dict[str, Any]) -> bool:
    if r.get("resourceType") == "ImmunizationRecommendation":
        return True
    return r.get("resourceType") == "CarePlan" and r.get("status") in {"active", "on-hold"}


def advance_directive(r: dict[str, Any]) -> bool:
    return r.get("resourceType") == "Consent" and r.get("status") == "active" and "adr" in _codes(r.get("scope"))


RULES: dict[str, Rule] = {
    "11450-4": active_problem,
    "11348-0": past_problem,
    "48765-2": allergy,
    "10160-0": current_medication,
    "11369-6": _status_in("completed"),
    "30954-2": result,
    "8716-3": _observation({"vital-signs"}),
    "29762-2": _observation({"social-history"}),
    "10162-6": pregnancy,
    "47519-4": _status_not("entered-in-error", "not-done"),
    "46264-8": _status_not("entered-in-error"),
    "42348-3": advance_directive,
    "104605-1": _status_in("active"),
    "18776-5": plan_of_care,
    "47420-5": functional_status,
}
# Sections summarised as "the latest per code" rather than every instance.
LATEST_PER_CODE = frozenset({"30954-2", "8716-3", "29762-2"})


def latest_per_code(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The most recent resource for each code (``effective``/``issued``), in first-seen order."""
    best: dict[str, dict[str, Any]] = {}
    for r in resources:
        key = f"{r.get('resourceType')}|{_code(r.get('code')) or r.get('id')}"
        when = fhirtime.sort_key(r.get("effectiveDateTime") or (r.get("effectivePeriod") or {}).get("start")
                                 or r.get("issued"))
        current = best.get(key)
        if current is None or when > current["_when"]:
            best[key] = {"_when": when, "resource": r}
    chosen = {id(v["resource"]) for v in best.values()}
    return [r for r in resources if id(r) in chosen]


def select(section_code: str, resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The resources (already filtered by type) that section ``section_code`` should list."""
    rule = RULES.get(section_code)
    if rule is None:
        return []
    chosen = [r for r in resources if rule(r)]
    return latest_per_code(chosen) if section_code in LATEST_PER_CODE else chosen
