"""Lower and upper bounds on a value: the one implementation of "is this value within its limits".

Two rules use it. ``ElementDefinition.minValue[x]`` / ``maxValue[x]`` (R4
elementdefinition.html: date, dateTime, instant, time, decimal, integer, positiveInt,
unsignedInt and Quantity) through :func:`check_limits`, compiled into the element
(``Elem.limits``, None for almost every element, so the walk pays one attribute test per
value); and the Questionnaire item extensions ``minValue``/``maxValue`` and SDC
``minQuantity``/``maxQuantity`` (:mod:`.questionnaire_answers`) through :func:`judge`.

How a value compares with a bound:

* **Numbers** as decimals.
* **Dates** by the first instant they cover (``2022-06-30`` is after ``2022-06``), as the HL7
  Java validator compares them (fhir-test-cases date-time-min-max). A value with a time zone
  is a point on the timeline; one without (a date, or a dateTime written without an offset)
  is a local reading that can be anywhere from UTC-12:00 to UTC+14:00. Two values of the
  same kind compare as written; a zoned one against a zone-less one only when every offset
  gives the same answer — otherwise the comparison is indeterminate (FHIR datatypes.html: a
  date has no time zone; FHIRPath: a comparison that depends on what is not known is empty),
  and is reported as such rather than guessed.
* **Quantities** with the same system and code by their values; UCUM ones in different
  units after conversion (:mod:`.ucum`; 11000 g is above 10 kg), rounded to 15 significant
  digits so that conversion residues (1e-28) cannot make equal amounts differ. A Quantity
  without a coded unit (system and code), in units of another system, or in UCUM units of
  another kind (kg against [mi_i]) cannot be compared with the bound in any validator: an
  error, as the Java validator reports it (fhir-test-cases quantity-min-max,
  quantity-min-max-incompat-units). A UCUM unit our converter does not know is a warning:
  "cannot compare here", never a guessed verdict.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from .outcome import Issue
from .ucum import parse_unit

UCUM = "http://unitsofmeasure.org"

_NUMBERS = frozenset({"decimal", "integer", "positiveInt", "unsignedInt", "integer64"})
_TIMES = frozenset({"date", "dateTime", "instant"})
_COMPARE = Context(prec=15)  # unit conversion may leave 1e-28 residues; compare at 15 digits

# the offsets a zone-less local reading may have (UTC-12:00 … UTC+14:00)
_EARLIEST_OFFSET, _LATEST_OFFSET = _dt.timedelta(hours=-12), _dt.timedelta(hours=14)

_MOMENT = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$")


def limits_of(element: dict[str, Any]) -> tuple[Any, Any] | None:
    """(minValue, maxValue) of a snapshot element, None when it has neither."""
    low = next((v for k, v in element.items() if k.startswith("minValue")), None)
    high = next((v for k, v in element.items() if k.startswith("maxValue")), None)
    return (low, high) if low is not None or high is not None else None


def moment_of(text: Any) -> tuple[_dt.datetime, bool] | None:
    """A date/dateTime/instant (any precision) as (the first instant it covers, has a zone);
    zoned values are put in UTC, zone-less ones kept as written. None when not one."""
    if not isinstance(text, str):
        return None
    match = _MOMENT.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = _dt.datetime(int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0),
                              int(second or 0), int(Decimal(fraction) * 1_000_000) if fraction else 0)
    except ValueError:
        return None  # 2022-02-30: the primitive's own rule reports it
    if not zone:
        return moment, False
    offset = 0 if zone == "Z" else (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 60 + int(zone[4:6]))
    return moment - _dt.timedelta(minutes=offset), True


@dataclass(frozen=True, slots=True)
class Verdict:
    """A value against one bound, when there is something to say: it is outside the bound
    (``outside``), or it cannot be compared with it (``why``; ``certain`` when no validator
    could compare them, not only this one)."""

    outside: bool = False
    why: str | None = None
    certain: bool = False


_OUTSIDE = Verdict(outside=True)


def judge(tcode: str, value: Any, bound: Any, is_min: bool) -> Verdict | None:
    """Whether ``value`` (of FHIR type ``tcode``) breaks the lower (``is_min``) or upper
    ``bound``; None when it keeps it or there is nothing to compare (no number, a malformed
    date: the value's own rules report that)."""
    if tcode in _NUMBERS:
        if isinstance(value, bool) or isinstance(bound, bool):
            return None
        try:
            return _ordered(Decimal(str(value)), Decimal(str(bound)), is_min)
        except (InvalidOperation, ValueError):
            return None
    if tcode in _TIMES:
        return _judge_moment(value, bound, is_min)
    if tcode == "time":
        return _ordered(value, bound, is_min) if isinstance(value, str) and isinstance(bound, str) else None
    if tcode == "Quantity" and isinstance(value, dict) and isinstance(bound, dict):
        return _judge_quantity(value, bound, is_min)
    return None


def _ordered(value: Any, bound: Any, is_min: bool) -> Verdict | None:
    return _OUTSIDE if (value < bound if is_min else value > bound) else None


def _judge_moment(value: Any, bound: Any, is_min: bool) -> Verdict | None:
    left, right = moment_of(value), moment_of(bound)
    if left is None or right is None:
        return None
    (moment, zoned), (limit, limit_zoned) = left, right
    if zoned == limit_zoned:
        return _ordered(moment, limit, is_min)
    # one side is a local reading: the answer must hold for each offset it may have
    if zoned:
        limit_range = (limit - _LATEST_OFFSET, limit - _EARLIEST_OFFSET)
        value_range = (moment, moment)
    else:
        value_range = (moment - _LATEST_OFFSET, moment - _EARLIEST_OFFSET)
        limit_range = (limit, limit)
    if is_min:
        certainly_outside, certainly_inside = value_range[1] < limit_range[0], value_range[0] >= limit_range[1]
    else:
        certainly_outside, certainly_inside = value_range[0] > limit_range[1], value_range[1] <= limit_range[0]
    if certainly_outside:
        return _OUTSIDE
    if certainly_inside:
        return None
    return Verdict(why="one has a time zone and the other has none, and the answer depends on the zone")


def _judge_quantity(value: dict[str, Any], bound: dict[str, Any], is_min: bool) -> Verdict | None:
    if value.get("value") is None or bound.get("value") is None:
        return None
    try:
        amount, limit = Decimal(str(value["value"])), Decimal(str(bound["value"]))
    except (InvalidOperation, ValueError):
        return None
    system, code, limit_system, limit_code = value.get("system"), value.get("code"), bound.get("system"), bound.get("code")
    if not all(isinstance(x, str) and x for x in (system, code, limit_system, limit_code)):
        return Verdict(why="both need a coded unit (system and code)", certain=True)
    if (system, code) == (limit_system, limit_code):
        return _ordered(amount, limit, is_min)
    if system != UCUM or limit_system != UCUM:
        return Verdict(why="the units differ and are not both UCUM units", certain=True)
    source, target = parse_unit(code), parse_unit(limit_code)
    if source is None or target is None:
        return Verdict(why="converting between these UCUM units is not supported here")
    if source[1] != target[1]:
        return Verdict(why="the units measure different kinds of quantity", certain=True)
    converted = amount * source[0] / target[0]
    return _ordered(_COMPARE.plus(converted), _COMPARE.plus(limit), is_min)


def _shown(tcode: str, value: Any) -> str:
    if tcode == "Quantity" and isinstance(value, dict):
        return f"{value.get('value')} {value.get('code') or value.get('unit') or ''}".strip()
    return str(value)


def check_limits(limits: tuple[Any, Any], tcode: str, value: Any, path: str, note: str, out: list[Issue]) -> None:
    """``ElementDefinition.minValue[x]``/``maxValue[x]`` (``limits``) on ``value`` at ``path``."""
    low, high = limits
    for bound, is_min in ((low, True), (high, False)):
        verdict = judge(tcode, value, bound, is_min) if bound is not None else None
        if verdict is not None:
            out.append(_limit_issue(verdict, tcode, value, bound, is_min, path, note))


def _limit_issue(verdict: Verdict, tcode: str, value: Any, bound: Any, is_min: bool, path: str, note: str) -> Issue:
    shown, shown_bound = _shown(tcode, value), _shown(tcode, bound)
    which = "minimum" if is_min else "maximum"
    if verdict.why is not None and verdict.certain:
        return Issue("error", "value", "value-limit-incomparable", f"{path} is {shown}, which cannot be compared with the {which} {shown_bound}{note}: {verdict.why}.", path)
    if verdict.why is not None:
        return Issue("warning", "processing", "value-limit-uncomparable", f"{path}: {shown} could not be compared with the {which} {shown_bound}{note}: {verdict.why}.", path)
    if tcode == "Quantity" and value.get("code") != bound.get("code"):
        shown += " (after UCUM conversion)"
    if is_min:
        return Issue("error", "value", "value-below-min", f"{path} is {shown}, less than the minimum {shown_bound}{note}.", path)
    return Issue("error", "value", "value-above-max", f"{path} is {shown}, greater than the maximum {shown_bound}{note}.", path)
