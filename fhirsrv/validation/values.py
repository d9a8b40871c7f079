"""Comparing instance data with ``fixed[x]`` and ``pattern[x]`` values.

fixed: the value must be exactly the given one (no more, no less).
pattern: every property given in the pattern must be present with that value; arrays in a
pattern mean "each pattern item matches some instance item".
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def _same_primitive(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float | Decimal) and isinstance(b, int | float | Decimal):
        return Decimal(str(a)) == Decimal(str(b))
    return a == b


def equals_fixed(data: Any, fixed: Any) -> bool:
    if isinstance(fixed, dict):
        return isinstance(data, dict) and data.keys() == fixed.keys() and all(
            equals_fixed(data[k], v) for k, v in fixed.items()
        )
    if isinstance(fixed, list):
        return isinstance(data, list) and len(data) == len(fixed) and all(
            equals_fixed(d, f) for d, f in zip(data, fixed, strict=True)
        )
    return _same_primitive(data, fixed)


def matches_pattern(data: Any, pattern: Any) -> bool:
    if isinstance(pattern, dict):
        return isinstance(data, dict) and all(
            k in data and matches_pattern(data[k], v) for k, v in pattern.items()
        )
    if isinstance(pattern, list):
        items = data if isinstance(data, list) else [data]
        return all(any(matches_pattern(d, p) for d in items) for p in pattern)
    return _same_primitive(data, pattern)


def show(value: Any) -> str:
    """A short readable rendering of a fixed/pattern value for messages."""
    if isinstance(value, dict):
        if "system" in value or "code" in value:
            system = value.get("system", "")
            return f"{system}#{value.get('code', '')}" if system else repr(value.get("code"))
        if isinstance(value.get("coding"), list):
            return " or ".join(show(c) for c in value["coding"])
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return ", ".join(show(v) for v in value)
    return repr(value) if isinstance(value, str) else str(value)
