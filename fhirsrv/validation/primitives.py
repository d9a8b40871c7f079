"""R4 primitive types: which JSON type each takes and the lexical rule its value must meet.

The regular expressions are read from the core type definitions (the ``regex`` extension on
``<type>.value``), so they are the spec's own. What the definitions cannot say is how each
primitive is represented in JSON; that is the FHIR JSON format page's table (booleans are
JSON true/false, integers JSON numbers without fraction, decimals JSON numbers, the rest
JSON strings), hand-kept here in :data:`JSON_KIND`.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

REGEX_EXT = "http://hl7.org/fhir/StructureDefinition/regex"

# FHIR JSON representation of each primitive (http://hl7.org/fhir/R4/json.html#primitive).
JSON_KIND = {
    "boolean": "boolean",
    "integer": "integer",
    "positiveInt": "integer",
    "unsignedInt": "integer",
    "decimal": "number",
}

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
_XHTML_DIV = re.compile(r'\s*<div[^>]*\sxmlns\s*=\s*["\']http://www\.w3\.org/1999/xhtml["\']', re.S)


@dataclass(frozen=True, slots=True)
class PrimitiveRule:
    """How to check one primitive type's JSON value; ``check`` returns a problem or None."""

    name: str
    check: Callable[[Any], str | None]


def _text_of(value: Any) -> str:
    text = getattr(value, "text", None)
    return text if isinstance(text, str) else str(value)


def _calendar_problem(text: str) -> str | None:
    """Regexes allow 31 February; the calendar does not."""
    if len(text) >= 10 and text[4] == "-" and text[7] == "-":
        try:
            _dt.date(int(text[0:4]), int(text[5:7]), int(text[8:10]))
        except ValueError:
            return "is not a real calendar date"
    return None


def _make_check(name: str, pattern: re.Pattern[str] | None) -> Callable[[Any], str | None]:
    kind = JSON_KIND.get(name, "string")

    def describe(value: Any) -> str:
        return f"{_text_of(value)!r} is not a valid {name}"

    if kind == "boolean":
        def check(value: Any) -> str | None:
            return None if isinstance(value, bool) else f"must be a JSON boolean (true/false), not {_json_kind(value)}"
    elif kind == "integer":
        def check(value: Any) -> str | None:
            if isinstance(value, bool) or not isinstance(value, int):
                return f"must be a JSON number without fraction, not {_json_kind(value)}"
            if not INT32_MIN <= value <= INT32_MAX:
                return f"{value} is outside the 32-bit range of {name}"
            if pattern is not None and not pattern.fullmatch(str(value)):
                return describe(value)
            return None
    elif kind == "number":
        def check(value: Any) -> str | None:
            if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
                return f"must be a JSON number, not {_json_kind(value)}"
            if pattern is not None and not pattern.fullmatch(_text_of(value)):
                return describe(value)
            return None
    elif name == "xhtml":
        def check(value: Any) -> str | None:
            if not isinstance(value, str):
                return f"must be a JSON string, not {_json_kind(value)}"
            if not _XHTML_DIV.match(value):
                return "must be a <div> element in the XHTML namespace (xmlns=\"http://www.w3.org/1999/xhtml\")"
            return None
    else:
        dated = name in ("date", "dateTime", "instant")

        def check(value: Any) -> str | None:
            if not isinstance(value, str):
                return f"must be a JSON string, not {_json_kind(value)}"
            if value == "":
                return "must not be an empty string (omit the element instead)"
            if pattern is not None and not pattern.fullmatch(value):
                return describe(value)
            if dated:
                problem = _calendar_problem(value)
                if problem:
                    return f"{value!r} {problem}"
            return None

    return check


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


json_kind = _json_kind


def _regex_of(sd: dict[str, Any]) -> re.Pattern[str] | None:
    for element in sd.get("snapshot", {}).get("element", []):
        if element.get("path", "").endswith(".value"):
            for type_ref in element.get("type", []):
                for ext in type_ref.get("extension", []):
                    if ext.get("url") == REGEX_EXT:
                        return re.compile(ext["valueString"], re.ASCII)  # Java regex classes are ASCII
    return None


def build_rules(primitive_definitions: list[dict[str, Any]]) -> dict[str, PrimitiveRule]:
    """One rule per primitive type StructureDefinition (``kind = primitive-type``)."""
    rules: dict[str, PrimitiveRule] = {}
    for sd in primitive_definitions:
        name = sd["type"]
        rules[name] = PrimitiveRule(name, _make_check(name, _regex_of(sd)))
    return rules
