"""Lossless FHIR JSON: parse and serialise without changing what the client sent.

FHIR decimals carry their precision in the text (``132.50`` is not ``132.5``), so a
float-based parser would corrupt them. We parse with the standard library's C scanner,
turning every JSON number with a fraction or exponent into a :class:`FhirDecimal` that
remembers its exact text, and we serialise with orjson, writing that text back verbatim
(``orjson.Fragment``). Key order is kept because Python dicts keep insertion order.

Duplicate keys are rejected: JSON leaves them undefined and FHIR forbids them, and a
silent "last one wins" would store something other than what the sender believed.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import orjson


class FhirDecimal(Decimal):
    """A Decimal that remembers the exact JSON text it was parsed from."""

    __slots__ = ("text",)

    def __new__(cls, text: str) -> FhirDecimal:
        self = super().__new__(cls, text)
        self.text = text
        return self

    def __repr__(self) -> str:
        return f"FhirDecimal({self.text!r})"


class JsonError(ValueError):
    """The body is not acceptable JSON; the message says why, for an OperationOutcome."""


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JsonError(f"duplicate JSON property {key!r}")
            seen.add(key)
    return result


_INT64 = 2**63
# \u0000 preceded by an even number of backslashes (an odd number escapes the backslash itself)
_ESCAPED_NUL = re.compile(r"(?:^|[^\\])(?:\\\\)*\\u0000")


def _parse_int(text: str) -> int | FhirDecimal:
    """Integers as int; one beyond 64 bits keeps its text (orjson writes only 64-bit ints)."""
    value = int(text)
    return value if -_INT64 <= value < _INT64 else FhirDecimal(text)


_decoder = json.JSONDecoder(
    parse_float=FhirDecimal,
    parse_int=_parse_int,
    parse_constant=lambda name: (_ for _ in ()).throw(JsonError(f"{name} is not valid JSON")),
    object_pairs_hook=_reject_duplicate_keys,
)


def loads(data: bytes | str) -> Any:
    """Parse a request body; raise :class:`JsonError` with a readable reason."""
    if isinstance(data, bytes | bytearray | memoryview):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonError(f"body is not valid UTF-8 (byte offset {exc.start})") from None
    else:
        text = data
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text or ("\\u0000" in text and _ESCAPED_NUL.search(text)):
        raise JsonError("NUL characters (\\u0000) are not allowed in FHIR content")
    try:
        return _decoder.decode(text)
    except JsonError:
        raise
    except json.JSONDecodeError as exc:
        raise JsonError(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise JsonError("JSON is nested too deeply") from None


def _default(obj: Any) -> Any:
    if isinstance(obj, FhirDecimal):
        return orjson.Fragment(obj.text)
    if isinstance(obj, Decimal):
        return orjson.Fragment(str(obj))
    raise TypeError(f"cannot serialise {type(obj).__name__} as FHIR JSON")


def dumps(obj: Any, *, pretty: bool = False) -> bytes:
    """Serialise to UTF-8 JSON bytes, decimals exactly as received."""
    option = orjson.OPT_INDENT_2 if pretty else 0
    try:
        return orjson.dumps(obj, default=_default, option=option)
    except TypeError as exc:  # orjson stops at 254 levels; the parser allows more
        if "Recursion limit" in str(exc):
            raise JsonError("JSON is nested too deeply") from None
        raise


def dumps_str(obj: Any) -> str:
    return dumps(obj).decode("utf-8")
