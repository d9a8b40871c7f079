"""Lossless FHIR JSON: parse and serialise without changing what the client sent.

FHIR decimals carry their precision in the text (``132.50`` is not ``132.5``), so a
float-based parser would corrupt them. We parse with the standard library's C scanner,
turning every JSON number with a fraction or exponent into a :class:`FhirDecimal` that
remembers its exact text, and we serialise with orjson, writing that text back verbatim
(``orjson.Fragment``). Key order is kept because Python dicts keep insertion order.

Duplicate keys are rejected: JSON leaves them undefined and FHIR forbids them, and a
silent "last one wins" would store something other than what the sender believed.

Comments (``//`` and ``/* */``) are not JSON and FHIR JSON has none: they are rejected with a
sentence that says so. ``loads(..., allow_comments=True)`` reads them as white space, for
callers that must accept what the HL7 Java validator accepts with ``allow-comments``.
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


# A JSON string (escapes included) or a comment. Strings are matched first, so that text that
# looks like a comment inside one ("http://…", "/* not a comment */") is never touched.
_STRING_OR_COMMENT = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|//[^\n]*|/\*.*?\*/', re.DOTALL)
_NOT_NEWLINE = re.compile(r"[^\n]")


def _blank_comment(match: re.Match[str]) -> str:
    text = match.group()
    return text if text.startswith('"') else _NOT_NEWLINE.sub(" ", text)


def strip_comments(text: str) -> str:
    """``text`` with every ``//`` and ``/* */`` comment outside strings turned into spaces.

    Line breaks stay, so the line and column of a later parse error still point into the
    text as sent. An unterminated ``/*`` is left as it is (the parser then reports it).
    """
    if "/" not in text:
        return text
    return _STRING_OR_COMMENT.sub(_blank_comment, text)


def _comment_at(text: str, position: int) -> bool:
    """Whether a comment outside strings starts at ``position`` (where the parser stopped)."""
    for match in _STRING_OR_COMMENT.finditer(text):
        if match.start() >= position:
            return match.start() == position and not match.group().startswith('"')
    return False


def loads(data: bytes | str, *, allow_comments: bool = False) -> Any:
    """Parse a request body; raise :class:`JsonError` with a readable reason.

    ``allow_comments`` reads ``//`` and ``/* */`` comments as white space (never inside
    strings); without it a comment is an error that says so.
    """
    if isinstance(data, bytes | bytearray | memoryview):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonError(f"body is not valid UTF-8 (byte offset {exc.start})") from None
    else:
        text = data
    if text.startswith("\ufeff"):
        text = text[1:]
    if allow_comments:
        text = strip_comments(text)
    if "\x00" in text or ("\\u0000" in text and _ESCAPED_NUL.search(text)):
        raise JsonError("NUL characters (\\u0000) are not allowed in FHIR content")
    try:
        return _decoder.decode(text)
    except JsonError:
        raise
    except json.JSONDecodeError as exc:
        if not allow_comments and text[exc.pos : exc.pos + 1] == "/" and _comment_at(text, exc.pos):
            raise JsonError(f"comments are not allowed in JSON (line {exc.lineno} column {exc.colno})") from None
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
