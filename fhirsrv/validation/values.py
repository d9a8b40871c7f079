"""Comparing instance data with ``fixed[x]`` and ``pattern[x]`` values.

fixed: the value must be exactly the given one (no more, no less): a complex fixed value
admits no element it does not list (a ``fixedContactPoint`` of ``{use: home}`` forbids
``system`` and ``value``), as in the HL7 Java validator.
pattern: every property given in the pattern must be present with that value; arrays in a
pattern mean "each pattern item matches some instance item".
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Difference:
    """One element where a value departs from a complex fixed value."""

    expression: str  # FHIRPath of the element (``Practitioner.telecom[0].system``)
    kind: str  # "extra" (not in the fixed value), "missing" (absent from the data), "value"
    expected: Any = None  # the fixed value's element ("missing", "value")
    found: Any = None  # the data's element ("extra", "value")


def fixed_differences(data: Any, fixed: Any, path: str) -> list[Difference]:
    """Every element of ``data`` (at ``path``) that departs from ``fixed``, deepest first
    where both are objects, so that an issue can name the element itself rather than the
    whole value (the Java validator reports each extra element at its own path)."""
    if isinstance(fixed, dict) and isinstance(data, dict):
        found: list[Difference] = []
        for key, value in data.items():
            if key not in fixed:
                found.append(Difference(f"{path}.{key.removeprefix('_')}", "extra", found=value))
        for key, value in fixed.items():
            if key not in data:
                found.append(Difference(f"{path}.{key.removeprefix('_')}", "missing", expected=value))
            else:
                found.extend(fixed_differences(data[key], value, f"{path}.{key.removeprefix('_')}"))
        return found
    if isinstance(fixed, list) and isinstance(data, list) and len(fixed) == len(data):
        return [d for i, (item, want) in enumerate(zip(data, fixed, strict=True))
                for d in fixed_differences(item, want, f"{path}[{i}]")]
    if equals_fixed(data, fixed):
        return []
    return [Difference(path, "value", expected=fixed, found=data)]


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
        if "code" in value:  # Coding, Quantity: system#code
            system = value.get("system", "")
            return f"{system}#{value.get('code', '')}" if system else repr(value.get("code"))
        if isinstance(value.get("coding"), list):
            return " or ".join(show(c) for c in value["coding"])
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return ", ".join(show(v) for v in value)
    return repr(value) if isinstance(value, str) else str(value)
