"""One answer of a QuestionnaireResponse against its Questionnaire item.

The answer's ``value[x]`` must have the form the item's ``type`` calls for; then the item's
constraints apply: ``answerOption`` membership (free text is allowed for ``open-choice``),
``answerValueSet`` membership through the terminology service, ``maxLength`` and the
``minLength``/``regex`` extensions for text, ``minValue``/``maxValue``/``maxDecimalPlaces``
for numbers and dates, the SDC ``minQuantity``/``maxQuantity`` and the ``unitOption`` /
``unitValueSet`` extensions for quantities, ``mimeType``/``maxSize`` for attachments and
``referenceResource`` for references. The rules follow R4 questionnaire.html and the HL7
Java validator (fhir-test-cases, module ``questionnaire``).

A value set that cannot be expanded here is a warning that says so — never a false error.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fhirsrv.terminology import CodeCheck

from .context import Run
from .datatype_rules import wrong_display_issue
from .outcome import Issue
from .questionnaire_values import (
    ENTRY_FORMAT,
    MAX_DECIMAL_PLACES,
    MAX_QUANTITY,
    MAX_SIZE,
    MAX_VALUE,
    MIME_TYPE,
    MIN_LENGTH,
    MIN_QUANTITY,
    MIN_VALUE,
    OPTION_EXCLUSIVE,
    REFERENCE_RESOURCE,
    REGEX,
    UNIT,
    UNIT_OPTION,
    UNIT_VALUE_SET,
    as_decimal,
    as_dict,
    as_list,
    decimal_places,
    extension_value,
    extensions,
    value_of,
    whole_number,
)
from .references import type_of_reference
from .value_limits import UCUM, Verdict, judge

_CHOICE_FORMS = ("valueCoding", "valueString", "valueInteger", "valueDate", "valueTime", "valueReference")

# item.type -> the answer value[x] forms it accepts (R4 questionnaire.html, "item.type")
ANSWER_FORMS: dict[str, tuple[str, ...]] = {
    "boolean": ("valueBoolean",),
    "decimal": ("valueDecimal",),
    "integer": ("valueInteger",),
    "date": ("valueDate",),
    "dateTime": ("valueDateTime",),
    "time": ("valueTime",),
    "string": ("valueString",),
    "text": ("valueString",),
    "url": ("valueUri",),
    "attachment": ("valueAttachment",),
    "reference": ("valueReference",),
    "quantity": ("valueQuantity",),
    "choice": _CHOICE_FORMS,
    "open-choice": _CHOICE_FORMS,
}
# QuestionnaireResponse.item.answer.value[x] in R4
ANSWER_VALUE_KEYS = frozenset(k for forms in ANSWER_FORMS.values() for k in forms)
_PRIMITIVE_FORMS = frozenset({"valueBoolean", "valueDecimal", "valueInteger", "valueDate", "valueDateTime",
                              "valueTime", "valueString", "valueUri"})


@dataclass
class AnswerContext:
    """What the answer checks need besides the answer: the run, the Questionnaire's resources."""

    run: Run
    containers: tuple[dict[str, Any], ...]  # where ``#id`` value sets are looked up, nearest first
    out: list[Issue]
    _terminology: Any = field(default=None, init=False)

    @property
    def terminology(self) -> Any:
        """A terminology session when the checker is the terminology service (the server's
        sees stored value sets too): it can expand a contained ValueSet; else the checker."""
        if self._terminology is None:
            checker = self.run.checker
            session = getattr(checker, "session", None)
            self._terminology = session() if callable(session) else checker
        return self._terminology

    def contained(self, reference: str) -> dict[str, Any] | None:
        for container in self.containers:
            for resource in as_list(container.get("contained")):
                if isinstance(resource, dict) and resource.get("id") == reference[1:]:
                    return resource
        return None


def _link(q_item: dict[str, Any]) -> str:
    return repr(q_item.get("linkId"))


def check_answer(ctx: AnswerContext, q_item: dict[str, Any], answer: dict[str, Any], path: str, count: int) -> None:
    """``answer`` (at ``path``) of an item answered ``count`` times, against ``q_item``."""
    key = next((k for k in answer if k in ANSWER_VALUE_KEYS), None)
    qtype = q_item.get("type")
    forms = ANSWER_FORMS.get(qtype) if isinstance(qtype, str) else None
    if key is None or forms is None:
        return  # no value (only nested items), or a value[x] form R4 does not have (the base walk says so)
    kind = key[5].lower() + key[6:] if key in _PRIMITIVE_FORMS else key[5:]  # valueDate → date, valueCoding → Coding
    value = answer[key]
    here = f"{path}.{key}"
    if key not in forms:
        ctx.out.append(Issue("error", "structure", "questionnaire-answer-type", f"{here}: the item {_link(q_item)} is of type {qtype}, so its answers must be {' or '.join(forms)}, not {key}.", here))
        return
    rule = _BY_FORM.get(key)
    if rule is not None:
        rule(ctx, q_item, value, here)
    _check_options(ctx, q_item, kind, value, here, count)


# ----------------------------------------------------------------------------- options


def _check_options(ctx: AnswerContext, q_item: dict[str, Any], kind: str, value: Any, here: str, count: int) -> None:
    qtype = q_item.get("type")
    options = [o for o in as_list(q_item.get("answerOption")) if isinstance(o, dict)]
    valueset = q_item.get("answerValueSet")
    if not options:
        if isinstance(valueset, str) and valueset:
            if kind == "Coding" and isinstance(value, dict):
                _check_in_valueset(ctx, q_item, valueset, value.get("system"), value.get("code"), value.get("display"), here)
            elif kind == "string" and qtype in ("string", "text") and isinstance(value, str):
                _check_in_valueset(ctx, q_item, valueset, None, value, None, here)
        return
    offered = [(o, v[1]) for o in options if (v := value_of(o, "value")) is not None and v[0] == kind]
    if kind == "string" and qtype == "open-choice":
        _warn_free_text_like_option(ctx, options, value, here)
        return  # free text is what open-choice allows besides the options
    if not offered:
        kinds = sorted({v[0] for o in options if (v := value_of(o, "value")) is not None})
        ctx.out.append(Issue("error", "value", "questionnaire-answer-option-type", f"{here}: the item {_link(q_item)} offers only {', '.join(kinds) or 'no'} answer options, so a {kind} answer cannot be one of them.", here))
        return
    match = next((o for o, v in offered if _same_option(kind, v, value)), None)
    if match is None:
        shown = ", ".join(_show(kind, v) for _, v in offered[:10]) + (" …" if len(offered) > 10 else "")
        ctx.out.append(Issue("error", "value", "questionnaire-answer-option", f"{here}: {_show(kind, value)} is not one of the answer options of item {_link(q_item)} ({shown}).", here))
    elif count > 1 and _is_exclusive(match):
        ctx.out.append(Issue("error", "business-rule", "questionnaire-answer-exclusive", f"{here}: {_show(kind, value)} is an exclusive option of item {_link(q_item)}; it cannot be chosen together with other answers.", here))


def _same_option(kind: str, option: Any, value: Any) -> bool:
    if kind == "Coding":
        return isinstance(option, dict) and isinstance(value, dict) and (option.get("system"), option.get("code")) == (value.get("system"), value.get("code"))
    if kind == "Reference":
        return isinstance(option, dict) and isinstance(value, dict) and option.get("reference") == value.get("reference")
    return option == value and type(option) is type(value)


def _is_exclusive(option: dict[str, Any]) -> bool:
    return any(e.get("valueBoolean") is True for e in extensions(option, OPTION_EXCLUSIVE))


def _show(kind: str, value: Any) -> str:
    if kind == "Coding" and isinstance(value, dict):
        return f"{value.get('system') or ''}#{value.get('code')}"
    if kind == "Reference" and isinstance(value, dict):
        return repr(value.get("reference"))
    return repr(value) if isinstance(value, str) else str(value)


def _warn_free_text_like_option(ctx: AnswerContext, options: list[dict[str, Any]], value: Any, here: str) -> None:
    """Free text that spells one of the coded options was probably meant to be that option."""
    if not isinstance(value, str):
        return
    folded = value.casefold()
    for option in options:
        coding = option.get("valueCoding")
        if isinstance(coding, dict) and folded in {str(coding.get(k, "")).casefold() for k in ("code", "display")}:
            ctx.out.append(Issue("warning", "value", "questionnaire-free-text-matches-option", f"{here}: the free text {value!r} matches the coded option {_show('Coding', coding)}; answer with that Coding instead.", here))
            return


# ----------------------------------------------------------------------------- value sets


def _check_in_valueset(ctx: AnswerContext, q_item: dict[str, Any], valueset: str, system: Any, code: Any, display: Any, here: str) -> None:
    if not isinstance(code, str) or not code:
        return  # a Coding with only a display: nothing to look up (the base walk checks the Coding)
    system = system if isinstance(system, str) else None
    display = display if isinstance(display, str) else None
    if valueset.startswith("#"):
        contained = ctx.contained(valueset)
        answer = _contained_member(ctx, contained, system, code, display) if contained is not None else \
            CodeCheck(None, f"the value set {valueset} is not contained in the Questionnaire")
    else:
        answer = ctx.terminology.validate_code(valueset, system=system, code=code, display=display)
    shown = f"{system}#{code}" if system else repr(code)
    if answer.valid is False:
        ctx.out.append(Issue("error", "code-invalid", "questionnaire-answer-valueset", f"{here}: {shown} is not in the answer value set {valueset} of item {_link(q_item)}.", here))
    elif answer.valid is None:
        ctx.out.append(Issue("warning", "not-supported", "questionnaire-valueset-unchecked", f"{here}: {shown} could not be checked against the answer value set {valueset} of item {_link(q_item)}: {answer.message or 'the value set cannot be expanded here'}.", here))
    elif answer.wrong_display and not _display_judged_by_coding_rule(ctx, system, code, display):
        ctx.out.append(wrong_display_issue(ctx.run, answer, here))


def _display_judged_by_coding_rule(ctx: AnswerContext, system: str | None, code: str, display: str | None) -> bool:
    """Whether the base walk's Coding rule (datatype_rules.check_coding) already reports this
    wrong display: it judges every Coding whose code system the registry holds in full. The
    answer's value set is checked by the terminology service, which may also hold code
    systems the registry does not (shipped terminology, stored CodeSystems); only those are
    reported here, so that a wrong display is one issue, as in the HL7 Java validator."""
    return bool(system) and display is not None and ctx.run.defs.code_systems.check_display(system, code, display) is not None


def _contained_member(ctx: AnswerContext, valueset: dict[str, Any], system: str | None, code: str, display: str | None) -> CodeCheck:
    """Membership in a ValueSet contained in the Questionnaire (or the response holding it)."""
    terminology = ctx.terminology
    if valueset.get("resourceType") != "ValueSet":
        return CodeCheck(None, f"#{valueset.get('id')} is a {valueset.get('resourceType')}, not a ValueSet")
    if hasattr(terminology, "expand_resource") and hasattr(terminology, "check_member"):
        return terminology.check_member(terminology.expand_resource(valueset), f"#{valueset.get('id')}", system, code, display)
    return _enumerated_member(ctx, valueset, system, code)


def _enumerated_member(ctx: AnswerContext, valueset: dict[str, Any], system: str | None, code: str) -> CodeCheck:
    """Without a terminology service: enumerated concepts and referenced value sets only."""
    unknown = False
    compose = as_dict(valueset.get("compose"))
    for include in as_list(compose.get("include")):
        if not isinstance(include, dict):
            continue
        for inner in as_list(include.get("valueSet")):
            answer = ctx.terminology.validate_code(inner, system=system, code=code)
            if answer.valid:
                return answer
            unknown = unknown or answer.valid is None
        included = include.get("system")
        if not included or (system is not None and included != system):
            continue
        concepts = include.get("concept")
        if isinstance(concepts, list) and not include.get("filter"):
            if any(isinstance(c, dict) and c.get("code") == code for c in concepts):
                return CodeCheck(True)
        else:
            unknown = True
    for contains in as_list(as_dict(valueset.get("expansion")).get("contains")):
        if isinstance(contains, dict) and contains.get("code") == code and system in (None, contains.get("system")):
            return CodeCheck(True)
    if unknown:
        return CodeCheck(None, f"the contained value set #{valueset.get('id')} includes content that cannot be expanded here")
    return CodeCheck(False, f"not in #{valueset.get('id')}")


# ----------------------------------------------------------------------------- by value type


def _check_limits(ctx: AnswerContext, q_item: dict[str, Any], tcode: str, value: Any, here: str,
                  urls: tuple[str, str] = (MIN_VALUE, MAX_VALUE)) -> None:
    """The item's lower and upper bound extensions (``urls``) on an answer of FHIR type
    ``tcode``, compared as profiles' minValue/maxValue are (:func:`.value_limits.judge`)."""
    for url, is_min in zip(urls, (True, False), strict=True):
        limit = extension_value(q_item, url)
        if limit is None:
            continue
        verdict = judge(tcode, value, limit[1], is_min)
        if verdict is not None:
            ctx.out.append(_limit_issue(q_item, verdict, tcode, value, limit[1], is_min, here))


def _limit_issue(q_item: dict[str, Any], verdict: Verdict, tcode: str, value: Any, bound: Any, is_min: bool, here: str) -> Issue:
    quantity = tcode == "Quantity"
    shown, shown_bound = (_show_quantity(value), _show_quantity(bound)) if quantity else (str(value), str(bound))
    which = "minimum" if is_min else "maximum"
    if verdict.why is not None and verdict.certain:
        return Issue("error", "value", "questionnaire-quantity-incomparable", f"{here}: {shown} cannot be compared with the {which} {shown_bound} of item {_link(q_item)}: {verdict.why}.", here)
    if verdict.why is not None:
        message_id = "questionnaire-quantity-unchecked" if quantity else "questionnaire-value-unchecked"
        return Issue("warning", "not-supported", message_id, f"{here}: {shown} could not be compared with the {which} {shown_bound} of item {_link(q_item)}: {verdict.why}.", here)
    return Issue("error", "value", "questionnaire-value-range", f"{here}: {shown} is {'less' if is_min else 'greater'} than the {which} {shown_bound} allowed for item {_link(q_item)}.", here)


def _check_number(ctx: AnswerContext, q_item: dict[str, Any], value: Any, here: str) -> None:
    _check_limits(ctx, q_item, "decimal", value, here)


def _check_decimal(ctx: AnswerContext, q_item: dict[str, Any], value: Any, here: str) -> None:
    _check_number(ctx, q_item, value, here)
    _check_places(ctx, q_item, value, here)


def _check_places(ctx: AnswerContext, q_item: dict[str, Any], value: Any, here: str) -> None:
    places = whole_number(q_item, MAX_DECIMAL_PLACES)
    if places is not None and decimal_places(value) > places:
        ctx.out.append(Issue("error", "value", "questionnaire-decimal-places", f"{here}: {value} has {decimal_places(value)} decimal places; item {_link(q_item)} allows at most {places}.", here))


def _check_date(ctx: AnswerContext, q_item: dict[str, Any], value: Any, here: str) -> None:
    _check_limits(ctx, q_item, "dateTime", value, here)


def _check_time(ctx: AnswerContext, q_item: dict[str, Any], value: Any, here: str) -> None:
    _check_limits(ctx, q_item, "time", value, here)


def _check_string(ctx: AnswerContext, q_item: dict[str, Any], value: Any, here: str) -> None:
    if not isinstance(value, str) or q_item.get("type") not in ("string", "text"):
        return
    shortest = whole_number(q_item, MIN_LENGTH)
    if shortest is not None and len(value) < shortest:
        ctx.out.append(Issue("error", "value", "questionnaire-string-length", f"{here} is {len(value)} characters long; item {_link(q_item)} needs at least {shortest}.", here))
    longest = q_item.get("maxLength")
    if isinstance(longest, int) and not isinstance(longest, bool) and len(value) > longest:
        ctx.out.append(Issue("error", "value", "questionnaire-string-length", f"{here} is {len(value)} characters long; item {_link(q_item)} allows at most {longest}.", here))
    regex = extension_value(q_item, REGEX)
    if regex is not None and isinstance(regex[1], str):
        _check_regex(ctx, q_item, value, regex[1], here)
    if q_item.get("type") == "string" and ("\n" in value or "\r" in value):
        ctx.out.append(Issue("warning", "value", "questionnaire-string-newline", f"{here} contains a line break; item {_link(q_item)} is a one-line string (multi-line answers need an item of type text).", here))


def _check_regex(ctx: AnswerContext, q_item: dict[str, Any], value: str, pattern: str, here: str) -> None:
    try:
        matched = re.fullmatch(pattern, value) is not None
    except re.error as exc:
        ctx.out.append(Issue("warning", "processing", "questionnaire-regex-invalid", f"{here} could not be checked: the regex {pattern!r} of item {_link(q_item)} is not valid ({exc}).", here))
        return
    if not matched:
        example = extension_value(q_item, ENTRY_FORMAT)
        hint = f" (expected format: {example[1]})" if example is not None else ""
        ctx.out.append(Issue("error", "value", "questionnaire-string-format", f"{here} {value!r} does not match the pattern '{pattern}' of item {_link(q_item)}{hint}.", here))


def _check_attachment(ctx: AnswerContext, q_item: dict[str, Any], value: Any, here: str) -> None:
    if not isinstance(value, dict):
        return
    allowed = [e.get("valueCode") for e in extensions(q_item, MIME_TYPE) if isinstance(e.get("valueCode"), str)]
    if allowed:
        content_type = value.get("contentType")
        if not isinstance(content_type, str):
            ctx.out.append(Issue("error", "required", "questionnaire-attachment-type", f"{here}.contentType is missing; item {_link(q_item)} accepts only {', '.join(allowed)}.", f"{here}.contentType"))
        elif not any(content_type.startswith(m) for m in allowed):
            ctx.out.append(Issue("error", "value", "questionnaire-attachment-type", f"{here}.contentType {content_type!r} is not accepted by item {_link(q_item)} (allowed: {', '.join(allowed)}).", f"{here}.contentType"))
    limit = extension_value(q_item, MAX_SIZE)
    largest = as_decimal(limit[1]) if limit is not None else None
    size = _attachment_size(value)
    if largest is not None and size is not None and size > largest:
        ctx.out.append(Issue("error", "value", "questionnaire-attachment-size", f"{here} is {size} bytes; item {_link(q_item)} accepts at most {largest}.", here))


def _attachment_size(value: dict[str, Any]) -> int | None:
    data = value.get("data")
    if isinstance(data, str):
        try:
            return len(base64.b64decode(data))
        except (binascii.Error, ValueError):
            return None  # the base walk reports malformed base64
    size = value.get("size")
    return size if isinstance(size, int) and not isinstance(size, bool) else None


def _check_reference(ctx: AnswerContext, q_item: dict[str, Any], value: Any, here: str) -> None:
    reference = value.get("reference") if isinstance(value, dict) else None
    if not isinstance(reference, str):
        return
    rtype = type_of_reference(reference)
    if rtype is None:
        return
    if rtype not in ctx.run.defs.resource_types:
        if "://" in reference:  # a relative one is reported by the base walk (reference-format)
            ctx.out.append(Issue("error", "value", "questionnaire-reference-type", f"{here}.reference {reference!r}: {rtype} is not a FHIR resource type, so it cannot answer a reference item.", f"{here}.reference"))
        return
    allowed = [e.get("valueCode") for e in extensions(q_item, REFERENCE_RESOURCE) if isinstance(e.get("valueCode"), str)]
    if allowed and rtype not in allowed:
        ctx.out.append(Issue("error", "value", "questionnaire-reference-type", f"{here}.reference {reference!r} refers to {rtype}; item {_link(q_item)} accepts only {', '.join(allowed)}.", f"{here}.reference"))


def _check_quantity(ctx: AnswerContext, q_item: dict[str, Any], value: Any, here: str) -> None:
    if not isinstance(value, dict):
        return
    _check_limits(ctx, q_item, "Quantity", value, here, (MIN_QUANTITY, MAX_QUANTITY))
    if value.get("value") is not None:
        _check_places(ctx, q_item, value["value"], f"{here}.value")
    # questionnaire-unitOption lists the units allowed; questionnaire-unit names the one unit
    options = [e.get("valueCoding") for url in (UNIT_OPTION, UNIT) for e in extensions(q_item, url)
               if isinstance(e.get("valueCoding"), dict)]
    if options and not any(_unit_matches(value, o) for o in options):
        shown = ", ".join(_show_unit(o) for o in options)
        ctx.out.append(Issue("error", "value", "questionnaire-quantity-unit", f"{here} has the unit {_show_quantity(value)}, which is not one of the units of item {_link(q_item)} ({shown}).", here))
    unit_vs = extension_value(q_item, UNIT_VALUE_SET)
    if unit_vs is not None and isinstance(unit_vs[1], str):
        code = value.get("code")
        if not isinstance(code, str):
            ctx.out.append(Issue("error", "value", "questionnaire-quantity-unit", f"{here} has no coded unit; item {_link(q_item)} needs a unit from {unit_vs[1]}.", here))
        else:
            _check_in_valueset(ctx, q_item, unit_vs[1], value.get("system"), code, None, here)


def _unit_matches(value: dict[str, Any], option: dict[str, Any]) -> bool:
    """Each of the option's system, code and display, when given, must equal the quantity's."""
    pairs = (("system", "system"), ("code", "code"), ("display", "unit"))
    return all(option.get(o) is None or option.get(o) == value.get(v) for o, v in pairs)


def _show_quantity(q: dict[str, Any]) -> str:
    text = f"{q.get('comparator', '')}{q.get('value')}"
    if q.get("unit"):
        text += f" {q['unit']}"
    if q.get("code"):
        text += f" ({'UCUM' if q.get('system') == UCUM else q.get('system') or '?'}#{q['code']})"
    return text


def _show_unit(c: dict[str, Any]) -> str:
    return f"{c.get('display') or c.get('code')} ({c.get('system') or '?'}#{c.get('code')})"


Check = Callable[[AnswerContext, dict[str, Any], Any, str], None]

_BY_FORM: dict[str, Check] = {
    "valueInteger": _check_number,
    "valueDecimal": _check_decimal,
    "valueDate": _check_date,
    "valueDateTime": _check_date,
    "valueTime": _check_time,
    "valueString": _check_string,
    "valueAttachment": _check_attachment,
    "valueReference": _check_reference,
    "valueQuantity": _check_quantity,
}
