"""The JSON shape of an operation's ``Parameters.parameter`` list, checked before any handler.

Handlers read a parameter's ``value[x]`` as the type its name says (``valueCode`` a string,
``valueBoolean`` a boolean, ``valueCoding`` an object …). A value of another JSON type is
invalid R4 and must be a 400 naming it, not an exception deep in an operation. Only the shape
is checked here: a ``resource`` parameter's content is the operation's business (``$validate``
reports what is wrong with it in its OperationOutcome).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..errors import FhirError

# value[x] type suffix -> the JSON type its value must have (R4 datatypes.html#primitive)
_STRING_TYPES = frozenset({
    "Base64Binary", "Canonical", "Code", "Date", "DateTime", "Id", "Instant", "Markdown", "Oid", "String",
    "Time", "Uri", "Url", "Uuid",
})
_INTEGER_TYPES = frozenset({"Integer", "PositiveInt", "UnsignedInt"})


def _shape_error(value: Any, suffix: str) -> str | None:
    """Why ``value`` cannot be a ``value<suffix>``; None when its JSON type fits."""
    if suffix in _STRING_TYPES:
        return None if isinstance(value, str) else "a JSON string"
    if suffix == "Boolean":
        return None if isinstance(value, bool) else "true or false"
    if suffix in _INTEGER_TYPES:
        return None if isinstance(value, int) and not isinstance(value, bool) else "a JSON integer"
    if suffix == "Decimal":
        return None if isinstance(value, int | Decimal) and not isinstance(value, bool) else "a JSON number"
    return None if isinstance(value, dict) else "a JSON object"


def check_parameter_shapes(parameters: Any, path: str = "Parameters.parameter") -> list[dict[str, Any]]:
    """``parameters`` when every entry is an object with a name and values of the right JSON
    types (``part`` checked the same way); else a 400 naming the first element at fault."""
    if not isinstance(parameters, list) or not all(isinstance(p, dict) for p in parameters):
        raise FhirError(f"{path} must be a list of objects", code="structure", expression=path)
    for at, parameter in enumerate(parameters):
        where = f"{path}[{at}]"
        if not isinstance(parameter.get("name"), str) or not parameter["name"]:
            raise FhirError(f"{where} has no name; every parameter needs one", code="required",
                            expression=f"{where}.name")
        for key, value in parameter.items():
            if key.startswith("value") and len(key) > 5:
                expected = _shape_error(value, key[5:])
                if expected:
                    raise FhirError(f"{where}.{key} (parameter {parameter['name']!r}) must be {expected}",
                                    code="structure", expression=f"{where}.{key}")
            elif key == "resource" and not (isinstance(value, dict) and isinstance(value.get("resourceType"), str)):
                raise FhirError(f"{where}.resource (parameter {parameter['name']!r}) must be a resource: "
                                "a JSON object with a resourceType", code="structure", expression=f"{where}.resource")
            elif key == "part":
                check_parameter_shapes(value, f"{where}.part")
    return parameters
