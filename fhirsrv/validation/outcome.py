"""Validation issues and the OperationOutcome they become.

Every issue carries a stable message id (``details.coding`` with :data:`MESSAGE_SYSTEM`) so
that clients and tests can key on the kind of problem without parsing English, a FHIR
issue-type ``code``, a sentence that says what to do, and a FHIRPath ``expression``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MESSAGE_SYSTEM = "https://fhirsrv.dev/CodeSystem/validation-message"

SEVERITY_ORDER = {"fatal": 0, "error": 1, "warning": 2, "information": 3}

# Every message id the validator emits (``details.coding[0].code`` in MESSAGE_SYSTEM), with
# what it means. Ids are stable: clients and tests key on them, so rename none.
MESSAGE_IDS: dict[str, str] = {
    "all-ok": "no issues were found",
    "unreadable": "the input could not be read or parsed as JSON (CLI)",
    "unknown-element": "a property the definition does not have (or an _element for a non-primitive)",
    "json-type": "the JSON type is wrong for the FHIR type (string for a boolean, object for a string …)",
    "json-array-expected": "a repeating element must be a JSON array",
    "json-array-unexpected": "a single-valued element must not be an array",
    "empty-element": "an object with no properties, or a primitive with neither value nor extension",
    "empty-array": "an empty JSON array",
    "null-value": "a null where a value or an extension is needed",
    "primitive-extension-mismatch": "_element array length differs from the value array",
    "primitive-format": "a primitive value breaks its type's lexical rule (regex, calendar, range)",
    "resource-type-missing": "no resourceType",
    "resource-type-unknown": "resourceType is not an R4 resource type",
    "resource-type-wrong": "a resource of another type is required here",
    "choice-multiple": "more than one form of a choice element value[x]",
    "type-not-allowed": "a choice form the profile does not allow",
    "cardinality-min": "a required element is missing",
    "cardinality-max": "too many repetitions",
    "cardinality-forbidden": "an element the profile forbids (max 0)",
    "fixed-value": "a value differs from the profile's fixed[x]",
    "pattern-value": "a value does not match the profile's pattern[x]",
    "max-length": "a string longer than maxLength",
    "binding-required": "a code outside a required value set",
    "binding-extensible": "a code outside an extensible value set (warning)",
    "binding-no-code": "a required binding with text but no code",
    "binding-unchecked": "the binding could not be checked offline (warning, says why)",
    "invariant-failed": "a FHIRPath constraint failed; diagnostics start with its key (dom-6: …)",
    "invariant-unevaluable": "a FHIRPath constraint could not be evaluated (warning)",
    "extension-value": "ext-1: an extension needs exactly one of value[x] and sub-extensions",
    "extension-unknown": "an extension whose definition we do not have (warning; an error with unknown_extensions = error)",
    "extension-cross-version": "a cross-version extension (http://hl7.org/fhir/5.0/…): its definition is in another FHIR version (warning)",
    "extension-modifier-mismatch": "a modifier extension in extension, or a regular one in modifierExtension",
    "extension-context": "an extension on an element its definition's context does not allow",
    "extension-not-extension": "an extension url naming a non-extension definition",
    "profile-unknown": "a claimed or requested profile we do not have (warning)",
    "profile-type-mismatch": "a profile for another resource type",
    "reference-contained-missing": "#id names no contained resource",
    "reference-dangling": "a reference inside a document Bundle resolves to no entry",
    "reference-target-type": "a reference to a resource type the element does not allow",
    "reference-target-profile": "a resolved target does not conform to the target profile",
    "reference-target-profile-unknown": "a profile's targetProfile for a reference is a profile we do not have",
    "slice-missing": "a required slice has no item; says what it needs and the closest candidate",
    "slice-cardinality-max": "too many items in one slice",
    "slice-closed-unmatched": "an item of a closed slicing matches no slice",
    "slice-open-unmatched": "an item of an open slicing matches no slice (information)",
    "slice-open-at-end": "an unsliced item before sliced ones in openAtEnd slicing",
    "slice-order": "ordered slices out of order",
    "coding-system-relative": "Coding.system is not an absolute URI",
    "coding-system-is-valueset": "Coding.system names a value set, not a code system",
    "coding-display": "a Coding.display that is not the display of its code in a code system held in full, or (for a QuestionnaireResponse answer) one the terminology service holds (error; warning with display_warnings)",
    "attachment-size": "Attachment.size differs from the size of the inline data",
    "attachment-hash": "Attachment.hash is not the SHA-1 of the inline data (warning)",
    "ssin-check-digit": "a Belgian SSIN/BIS identifier with wrong check digits (warning)",
    "xhtml-entity": "a named entity XHTML does not define (&reg; …) in the narrative",
    "xhtml-element": "an element the narrative rules (txt-1) do not allow (script, form …)",
    "xhtml-attribute": "an attribute the narrative rules do not allow (event handlers …)",
    "xhtml-not-well-formed": "the narrative div is not well-formed XML",
    "xhtml-link-unresolved": "an internal hyperlink (#id) in the narrative names no anchor (warning)",
    "xhtml-textlink-unresolved": "a textLink extension's htmlid names no element of the narrative",
    "string-too-long": "a string over 1 MiB",
    "string-html": "HTML tags in a plain string (with security checks)",
    "markdown-html": "HTML tags in markdown (warning; error with no-html-in-markdown)",
    "example-url": "an example.org/.com/.net URL where example URLs are not allowed",
    "uri-uuid": "a urn:uuid: uri/url/canonical whose UUID is not valid lowercase 8-4-4-4-12 hex",
    "uri-oid": "a urn:oid: uri/url/canonical whose OID is not valid",
    "bundle-link-repeated": "a Bundle link relation that occurs more than once",
    "bundle-fullurl-relative": "a Bundle entry fullUrl that is not absolute",
    "bundle-fullurl-mismatch": "a RESTful fullUrl that does not end with the entry's type and id",
    "bundle-search-outcome": "a searchset entry with mode outcome that is not an OperationOutcome",
    "bundle-search-id": "a searchset match without an id",
    "bundle-search-type": "a searchset match of a type the search did not ask for",
    "reference-ambiguous": "a reference that matches several entries of a Bundle",
    "reference-format": "a literal reference that cannot be one: white space, or a RESTful tail naming no R4 resource type",
    "value-below-min": "a value below the profile's minValue[x] (Quantities after UCUM conversion)",
    "value-above-max": "a value above the profile's maxValue[x] (Quantities after UCUM conversion)",
    "value-limit-incomparable": "a Quantity that no validator can compare with minValue/maxValue (no coded unit, non-UCUM units that differ, UCUM units of another kind)",
    "value-limit-uncomparable": "a value that cannot be compared with minValue/maxValue here: a UCUM unit our converter does not know, or a zoned and a zone-less date close enough for the zone to decide (warning)",
    "searchparameter-composite": "a composite SearchParameter with fewer than two components",
    "searchparameter-derived-type": "a SearchParameter whose type differs from the one it is derived from",
    "searchparameter-derived-base": "a SearchParameter base the one it is derived from does not have",
    "capability-searchparam-type": "a CapabilityStatement searchParam type that differs from its definition",
    "measurereport-score-cohort": "a measureScore in a report of a cohort measure",
    "measurereport-stratifier-unknown": "a reported stratifier whose code matches none of the measure's",
    "measurereport-stratifier-missing": "a stratifier of the measure that the report does not include",
    "reference-unresolved": "a relative reference that does not resolve where it must (option)",
    # QuestionnaireResponse against its Questionnaire (questionnaire_*.py)
    "questionnaire-not-found": "the Questionnaire a response names cannot be found; its answers were not checked (warning)",
    "questionnaire-wrong-type": "QuestionnaireResponse.questionnaire names a resource that is not a Questionnaire",
    "questionnaire-contained-missing": "QuestionnaireResponse.questionnaire '#id' names no contained resource",
    "questionnaire-item-unknown": "a response item whose linkId is not in the Questionnaire",
    "questionnaire-item-misplaced": "a response item at another place in the tree than in the Questionnaire",
    "questionnaire-item-order": "response items in another order than in the Questionnaire",
    "questionnaire-item-repeats": "an item repeated that does not repeat in the Questionnaire",
    "questionnaire-item-disabled": "an answered item whose enableWhen conditions are not met",
    "questionnaire-item-text": "item.text differs from the Questionnaire item's text",
    "questionnaire-item-nesting": "items nested under a question's item (not answer.item) or under a display item",
    "questionnaire-required-missing": "a required (enabled) item or answer is missing (warning while not completed)",
    "questionnaire-answer-repeats": "several answers to an item that does not repeat",
    "questionnaire-answer-count": "fewer or more answers than questionnaire-minOccurs / -maxOccurs allow",
    "questionnaire-answer-not-allowed": "an answer to a group, display or abstract 'question' item",
    "questionnaire-answer-type": "an answer value[x] of another type than the item's type calls for",
    "questionnaire-answer-option": "an answer that is not one of the item's answerOption values",
    "questionnaire-answer-option-type": "an answer of a type none of the item's answerOption values has",
    "questionnaire-answer-exclusive": "an exclusive answer option chosen together with other answers",
    "questionnaire-free-text-matches-option": "open-choice free text that spells a coded option (warning)",
    "questionnaire-answer-valueset": "an answer code outside the item's answerValueSet",
    "questionnaire-valueset-unchecked": "the answerValueSet could not be expanded here; not checked (warning)",
    "questionnaire-value-range": "an answer below minValue/minQuantity or above maxValue/maxQuantity",
    "questionnaire-decimal-places": "more decimal places than maxDecimalPlaces allows",
    "questionnaire-string-length": "a text answer shorter than minLength or longer than maxLength",
    "questionnaire-string-format": "a text answer that does not match the item's regex",
    "questionnaire-string-newline": "a line break in an answer to a one-line string item (warning)",
    "questionnaire-regex-invalid": "the item's regex cannot be compiled; not checked (warning)",
    "questionnaire-attachment-type": "an attachment without a content type or of a type mimeType does not allow",
    "questionnaire-attachment-size": "an attachment larger than maxSize",
    "questionnaire-reference-type": "a reference answer to a resource type the item (referenceResource) does not accept",
    "questionnaire-quantity-unit": "a quantity answer whose unit is not a unitOption or not in the unitValueSet",
    "questionnaire-quantity-incomparable": "a quantity answer that cannot be compared with minQuantity/maxQuantity",
    "questionnaire-quantity-unchecked": "a UCUM conversion not supported here; the limit was not checked (warning)",
    "questionnaire-value-unchecked": "a date answer and a minValue/maxValue, one with a time zone and one without, close enough for the zone to decide (warning)",
    "questionnaire-readonly-changed": "an answer to a readOnly item that differs from the item's initial value (warning)",
    "questionnaire-authored-period": "authored outside the Questionnaire's effectivePeriod (warning)",
    "questionnaire-enablewhen-target": "Questionnaire enableWhen.question naming no item, the item itself or one nested in it",
    "questionnaire-enablewhen-after": "Questionnaire enableWhen.question naming a later item (warning)",
    # StructureDefinitions checked as definitions (structure_definition_rules.py)
    "sd-base-circular": "a StructureDefinition whose baseDefinition is its own url (warning)",
    "sd-base-unknown": "a StructureDefinition whose base we do not have: its differential is not checked (warning)",
    "sd-type-mismatch": "a constraint whose type differs from its base's type",
    "sd-snapshot-generation": "the snapshot cannot be generated from the differential (error; warning when the definition brings its own snapshot)",
    "sd-differential-path": "a differential path that names no element of the base (or a choice renamed after a type it does not have)",
    "sd-slicing-redefined": "a slice that changes the slicing (discriminators, ordered, rules) of the element it slices",
    "sd-discriminator-path": "a slicing discriminator path that leads to no element of the sliced element's type",
    "sd-fixed-contradicts-base": "a fixed[x]/pattern[x] that differs from the base's fixed value there",
    "sd-pattern-contradicts-base": "a fixed[x]/pattern[x] that does not match the base's pattern there",
    "resource-rules-failed": "the resource-type-specific checks broke on unforeseen content (warning, logged)",
}


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding; frozen so that equal findings from two walks collapse in a set."""

    severity: str  # fatal | error | warning | information
    code: str  # FHIR issue-type: structure, required, value, invariant, code-invalid …
    message_id: str  # stable id, e.g. ``unknown-element``
    diagnostics: str
    expression: str

    @property
    def is_error(self) -> bool:
        return self.severity in ("error", "fatal")

    def to_fhir(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "details": {"coding": [{"system": MESSAGE_SYSTEM, "code": self.message_id}]},
            "diagnostics": self.diagnostics,
            "expression": [self.expression],
        }


def dedupe(issues: list[Issue]) -> list[Issue]:
    """Drop repeats (base and profile walks can find the same thing), keep first order."""
    seen: set[tuple[str, str, str]] = set()
    result: list[Issue] = []
    for issue in issues:
        key = (issue.message_id, issue.expression, issue.diagnostics)
        if key not in seen:
            seen.add(key)
            result.append(issue)
    return result


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    """The OperationOutcome for a list of issues; an all-clear one when there are none.

    FHIR requires at least one issue, so a clean result says so with an ``information``.
    """
    unique = dedupe(issues)
    if not unique:
        return {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "information",
                    "code": "informational",
                    "details": {"coding": [{"system": MESSAGE_SYSTEM, "code": "all-ok"}]},
                    "diagnostics": "No issues found.",
                }
            ],
        }
    return {"resourceType": "OperationOutcome", "issue": [i.to_fhir() for i in unique]}


def has_errors(outcome: dict[str, Any]) -> bool:
    return any(i.get("severity") in ("error", "fatal") for i in outcome.get("issue", []))
