"""Official R4 examples with values of the wrong JSON type put in: what a careless or hostile
sender writes, and what code that runs before base validation (the indexer, the document
checks, the validator's own rules) must survive without an exception."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from fhirsrv import fhirjson

EXAMPLES = sorted((Path(__file__).resolve().parent / "data" / "r4-examples").glob("*.json"))

#: Values of every JSON type, and shapes that look like FHIR where a primitive belongs.
ODD_VALUES: list[Any] = [
    None, "", 0, 1.5, -1, True, [], {}, "x", [None], [{}], {"a": 1}, ["a"], [[]],
    {"reference": 3}, {"resourceType": "Patient"}, {"value": []}, "2020-13-45",
]


def _places(node: Any, at: tuple = ()) -> list[tuple]:
    """Every path below the root: keys of objects, positions in arrays."""
    found: list[tuple] = []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        found.append((*at, key))
        found.extend(_places(child, (*at, key)))
    return found


@st.composite
def mutated_examples(draw: st.DrawFn) -> dict[str, Any]:
    """An official example with one to three values replaced by ones of the wrong type."""
    resource = fhirjson.loads(draw(st.sampled_from(EXAMPLES)).read_text())
    for _ in range(draw(st.integers(1, 3))):
        places = [p for p in _places(resource) if len(p) > 1]  # keep resourceType and top-level shape
        if not places:
            break
        *parents, last = draw(st.sampled_from(places))
        parent = resource
        for key in parents:
            parent = parent[key]
        parent[last] = copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))
    return resource
