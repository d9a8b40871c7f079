"""R4 rules a ConceptMap must keep before it is stored (and then used by ``$translate``).

The rules are the ConceptMap invariants of FHIR R4 plus the required binding of
``target.equivalence``; they run on every create/update even when profile validation is
off, because a broken map silently corrupts every translation made with it:

* cmd-1: a target whose equivalence is ``narrower`` or ``inexact`` must carry a ``comment``;
* cmd-2: ``unmapped.mode = fixed`` needs ``unmapped.code``;
* cmd-3: ``unmapped.mode = other-map`` needs ``unmapped.url``;
* ``target.equivalence`` is 1..1 and bound (required) to concept-map-equivalence: R5
  ``relationship`` codes (``source-is-narrower-than-target`` …) are not R4 and are rejected
  with the R4 code to use instead.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..errors import Issue, Unprocessable, operation_outcome
from ..jsonshape import items, obj

R4_EQUIVALENCES = frozenset(
    {"relatedto", "equivalent", "equal", "wider", "subsumes", "narrower", "specializes", "inexact",
     "unmatched", "disjoint"}
)
# R5 ConceptMap.group.element.target.relationship -> the R4 equivalence with the same meaning.
R5_TO_R4 = {
    "related-to": "relatedto",
    "equivalent": "equivalent",
    "source-is-narrower-than-target": "wider",
    "source-is-broader-than-target": "narrower",
    "not-related-to": "disjoint",
}
NEEDS_COMMENT = frozenset({"narrower", "inexact"})


def check_conceptmap(resource: dict[str, Any]) -> list[Issue]:
    """Every R4 rule the ConceptMap breaks, as error issues with FHIRPath expressions."""
    issues: list[Issue] = []
    for g, group in enumerate(items(resource.get("group"))):
        where = f"ConceptMap.group[{g}]"
        if not isinstance(group, dict):
            continue  # malformed: base validation reports it (or, with validation off, it maps nothing)
        issues += _check_unmapped(group.get("unmapped"), f"{where}.unmapped")
        for e, element in enumerate(items(group.get("element"))):
            for t, target in enumerate(items(obj(element).get("target"))):
                if isinstance(target, dict):
                    issues += _check_target(target, element, f"{where}.element[{e}].target[{t}]")
    return issues


def _check_target(target: dict[str, Any], element: dict[str, Any], where: str) -> list[Issue]:
    issues: list[Issue] = []
    mapping = f"{element.get('code')} -> {target.get('code', '(no code)')}"
    if "relationship" in target:
        r4 = R5_TO_R4.get(str(target["relationship"]))
        hint = f"use equivalence {r4!r}" if r4 else "use an R4 equivalence"
        issues.append(Issue("error", "structure",
                            f"ConceptMap {mapping}: 'relationship' is the R5 element; this is an R4 server, {hint}.",
                            [f"{where}.relationship"], "conceptmap-r5-relationship"))
    equivalence = target.get("equivalence")
    if equivalence is None:
        if "relationship" not in target:
            issues.append(Issue("error", "required",
                                f"ConceptMap {mapping}: target.equivalence is required (R4 1..1).",
                                [f"{where}.equivalence"], "conceptmap-equivalence-missing"))
        return issues
    if not isinstance(equivalence, str) or equivalence not in R4_EQUIVALENCES:
        r4 = R5_TO_R4.get(str(equivalence))
        hint = f"; {equivalence!r} is an R5 relationship code, the R4 code is {r4!r}" if r4 else ""
        issues.append(Issue("error", "code-invalid",
                            f"ConceptMap {mapping}: equivalence {equivalence!r} is not a code of "
                            f"http://hl7.org/fhir/concept-map-equivalence (required binding){hint}.",
                            [f"{where}.equivalence"], "conceptmap-equivalence-invalid"))
    elif equivalence in NEEDS_COMMENT and not str(target.get("comment") or "").strip():
        issues.append(Issue("error", "invariant",
                            f"ConceptMap {mapping}: equivalence {equivalence!r} needs a comment saying how the "
                            "meanings differ (cmd-1).",
                            [f"{where}.comment"], "cmd-1"))
    return issues


def _check_unmapped(unmapped: Any, where: str) -> list[Issue]:
    if not isinstance(unmapped, dict):
        return []
    mode = unmapped.get("mode")
    if mode == "fixed" and not unmapped.get("code"):
        return [Issue("error", "invariant", "ConceptMap unmapped mode 'fixed' needs a code (cmd-2).",
                      [f"{where}.code"], "cmd-2")]
    if mode == "other-map" and not unmapped.get("url"):
        return [Issue("error", "invariant", "ConceptMap unmapped mode 'other-map' needs a url (cmd-3).",
                      [f"{where}.url"], "cmd-3")]
    return []


def reject_broken_conceptmap(resource: dict[str, Any], expression_prefix: str = "") -> None:
    """The write-path hook: 422 with every broken rule when ``resource`` is a bad ConceptMap."""
    if resource.get("resourceType") != "ConceptMap":
        return
    issues = check_conceptmap(resource)
    if issues:
        if expression_prefix:
            issues = [replace(i, expression=[expression_prefix + e for e in i.expression]) for i in issues]
        raise Unprocessable(issues[0].diagnostics, outcome=operation_outcome(issues))
