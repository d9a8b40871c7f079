"""The sections a Composition profile defines, read from its StructureDefinition snapshot.

Definition-driven: the LOINC code of each section slice, whether it is required, whether it
may carry ``emptyReason`` (0..0 everywhere in IPS 1.1.0), whether a present section needs an
entry, and which resource types its entries may be. IPS 1.1.0, 2.0.0 and the EU PS differ in
exactly these facts, and all of them are in the snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..conformance.registry import Registry


@dataclass(frozen=True)
class SectionDef:
    slice_name: str
    system: str
    code: str
    display: str
    required: bool  # section min ≥ 1
    entry_required: bool  # a present section must have an entry (IPS 1.1.0)
    empty_reason_allowed: bool
    entry_types: frozenset[str]  # resource types its entries may be
    short: str


def _element_map(sd: dict) -> dict[str, dict]:
    return {e["id"]: e for e in sd.get("snapshot", {}).get("element", [])}


def _target_types(element: dict | None, registry: Registry) -> frozenset[str]:
    types: set[str] = set()
    for type_ in (element or {}).get("type", []):
        for target in type_.get("targetProfile", []):
            sd = registry.get(target)
            types.add(sd["type"] if sd else target.split("|")[0].rsplit("/", 1)[-1])
    return frozenset(types)


@lru_cache(maxsize=16)
def section_definitions(registry: Registry, composition: str) -> tuple[SectionDef, ...]:
    """The section slices of Composition profile ``composition`` (canonical|version)."""
    sd = registry.get(composition)
    if sd is None:
        raise LookupError(f"no StructureDefinition {composition} in the registry")
    elements = _element_map(sd)
    base_empty = elements.get("Composition.section.emptyReason", {}).get("max") != "0"
    out: list[SectionDef] = []
    for element in sd["snapshot"]["element"]:
        if element.get("path") != "Composition.section" or not element.get("sliceName"):
            continue
        sid = element["id"]
        code_el = elements.get(f"{sid}.code", {})
        pattern = code_el.get("patternCodeableConcept") or code_el.get("fixedCodeableConcept") or {}
        coding = (pattern.get("coding") or [{}])[0]
        if not coding.get("code"):
            continue
        entry = elements.get(f"{sid}.entry")
        empty = elements.get(f"{sid}.emptyReason")
        out.append(
            SectionDef(
                slice_name=element["sliceName"],
                system=coding.get("system", "http://loinc.org"),
                code=coding["code"],
                display=coding.get("display", ""),
                required=int(element.get("min", 0)) >= 1,
                entry_required=int((entry or {}).get("min", 0)) >= 1,
                empty_reason_allowed=base_empty and (empty or {}).get("max") != "0",
                entry_types=_target_types(entry, registry),
                short=element.get("short", element["sliceName"]),
            )
        )
    return tuple(out)

