"""A QuestionnaireResponse against the Questionnaire it answers.

The StructureDefinition of QuestionnaireResponse says little about the answers; the
Questionnaire says the rest (R4 questionnaireresponse.html, "Questionnaire-specific rules"):

* every item's ``linkId`` exists in the Questionnaire, at the same place in the tree (the
  items of a group nest in ``item``, those of a question in ``answer.item``), in the
  Questionnaire's order, and only repeats where the Questionnaire item ``repeats``;
* ``required`` items that are enabled (``enableWhen``/``enableBehavior``) are present and
  answered; items that are not enabled carry no answers; display and group items carry none;
* ``item.text``, when given, is the Questionnaire's text;
* each answer fits its item (:mod:`.questionnaire_answers`);
* ``authored`` falls within the Questionnaire's ``effectivePeriod`` (a warning).

As in the HL7 Java validator, a response that is not ``completed`` or ``amended`` may still
lack required answers: those are warnings then. Issues point at the response element
(``QuestionnaireResponse.item[1].answer[0].valueInteger``); a missing item is reported on the
element that should hold it.
"""

from __future__ import annotations

from typing import Any

from .context import Run
from .outcome import Issue
from .questionnaire_answers import AnswerContext, check_answer
from .questionnaire_enable_when import is_enabled
from .questionnaire_resolve import Resolved, resolve_questionnaire
from .questionnaire_values import MAX_OCCURS, MIN_OCCURS, as_list, comparable_instant, value_of, whole_number

FINAL_STATUSES = frozenset({"completed", "amended"})
UNANSWERABLE = {"group": "a group", "display": "a display item", "question": "of the abstract type 'question'"}


def check_questionnaire_response(run: Run, qr: dict[str, Any], path: str, out: list[Issue]) -> None:
    resolved = resolve_questionnaire(run, qr, path, out)
    if resolved is None:
        return
    _check_authored(qr, resolved, path, out)
    status = qr.get("status")
    walk = _Walk(run, resolved, not (isinstance(status, str) and status in FINAL_STATUSES), out)
    walk.items(_children(resolved.questionnaire), qr, path, [])


def _children(element: dict[str, Any]) -> list[dict[str, Any]]:
    items = element.get("item")
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _entries(element: dict[str, Any], key: str) -> list[tuple[int, dict[str, Any]]]:
    found = element.get(key)
    return [(i, e) for i, e in enumerate(found) if isinstance(e, dict)] if isinstance(found, list) else []


def _index(items: list[dict[str, Any]], into: dict[str, tuple[dict[str, Any], str | None]], parent: str | None = None) -> None:
    for item in items:
        link = item.get("linkId")
        if isinstance(link, str):
            into.setdefault(link, (item, parent))
        _index(_children(item), into, link if isinstance(link, str) else parent)


class _Walk:
    """One response against one Questionnaire: the item trees side by side."""

    def __init__(self, run: Run, resolved: Resolved, in_progress: bool, out: list[Issue]) -> None:
        self.label = resolved.label
        self.in_progress = in_progress
        self.out = out
        self.answers = AnswerContext(run, resolved.containers, out)
        self.by_link: dict[str, tuple[dict[str, Any], str | None]] = {}
        _index(_children(resolved.questionnaire), self.by_link)

    def missing(self, text: str, where: str) -> None:
        """A required answer is absent: an error, or a warning while the response is unfinished."""
        if self.in_progress:
            self.out.append(Issue("warning", "required", "questionnaire-required-missing", text + " (a warning while the response is not completed).", where))
        else:
            self.out.append(Issue("error", "required", "questionnaire-required-missing", text + ".", where))

    def items(self, q_items: list[dict[str, Any]], holder: dict[str, Any], path: str, scope: list[dict[str, Any]]) -> None:
        """The response items under ``holder`` (the response, an item or an answer) against ``q_items``."""
        scope = [*scope, holder]
        position = {q.get("linkId"): i for i, q in enumerate(q_items) if isinstance(q.get("linkId"), str)}
        present: dict[str, list[tuple[dict[str, Any], str]]] = {}
        last = -1
        for i, item in enumerate(as_list(holder.get("item"))):
            here = f"{path}.item[{i}]"
            link = item.get("linkId") if isinstance(item, dict) else None
            if not isinstance(link, str) or not link:
                continue  # the base walk reports a missing or malformed linkId
            at = position.get(link)
            if at is None:
                self.misplaced(item, link, here, path, scope)
                continue
            if at < last:
                self.out.append(Issue("error", "structure", "questionnaire-item-order", f"{here} (linkId {link!r}) is out of order: the Questionnaire {self.label} lists it before {q_items[last].get('linkId')!r}.", here))
            last = at
            present.setdefault(link, []).append((item, here))
        for q_item in q_items:
            link = q_item.get("linkId")
            enabled = is_enabled(q_item, scope)
            found = present.get(link) if isinstance(link, str) else None
            if not found:
                if enabled and q_item.get("required") is True:
                    self.missing(f"{path} has no item {link!r}, which the Questionnaire {self.label} requires", path)
                continue
            if len(found) > 1 and q_item.get("repeats") is not True:
                self.out.append(Issue("error", "structure", "questionnaire-item-repeats", f"{found[1][1]} repeats the item {link!r}, which does not repeat in the Questionnaire {self.label}; an item appears once (several answers go in its answer list).", found[1][1]))
            for item, here in found:
                self.item(q_item, item, here, scope, enabled)

    def misplaced(self, item: dict[str, Any], link: str, here: str, path: str, scope: list[dict[str, Any]]) -> None:
        known = self.by_link.get(link)
        if known is None:
            self.out.append(Issue("error", "not-found", "questionnaire-item-unknown", f"{here}: the linkId {link!r} is not in the Questionnaire {self.label}.", here))
            return
        q_item, parent = known
        where = f"under the item {parent!r}" if parent else "at the top level"
        self.out.append(Issue("error", "structure", "questionnaire-item-misplaced", f"{here}: the item {link!r} is in the wrong place; in the Questionnaire {self.label} it is {where}.", here))
        self.item(q_item, item, here, scope, is_enabled(q_item, scope))

    def item(self, q_item: dict[str, Any], item: dict[str, Any], here: str, scope: list[dict[str, Any]], enabled: bool) -> None:
        link = q_item.get("linkId")
        qtype = q_item.get("type") if isinstance(q_item.get("type"), str) else None
        answers = _entries(item, "answer")  # (index in the JSON array, answer): paths keep the index
        nested = _entries(item, "item")
        if not enabled and (answers or nested):
            self.out.append(Issue("error", "business-rule", "questionnaire-item-disabled", f"{here}: the item {link!r} is not enabled (its enableWhen conditions are not met by the answers given), so it must not be answered.", here))
        text = item.get("text")
        if isinstance(text, str) and text and text != q_item.get("text"):
            self.out.append(Issue("error", "value", "questionnaire-item-text", f"{here}.text {text!r} differs from the text of item {link!r} in the Questionnaire {self.label} ({q_item.get('text')!r}); omit it or copy it exactly.", f"{here}.text"))
        self.counts(q_item, answers, here, enabled)
        if q_item.get("readOnly") is True:
            self.read_only(q_item, answers, here)
        for j, answer in answers:
            where = f"{here}.answer[{j}]"
            if qtype in UNANSWERABLE:
                self.out.append(Issue("error", "structure", "questionnaire-answer-not-allowed", f"{where}: the item {link!r} is {UNANSWERABLE[qtype]} and cannot have answers.", where))
                continue
            check_answer(self.answers, q_item, answer, where, len(answers))
            self.items(_children(q_item), answer, where, [*scope, item])
        if qtype == "group":
            if q_item.get("required") is True and not nested and enabled:
                self.missing(f"{here}: the required group {link!r} has no items", here)
            self.items(_children(q_item), item, here, scope)
        elif nested:
            what = "a display item cannot contain items" if qtype == "display" else "the items nested in a question go in answer.item, not item"
            self.out.append(Issue("error", "structure", "questionnaire-item-nesting", f"{here}.item: {what} (item {link!r}).", f"{here}.item[{nested[0][0]}]"))

    def read_only(self, q_item: dict[str, Any], answers: list[tuple[int, dict[str, Any]]], here: str) -> None:
        """A read-only item shows its ``initial`` value; an answer that differs was edited anyway.

        Only a warning: R4 lets a system (not the user) set a read-only value, e.g. from a
        calculation, and the response cannot tell who did.
        """
        initial = [found for i in as_list(q_item.get("initial")) if isinstance(i, dict) and (found := value_of(i, "value"))]
        if not initial:
            return
        for j, answer in answers:
            given = value_of(answer, "value")
            if given is not None and not any(_same_value(given, start) for start in initial):
                where = f"{here}.answer[{j}]"
                self.out.append(Issue("warning", "business-rule", "questionnaire-readonly-changed", f"{where}: the item {q_item.get('linkId')!r} is read-only, but the answer differs from its initial value.", where))

    def counts(self, q_item: dict[str, Any], answers: list[tuple[int, dict[str, Any]]], here: str, enabled: bool) -> None:
        link = q_item.get("linkId")
        if isinstance(q_item.get("type"), str) and q_item["type"] in UNANSWERABLE:
            return
        if not answers and q_item.get("required") is True and enabled:
            self.missing(f"{here}: the required item {link!r} has no answer", here)
        if len(answers) > 1 and q_item.get("repeats") is not True:
            second = f"{here}.answer[{answers[1][0]}]"
            self.out.append(Issue("error", "structure", "questionnaire-answer-repeats", f"{second}: the item {link!r} does not repeat in the Questionnaire {self.label}, so it takes one answer, not {len(answers)}.", second))
        most, least = whole_number(q_item, MAX_OCCURS), whole_number(q_item, MIN_OCCURS)
        if most is not None and len(answers) > most:
            self.out.append(Issue("error", "structure", "questionnaire-answer-count", f"{here} has {len(answers)} answers; the item {link!r} allows at most {most} (questionnaire-maxOccurs).", here))
        if least is not None and len(answers) < least:
            self.out.append(Issue("error", "structure", "questionnaire-answer-count", f"{here} has {len(answers)} answers; the item {link!r} needs at least {least} (questionnaire-minOccurs).", here))


def _same_value(a: tuple[str, Any], b: tuple[str, Any]) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == "Coding" and isinstance(a[1], dict) and isinstance(b[1], dict):
        return (a[1].get("system"), a[1].get("code")) == (b[1].get("system"), b[1].get("code"))
    return a[1] == b[1]


def _check_authored(qr: dict[str, Any], resolved: Resolved, path: str, out: list[Issue]) -> None:
    period = resolved.questionnaire.get("effectivePeriod")
    authored = qr.get("authored")
    if not isinstance(period, dict) or not isinstance(authored, str):
        return
    try:
        when = comparable_instant(authored)
        start = comparable_instant(period["start"]) if isinstance(period.get("start"), str) else None
        end = comparable_instant(period["end"]) if isinstance(period.get("end"), str) else None
    except ValueError:
        return
    here = f"{path}.authored"
    if start is not None and when < start:
        out.append(Issue("warning", "business-rule", "questionnaire-authored-period", f"{here} {authored} is before the Questionnaire {resolved.label} came into effect ({period['start']}).", here))
    if end is not None and when > _end_of(period["end"], end):
        out.append(Issue("warning", "business-rule", "questionnaire-authored-period", f"{here} {authored} is after the end of the Questionnaire {resolved.label}'s effective period ({period['end']}).", here))


def _end_of(text: str, first: Any) -> Any:
    """A partial end date covers its whole span: ``2021-12`` ends with the last instant of December."""
    from datetime import timedelta

    if len(text) == 4:
        return first.replace(year=first.year + 1) - timedelta(microseconds=1)
    if len(text) == 7:
        month = first.month % 12 + 1
        nxt = first.replace(year=first.year + (first.month == 12), month=month)
        return nxt - timedelta(microseconds=1)
    if len(text) == 10:
        return first + timedelta(days=1) - timedelta(microseconds=1)
    return first
