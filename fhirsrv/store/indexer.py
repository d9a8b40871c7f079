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
            return ResourceIndex([resource["id"]])
        ids: list[str] = []
        for code in self.model.patient_compartment.get(rtype, ()):
            value = resource.get(code)
            for item in value if isinstance(value, list) else [value]:
                ref = item.get("reference") if isinstance(item, dict) else None
                if isinstance(ref, str) and ref.startswith("Patient/"):
                    ids.append(ref.split("/")[1])
        return ResourceIndex(ids)

    def write(self, cur: Cursor, rid: int, index: ResourceIndex) -> None:
        return None

    def remove(self, cur: Cursor, rid: int) -> None:
        return None
