"""``ElementDefinition.minValue[x]`` / ``maxValue[x]``: bounds a profile puts on a value.

R4 elementdefinition.html: allowed for date, dateTime, instant, time, decimal, integer,
positiveInt, unsignedInt and Quantity. Quantities are compared after UCUM conversion
(:mod:`.ucum`) — 11000 g is above a maximum of 0 kg; a unit that cannot be converted to
the bound's is reported as a warning (cannot compare), never a guessed verdict.

Bounds are compiled into the element (``Elem.limits``, None for almost every element), so
the walk pays one attribute test per value.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from .outcome import Issue
from .ucum import convert

_NUMBERS = frozenset({"decimal", "integer", "positiveInt", "unsignedInt", "integer64"})
_TIMES = frozenset({"date", "dateTime", "instant"})
_COMPARE = Context(prec=15)  # unit conversion may leave 1e-28 residues; compare at 15 digits


def limits_of(element: dict[str, Any]) -> tuple[Any, Any] | None:
    """(minValue, maxValue) of a snapshot element, None when it has neither."""
    low = next((v for k, v in element.items() if k.startswith("minValue")), None)
    high = next((v for k, v in element.items() if k.startswith("maxValue")), None)
    return (low, high) if low is not None or high is not None else None


def _instant(text: str) -> _dt.datetime | None:
    """A FHIR date/dateTime/instant as the earliest moment it can denote (partial dates
    padded); naive values are compared as UTC, as the Java validator does."""
    if len(text) == 4:
        text += "-01-01"
    elif len(text) == 7:
        text += "-01"
    try:
        moment = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=_dt.UTC)


def _comparable(tcode: str, value: Any, bound: Any) -> tuple[Any, Any, str, str] | str | None:
    """(value, bound, how the value reads, how the bound reads) ready to compare, a reason
    why they cannot be compared, or None when there is nothing to compare."""
    if tcode in _NUMBERS:
        try:
            return Decimal(str(value)), Decimal(str(bound)), str(value), str(bound)
        except InvalidOperation:
            return None
    if tcode in _TIMES and isinstance(value, str) and isinstance(bound, str):
        left, right = _instant(value), _instant(bound)
        return (left, right, value, bound) if left and right else None
    if tcode == "time" and isinstance(value, str) and isinstance(bound, str):
        return value, bound, value, bound
    if tcode == "Quantity" and isinstance(value, dict) and isinstance(bound, dict):
        if value.get("value") is None or bound.get("value") is None:
            return None
        amount, limit = Decimal(str(value["value"])), Decimal(str(bound["value"]))
        unit, limit_unit = value.get("code"), bound.get("code")
        shown, shown_bound = f"{value['value']} {unit or value.get('unit', '')}".strip(), f"{bound['value']} {limit_unit or ''}".strip()
        if unit == limit_unit and value.get("system") == bound.get("system"):
            return amount, limit, shown, shown_bound
        ucum = "http://unitsofmeasure.org"
        if value.get("system") != ucum or bound.get("system") != ucum or not unit or not limit_unit:
            return f"the quantity {shown} cannot be compared with {shown_bound}: both need a UCUM code"
        converted = convert(amount, unit, limit_unit)
        if converted is None:
            return f"the quantity {shown} cannot be compared with {shown_bound}: the units are not convertible"
        return _COMPARE.plus(converted), _COMPARE.plus(limit), shown + " (after UCUM conversion)", shown_bound
    return None


def check_limits(limits: tuple[Any, Any], tcode: str, value: Any, path: str, note: str, out: list[Issue]) -> None:
    low, high = limits
    for bound, is_min in ((low, True), (high, False)):
        if bound is None:
            continue
        found = _comparable(tcode, value, bound)
        if found is None:
            continue
        if isinstance(found, str):
            out.append(Issue("warning", "processing", "value-limit-uncomparable", f"{path}: {found}{note}.", path))
            continue
        left, right, shown, shown_bound = found
        if is_min and left < right:
            out.append(Issue("error", "value", "value-below-min", f"{path} is {shown}, less than the minimum {shown_bound}{note}.", path))
        elif not is_min and left > right:
            out.append(Issue("error", "value", "value-above-max", f"{path} is {shown}, greater than the maximum {shown_bound}{note}.", path))
