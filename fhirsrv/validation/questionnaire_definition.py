"""A Questionnaire's own ``enableWhen`` links, which no invariant of R4 covers.

``enableWhen.question`` is the linkId of the question whose answer governs the item (R4
questionnaire.html). As the HL7 Java validator does: a linkId that names no item, the item
itself, or an item nested inside it (which cannot be answered while the item is disabled) is
an error; a question that comes *after* the item is a warning — forms are filled in order.
"""

from __future__ import annotations

from typing import Any

from .context import Run
from .outcome import Issue


def check_questionnaire(run: Run, questionnaire: dict[str, Any], path: str, out: list[Issue]) -> None:
    order: dict[str, int] = {}
    _number(questionnaire, order)
    _check(questionnaire, path, order, out)


def _items(element: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    items = element.get("item")
    return [(i, item) for i, item in enumerate(items) if isinstance(item, dict)] if isinstance(items, list) else []


def _number(element: dict[str, Any], order: dict[str, int]) -> None:
    """Every linkId with its position in reading order (depth first)."""
    for _, item in _items(element):
        link = item.get("linkId")
        if isinstance(link, str):
            order.setdefault(link, len(order))
        _number(item, order)


def _descendants(item: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for _, child in _items(item):
        if isinstance(child.get("linkId"), str):
            found.add(child["linkId"])
        found |= _descendants(child)
    return found


def _check(element: dict[str, Any], path: str, order: dict[str, int], out: list[Issue]) -> None:
    for i, item in _items(element):
        here = f"{path}.item[{i}]"
        link = item.get("linkId")
        conditions = item.get("enableWhen")
        for j, condition in enumerate(conditions if isinstance(conditions, list) else ()):
            question = condition.get("question") if isinstance(condition, dict) else None
            if not isinstance(question, str):
                continue  # a missing question is the base walk's cardinality error
            where = f"{here}.enableWhen[{j}].question"
            if question == link:
                out.append(Issue("error", "business-rule", "questionnaire-enablewhen-target", f"{where}: the item {link!r} cannot depend on its own answer.", where))
            elif question not in order:
                out.append(Issue("error", "business-rule", "questionnaire-enablewhen-target", f"{where}: no item of this Questionnaire has the linkId {question!r}.", where))
            elif question in _descendants(item):
                out.append(Issue("error", "business-rule", "questionnaire-enablewhen-target", f"{where}: {question!r} is nested inside the item {link!r}, so it cannot be answered while {link!r} is disabled.", where))
            elif isinstance(link, str) and link in order and order[question] > order[link]:
                out.append(Issue("warning", "business-rule", "questionnaire-enablewhen-after", f"{where}: {question!r} comes after the item {link!r}; a form is filled in order, so the condition should name an earlier question.", where))
        _check(item, here, order, out)
