"""``Questionnaire.item.enableWhen``: is an item enabled, given the answers in the response?

R4 questionnaire.html#enableWhen: each condition compares the answers of another question
(``question`` = its linkId) with ``answer[x]`` using ``operator``; ``enableBehavior`` says
whether all or any condition must hold. As in the HL7 Java validator:

* the answers of the question are taken from the nearest enclosing part of the response that
  holds it (the current repetition of a repeating group first, then outwards to the root);
* ``exists`` compares "has answers" with ``answerBoolean``; the other operators hold when *any*
  answer satisfies them, so a question without answers enables nothing (``!=`` included);
* several conditions without ``enableBehavior`` (que-12 forbids that) count as enabled, so
  that a broken Questionnaire never turns into errors on the response.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from .questionnaire_values import as_list, comparable_instant, value_of


def is_enabled(q_item: dict[str, Any], scope: list[dict[str, Any]]) -> bool:
    """``scope``: the response parts enclosing the item, outermost (the response) first."""
    conditions = [c for c in as_list(q_item.get("enableWhen")) if isinstance(c, dict)]
    if not conditions:
        return True
    results = [_holds(c, scope) for c in conditions]
    behavior = q_item.get("enableBehavior")
    if behavior == "any" or len(results) == 1:
        return any(results)
    if behavior == "all":
        return all(results)
    return True


def _holds(condition: dict[str, Any], scope: list[dict[str, Any]]) -> bool:
    question = condition.get("question")
    operator = condition.get("operator")
    expected = value_of(condition, "answer")
    if not isinstance(question, str) or expected is None:
        return False
    answers = _answers(question, scope)
    kind, wanted = expected
    if operator == "exists":
        return bool(answers) == (wanted is True)
    given = [found[1] for found in (value_of(a, "value") for a in answers) if found is not None and found[0] == kind]
    return any(_compare(operator, kind, got, wanted) for got in given)


def _answers(link_id: str, scope: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for container in reversed(scope):
        items = list(_items_with(container, link_id))
        if items:
            return [a for item in items for a in as_list(item.get("answer")) if isinstance(a, dict)]
    return []


def _items_with(container: dict[str, Any], link_id: str):
    for item in as_list(container.get("item")):
        if not isinstance(item, dict):
            continue
        if item.get("linkId") == link_id:
            yield item
        yield from _items_with(item, link_id)
        for answer in as_list(item.get("answer")):
            if isinstance(answer, dict):
                yield from _items_with(answer, link_id)


def _compare(operator: Any, kind: str, got: Any, wanted: Any) -> bool:
    if not isinstance(operator, str):
        return False
    if kind == "Coding":
        same = _same_coding(got, wanted)
        return same if operator == "=" else (not same if operator == "!=" else False)
    if kind == "Quantity":
        if not isinstance(got, dict) or not isinstance(wanted, dict):
            return False
        if (got.get("system"), got.get("code")) != (wanted.get("system"), wanted.get("code")):
            return False
        got, wanted = got.get("value"), wanted.get("value")
    try:
        order = _order(kind, got, wanted)
    except (TypeError, ValueError, InvalidOperation):
        return False
    return {"=": order == 0, "!=": order != 0, ">": order > 0, "<": order < 0,
            ">=": order >= 0, "<=": order <= 0}.get(operator, False)


def _order(kind: str, got: Any, wanted: Any) -> int:
    if kind in ("date", "dateTime"):
        a, b = comparable_instant(got), comparable_instant(wanted)
    elif kind in ("decimal", "integer", "Quantity"):
        a, b = Decimal(str(got)), Decimal(str(wanted))
    elif kind == "Reference":
        a = got.get("reference") if isinstance(got, dict) else None
        b = wanted.get("reference") if isinstance(wanted, dict) else None
        if a is None or b is None:
            raise ValueError("reference without a literal")
    else:  # boolean, string, time: equality, and the natural order of the JSON values
        a, b = got, wanted
    return (a > b) - (a < b)


def _same_coding(got: Any, wanted: Any) -> bool:
    if not isinstance(got, dict) or not isinstance(wanted, dict) or got.get("code") != wanted.get("code"):
        return False
    a, b = got.get("system"), wanted.get("system")
    return a is None or b is None or a == b
