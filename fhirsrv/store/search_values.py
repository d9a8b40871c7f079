"""Value rules shared by the indexer and the search parser, so both sides agree exactly.

* strings are compared case- and accent-insensitively (search.html, "string"): both the
  indexed text and the search value go through :func:`normalize_string`;
* dates and date-times are ranges ``[low, high)`` at their stated precision
  (``2024`` covers the whole year); without a time zone they are read as UTC;
* numbers carry an implicit precision range (``100`` means ``[99.5, 100.5)``).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

MIN_TIME = datetime(1, 1, 1, tzinfo=UTC)
MAX_TIME = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)

_DATE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,9}))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def normalize_string(text: str) -> str:
    """Case-fold, drop accents (combining marks after NFKD) and collapse white space."""
    if text.isascii():  # NFKD leaves ASCII as it is and it has no combining marks
        return " ".join(text.casefold().split())
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def _add_months(moment: datetime, months: int) -> datetime:
    total = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(total, 12)
    if year > 9999:
        return MAX_TIME
    return moment.replace(year=year, month=month + 1)


def parse_date_range(text: str) -> tuple[datetime, datetime] | None:
    """``[low, high)`` in UTC for a FHIR date, dateTime or instant; None if malformed.

    Cached: the same dates recur across the resources of a Bundle and between writes (the
    indexer parses every date of every written resource)."""
    return _parse_date_range(text) if isinstance(text, str) else None


@lru_cache(maxsize=4096)
def _parse_date_range(text: str) -> tuple[datetime, datetime] | None:
    match = _DATE.match(text.strip()) if isinstance(text, str) else None
    if not match:
        return None
    parts = match.groupdict()
    try:
        year = int(parts["y"])
        month = int(parts["m"] or 1)
        day = int(parts["d"] or 1)
        hour = int(parts["H"] or 0)
        minute = int(parts["M"] or 0)
        second = int(parts["S"] or 0)
        fraction = parts["f"] or ""
        micro = int((fraction + "000000")[:6]) if fraction else 0
        tz = UTC
        if parts["tz"] and parts["tz"] != "Z":
            sign = 1 if parts["tz"][0] == "+" else -1
            hours, minutes = parts["tz"][1:].split(":")
            from datetime import timezone

            tz = timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))
        if year == 0:
            return None
        low = datetime(year, month, day, hour, minute, second, micro, tzinfo=tz).astimezone(UTC)
    except ValueError:
        return None
    if parts["m"] is None:
        high = _add_months(low, 12)
    elif parts["d"] is None:
        high = _add_months(low, 1)
    elif parts["H"] is None:
        high = low + timedelta(days=1)
    elif parts["S"] is None:
        high = low + timedelta(minutes=1)
    elif not fraction:
        high = low + timedelta(seconds=1)
    else:
        high = low + timedelta(microseconds=max(1, 10 ** (6 - min(len(fraction), 6))))
    return low, min(high, MAX_TIME)


def to_decimal(value: object) -> Decimal | None:
    """A JSON number (int or FhirDecimal) or numeric text as Decimal; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):  # not from fhirjson (which gives FhirDecimal), but be kind
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            return None
        return result if result.is_finite() else None
    return None


def implicit_range(value: Decimal) -> tuple[Decimal, Decimal]:
    """The implicit precision range of a number as written: ``100`` -> [99.5, 100.5)."""
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):
        return value, value
    half = Decimal(5).scaleb(exponent - 1)
    return value - half, value + half


def split_unescaped(text: str, separator: str) -> list[str]:
    """Split on ``separator`` not preceded by a backslash (search.html, "Escaping")."""
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for ch in text:
        if escaped:
            current.append(ch if ch in ",|$\\" else "\\" + ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if escaped:
        current.append("\\")
    parts.append("".join(current))
    return parts


def split_keep_escapes(text: str, separator: str) -> list[str]:
    """Split on unescaped ``separator`` but keep escapes, for a later, finer split."""
    parts: list[str] = []
    start = 0
    index = 0
    while index < len(text):
        ch = text[index]
        if ch == "\\":
            index += 2
            continue
        if ch == separator:
            parts.append(text[start:index])
            start = index + 1
        index += 1
    parts.append(text[start:])
    return parts


def split_reference(reference: str) -> tuple[str | None, str | None, str | None]:
    """``Type/id`` (also ``Type/id/_history/n``) -> (type, id, None); absolute -> (None, None, url).

    Absolute URLs keep their text (minus the version) so they can match exactly; contained
    references (``#x``) give nothing.
    """
    ref = reference.strip()
    if not ref or ref.startswith("#"):
        return None, None, None
    if "/_history/" in ref:
        ref = ref.split("/_history/", 1)[0]
    if "://" in ref or ref.startswith("urn:"):
        return None, None, ref
    parts = ref.split("/")
    if len(parts) == 2 and parts[0] and parts[1]:
        return parts[0], parts[1], None
    return None, None, ref
