"""Small readers shared by the questionnaire checks: choice values, extensions, dates, decimals."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .value_limits import moment_of

EXT = "http://hl7.org/fhir/StructureDefinition/"
SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition/"

MIN_VALUE = EXT + "minValue"
MAX_VALUE = EXT + "maxValue"
MIN_LENGTH = EXT + "minLength"
MAX_DECIMAL_PLACES = EXT + "maxDecimalPlaces"
REGEX = EXT + "regex"
ENTRY_FORMAT = EXT + "entryFormat"
MIME_TYPE = EXT + "mimeType"
MAX_SIZE = EXT + "maxSize"
UNIT_OPTION = EXT + "questionnaire-unitOption"
UNIT = EXT + "questionnaire-unit"
UNIT_VALUE_SET = EXT + "questionnaire-unitValueSet"
REFERENCE_RESOURCE = EXT + "questionnaire-referenceResource"
OPTION_EXCLUSIVE = EXT + "questionnaire-optionExclusive"
MIN_OCCURS = EXT + "questionnaire-minOccurs"
MAX_OCCURS = EXT + "questionnaire-maxOccurs"
MIN_QUANTITY = SDC + "sdc-questionnaire-minQuantity"
MAX_QUANTITY = SDC + "sdc-questionnaire-maxQuantity"


def as_list(value: Any) -> list[Any]:
    """A JSON array as a list; anything else (absent, a malformed object) as no entries."""
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def value_of(element: dict[str, Any], stem: str) -> tuple[str, Any] | None:
    """The (type, value) of a choice element ``stem[x]``: ``valueCoding`` → ("Coding", {...})."""
    for key, value in element.items():
        if key.startswith(stem) and key[len(stem):len(stem) + 1].isupper():
            kind = key[len(stem):]
            return (kind[0].lower() + kind[1:] if kind in _PRIMITIVE_NAMES else kind), value
    return None


_PRIMITIVE_NAMES = frozenset({"Boolean", "Decimal", "Integer", "Date", "DateTime", "Time", "String", "Uri",
                              "Instant", "Code", "Canonical", "Url", "Id", "Oid", "Uuid", "Markdown",
                              "PositiveInt", "UnsignedInt", "Base64Binary"})


def extensions(element: dict[str, Any], url: str) -> list[dict[str, Any]]:
    found = element.get("extension")
    if not isinstance(found, list):
        return []
    return [e for e in found if isinstance(e, dict) and e.get("url") == url]


def extension_value(element: dict[str, Any], url: str) -> tuple[str, Any] | None:
    for ext in extensions(element, url):
        value = value_of(ext, "value")
        if value is not None:
            return value
    return None


def whole_number(element: dict[str, Any], url: str) -> int | None:
    """An integer-valued extension (minLength, maxOccurs …); None when absent or not a number."""
    found = extension_value(element, url)
    if found is None:
        return None
    try:
        number = Decimal(str(found[1]))
    except (InvalidOperation, ValueError):
        return None
    return int(number) if number == number.to_integral_value() else None


def comparable_instant(text: Any) -> datetime:
    """A date or dateTime (any precision) as the first instant it covers, for ordering:
    ``2022-06-30`` is after ``2022-06`` (the first of June), as the Java validator compares
    them. Values with a timezone are put in UTC; values without one are taken as written
    (:func:`.value_limits.moment_of`). Raises ValueError for anything else."""
    found = moment_of(text)
    if found is None:
        raise ValueError(f"not a date: {text!r}")
    return found[0]


def decimal_places(value: Any) -> int:
    """Digits after the decimal point as written (``5.10`` has 2): FhirDecimal keeps the text."""
    if isinstance(value, bool) or value is None:
        return 0
    text = str(value) if isinstance(value, Decimal) else repr(value)
    if "e" in text.lower():
        exponent = Decimal(text).as_tuple().exponent
        return max(0, -exponent) if isinstance(exponent, int) else 0
    return len(text.split(".", 1)[1]) if "." in text else 0


def as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
