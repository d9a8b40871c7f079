"""Search index extraction (interim: Patient compartment only; the full indexer replaces it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg import Cursor

from ..conformance.r4 import R4Model


@dataclass
class ResourceIndex:
    patient_ids: list[str] = field(default_factory=list)


class Indexer:
    def __init__(self, model: R4Model) -> None:
        self.model = model

    def extract(self, rtype: str, resource: dict[str, Any]) -> ResourceIndex:
        if rtype == "Patient":
            return ResourceIndex([resource["id"]] if resource.get("id") else [])
        ids: list[str] = []
        for code in self.model.patient_compartment.get(rtype, ()):
            for item in _walk(resource, self._compartment_paths(rtype, code)):
                ref = item.get("reference") if isinstance(item, dict) else None
                if isinstance(ref, str) and ref.startswith("Patient/") and ref[8:] not in ids:
                    ids.append(ref[8:])
        return ResourceIndex(ids)

    def _compartment_paths(self, rtype: str, code: str) -> list[list[str]]:
        """Element paths of a compartment parameter, read off its expression's simple parts
        (``CareTeam.subject.where(resolve() is Patient)`` -> ``subject``)."""
        param = self.model.params_for(rtype).get(code)
        if param is None or not param.expression:
            return [[code]]
        paths = []
        for part in param.expression.split("|"):
            part = part.strip()
            if part.startswith(rtype + "."):
                paths.append(part[len(rtype) + 1:].split(".where(")[0].split("."))
        return paths or [[code]]

    def write(self, cur: Cursor, rid: int, index: ResourceIndex) -> None:
        return None

    def remove(self, cur: Cursor, rid: int) -> None:
        return None


def _walk(node: Any, paths: list[list[str]]) -> list[Any]:
    found: list[Any] = []
    for path in paths:
        level = [node]
        for name in path:
            nxt: list[Any] = []
            for item in level:
                value = item.get(name) if isinstance(item, dict) else None
                nxt.extend(value if isinstance(value, list) else ([value] if value is not None else []))
            level = nxt
        found.extend(level)
    return found
