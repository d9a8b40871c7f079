"""How element paths and choice names are spelled, in one place.

Snapshot generation, the validator's walk and slicing, the checks of a StructureDefinition
and the ``_elements`` / search code all need the same two small facts of FHIR's naming:
the JSON name of one type of a choice element (``value[x]`` as ``dateTime`` is
``valueDateTime``), and the steps of a restricted FHIRPath such as a discriminator path
(``extension('http://…/x.y').value.ofType(Coding)``), split where a dot separates two steps
and not inside a function's argument. Each had its own copy; a fix to one (quotes in an
argument) did not reach the others.
"""

from __future__ import annotations

from functools import lru_cache


def choice_type_suffix(code: str) -> str:
    """The type's part of a concrete choice name: ``dateTime`` → ``DateTime`` (``valueDateTime``).

    R4 (formats.html#choice): the type name with its first letter in upper case; the rest
    keeps its case (``CodeableConcept``, ``dateTime``).
    """
    return code[:1].upper() + code[1:]


@lru_cache(maxsize=1024)
def path_steps(path: str) -> tuple[str, ...]:
    """The steps of a simple FHIRPath, split on the dots outside parentheses and quotes.

    ``$this`` and empty steps are left out: both name the current node, so following the
    path they do nothing. Cached: the same few discriminator paths are split again and again.
    """
    parts, depth, current, quoted = [], 0, "", False
    for char in path:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        if char == "." and depth == 0 and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return tuple(p for p in parts if p and p != "$this")
