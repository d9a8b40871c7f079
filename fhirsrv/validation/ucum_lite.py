"""Just enough UCUM to compare two simple quantities (``10000 m`` against ``50 km``).

A full UCUM engine parses unit algebra (``kg/m2``, ``mm[Hg]``, annotations); the questionnaire
limits seen in practice are plain units with a metric prefix or a customary unit. For those
:func:`canonical` gives (dimension, factor to the base unit); anything else is unknown
(None), and the caller says it cannot compare rather than guessing.
"""

from __future__ import annotations

from decimal import Decimal

# unit → (dimension, factor to the dimension's base unit)
_UNITS: dict[str, tuple[str, Decimal]] = {
    "m": ("length", Decimal(1)),
    "[in_i]": ("length", Decimal("0.0254")),
    "[ft_i]": ("length", Decimal("0.3048")),
    "[yd_i]": ("length", Decimal("0.9144")),
    "[mi_i]": ("length", Decimal("1609.344")),
    "g": ("mass", Decimal(1)),
    "[lb_av]": ("mass", Decimal("453.59237")),
    "[oz_av]": ("mass", Decimal("28.349523125")),
    "s": ("time", Decimal(1)),
    "min": ("time", Decimal(60)),
    "h": ("time", Decimal(3600)),
    "d": ("time", Decimal(86400)),
    "wk": ("time", Decimal(604800)),
    "L": ("volume", Decimal(1)),
    "l": ("volume", Decimal(1)),
    "Cel": ("temperature-celsius", Decimal(1)),
    "%": ("fraction", Decimal("0.01")),
    "1": ("fraction", Decimal(1)),
}

# metric prefixes allowed in front of the metric base units (m, g, s, L, l)
_PREFIXES: dict[str, Decimal] = {
    "G": Decimal(10) ** 9, "M": Decimal(10) ** 6, "k": Decimal(1000), "h": Decimal(100), "da": Decimal(10),
    "d": Decimal("0.1"), "c": Decimal("0.01"), "m": Decimal("0.001"), "u": Decimal("0.000001"),
    "n": Decimal("0.000000001"), "p": Decimal("0.000000000001"),
}
_METRIC = ("m", "g", "s", "L", "l")


def canonical(unit: str) -> tuple[str, Decimal] | None:
    """(dimension, factor) of a simple UCUM unit, or None when it is not one we know."""
    if unit in _UNITS:
        return _UNITS[unit]
    for base in _METRIC:
        prefix = unit[: -len(base)] if unit.endswith(base) else None
        if prefix and prefix in _PREFIXES:
            dimension, factor = _UNITS[base]
            return dimension, factor * _PREFIXES[prefix]
    return None


def in_base_units(value: Decimal, unit: str) -> tuple[str, Decimal] | None:
    """(dimension, value in the base unit), or None for a unit we cannot convert."""
    found = canonical(unit)
    if found is None:
        return None
    return found[0], value * found[1]
