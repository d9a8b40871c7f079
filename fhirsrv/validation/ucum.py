"""A small UCUM unit converter: enough to compare Quantities written in different units.

Why our own: no maintained Python UCUM library exists on PyPI, and profiles' ``minValue``/
``maxValue`` need only comparisons of common units (mass, length, volume, time, amount of
substance, their prefixes and quotients such as ``mg/dL``). A unit is parsed into a factor
and a dimension vector over the base units ``g m s mol`` (plus ``K``, ``[iU]``, arbitrary
units in braces counting as 1); two units are comparable when their dimensions agree.
Anything this parser does not know gives None — "cannot compare", never a wrong answer.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

Dimension = tuple[int, int, int, int, int]  # g, m, s, mol, K

_PREFIXES = {
    "Y": Decimal("1e24"), "Z": Decimal("1e21"), "E": Decimal("1e18"), "P": Decimal("1e15"), "T": Decimal("1e12"),
    "G": Decimal("1e9"), "M": Decimal("1e6"), "k": Decimal("1e3"), "h": Decimal("1e2"), "da": Decimal("1e1"),
    "d": Decimal("1e-1"), "c": Decimal("1e-2"), "m": Decimal("1e-3"), "u": Decimal("1e-6"), "n": Decimal("1e-9"),
    "p": Decimal("1e-12"), "f": Decimal("1e-15"), "a": Decimal("1e-18"),
}

# atom → (factor to base, dimension, may take a prefix)
_ATOMS: dict[str, tuple[Decimal, Dimension, bool]] = {
    "g": (Decimal(1), (1, 0, 0, 0, 0), True),
    "m": (Decimal(1), (0, 1, 0, 0, 0), True),
    "s": (Decimal(1), (0, 0, 1, 0, 0), True),
    "mol": (Decimal(1), (0, 0, 0, 1, 0), True),
    "K": (Decimal(1), (0, 0, 0, 0, 1), True),
    "L": (Decimal("0.001"), (0, 3, 0, 0, 0), True),
    "l": (Decimal("0.001"), (0, 3, 0, 0, 0), True),
    "min": (Decimal(60), (0, 0, 1, 0, 0), False),
    "h": (Decimal(3600), (0, 0, 1, 0, 0), False),
    "d": (Decimal(86400), (0, 0, 1, 0, 0), False),
    "wk": (Decimal(604800), (0, 0, 1, 0, 0), False),
    "mo": (Decimal("2629800"), (0, 0, 1, 0, 0), False),  # mean Julian month
    "a": (Decimal("31557600"), (0, 0, 1, 0, 0), False),  # Julian year
    "[lb_av]": (Decimal("453.59237"), (1, 0, 0, 0, 0), False),
    "[oz_av]": (Decimal("28.349523125"), (1, 0, 0, 0, 0), False),
    "[in_i]": (Decimal("0.0254"), (0, 1, 0, 0, 0), False),
    "[ft_i]": (Decimal("0.3048"), (0, 1, 0, 0, 0), False),
    "[yd_i]": (Decimal("0.9144"), (0, 1, 0, 0, 0), False),
    "[mi_i]": (Decimal("1609.344"), (0, 1, 0, 0, 0), False),
    "[iU]": (Decimal(1), (0, 0, 0, 0, 0), True),
    "%": (Decimal("0.01"), (0, 0, 0, 0, 0), False),
    "1": (Decimal(1), (0, 0, 0, 0, 0), False),
}

_TERM = re.compile(r"(?P<atom>\[[^\]]+\]|[A-Za-z%]+|1)(?P<exp>-?\d+)?$")
_ANNOTATION = re.compile(r"\{[^}]*\}")


def _atom(text: str) -> tuple[Decimal, Dimension] | None:
    if text in _ATOMS:
        factor, dim, _ = _ATOMS[text]
        return factor, dim
    for size in (2, 1):  # "da" before "d"
        prefix, rest = text[:size], text[size:]
        if prefix in _PREFIXES and rest in _ATOMS and _ATOMS[rest][2]:
            factor, dim, _ = _ATOMS[rest]
            return _PREFIXES[prefix] * factor, dim
    return None


def _term(text: str) -> tuple[Decimal, Dimension] | None:
    if text == "":
        return Decimal(1), (0, 0, 0, 0, 0)
    match = _TERM.match(text)
    if match is None:
        return None
    found = _atom(match.group("atom"))
    if found is None:
        return None
    exponent = int(match.group("exp") or 1)
    factor, dim = found
    return factor ** exponent, tuple(d * exponent for d in dim)  # type: ignore[return-value]


@lru_cache(maxsize=256)
def parse_unit(code: str) -> tuple[Decimal, Dimension] | None:
    """(factor to base units, dimension) of a UCUM code like ``mg/dL``, or None if unknown."""
    text = _ANNOTATION.sub("", code.strip())
    if not text and code.strip():
        return Decimal(1), (0, 0, 0, 0, 0)  # "{beats}": an arbitrary unit, dimensionless
    factor, dim = Decimal(1), [0, 0, 0, 0, 0]
    sign = 1
    for i, part in enumerate(re.split(r"([./])", text)):
        if i % 2:
            sign = 1 if part == "." else -1
            continue
        found = _term(part)
        if found is None:
            return None
        term_factor, term_dim = found
        factor = factor * term_factor if sign > 0 else factor / term_factor
        dim = [d + sign * t for d, t in zip(dim, term_dim, strict=True)]
    return factor, tuple(dim)  # type: ignore[return-value]


def convert(value: Decimal, from_code: str, to_code: str) -> Decimal | None:
    """``value`` in ``from_code`` expressed in ``to_code``; None when not comparable or unknown."""
    if from_code == to_code:
        return value
    source, target = parse_unit(from_code), parse_unit(to_code)
    if source is None or target is None or source[1] != target[1]:
        return None
    return value * source[0] / target[0]
