"""``_elements`` and ``_summary`` applied to a body on its way out (read, vread, search).

Without either parameter the stored text goes out untouched; with one, the resource is
parsed (losslessly), reduced, and tagged SUBSETTED as the specification requires.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask import request

from .. import fhirjson
from ..conformance.element_paths import choice_type_suffix
from ..errors import FhirError
from .http import services

SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}
ALWAYS_KEPT = ("resourceType", "id", "meta")
SUMMARY_MODES = {"true", "false", "text", "data", "count"}


def requested_shape() -> tuple[str | None, list[str] | None]:
    summary = request.args.get("_summary")
    if summary is not None and summary not in SUMMARY_MODES:
        raise FhirError(f"_summary={summary} is not one of {sorted(SUMMARY_MODES)}", code="value", expression="_summary")
    raw_elements = request.args.get("_elements")
    elements = [e.strip() for e in raw_elements.split(",") if e.strip()] if raw_elements else None
    return summary, elements


def shape_body(body: str | None) -> str | dict[str, Any] | None:
    summary, elements = requested_shape()
    if body is None or (summary in {None, "false"} and not elements):
        return body
    return shape_resource(fhirjson.loads(body), summary, elements)


def shape_resource(resource: dict[str, Any], summary: str | None, elements: list[str] | None) -> dict[str, Any]:
    rtype = resource.get("resourceType", "")
    if elements:
        keep = set(elements) | set(ALWAYS_KEPT)
        reduced = {k: v for k, v in resource.items() if k in keep or (k.startswith("_") and k[1:] in keep)}
    elif summary == "text":
        keep = {"text", "id", "meta", "resourceType", *_mandatory_elements(rtype)}
        reduced = {k: v for k, v in resource.items() if k in keep}
    elif summary == "data":
        reduced = {k: v for k, v in resource.items() if k != "text"}
    elif summary == "true":
        keep = _summary_elements(rtype) | set(ALWAYS_KEPT)
        reduced = {k: v for k, v in resource.items() if k in keep or (k.startswith("_") and k[1:] in keep)}
    else:
        return resource
    return _tag_subsetted(reduced)


def _tag_subsetted(resource: dict[str, Any]) -> dict[str, Any]:
    meta = dict(resource.get("meta") or {})
    tags = [t for t in meta.get("tag", []) if t.get("code") != "SUBSETTED"]
    meta["tag"] = [*tags, SUBSETTED]
    out = dict(resource)
    out["meta"] = meta
    if "meta" not in resource:
        out = {"resourceType": out.pop("resourceType"), **({"id": out.pop("id")} if "id" in out else {}), **out}
    return out


@lru_cache(maxsize=256)
def _summary_elements(rtype: str) -> frozenset[str]:
    """Top-level elements flagged isSummary in the type's StructureDefinition (choice
    elements under each of their JSON names: ``value[x]`` -> ``valueQuantity`` …)."""
    return frozenset(_top_level_names(rtype, lambda e: bool(e.get("isSummary"))))


@lru_cache(maxsize=256)
def _mandatory_elements(rtype: str) -> frozenset[str]:
    return frozenset(_top_level_names(rtype, lambda e: e.get("min", 0) > 0))


def _top_level_names(rtype: str, wanted: Any) -> set[str]:
    sd = services().model.structure_definitions.get(rtype)
    names: set[str] = set()
    for element in (sd or {}).get("snapshot", {}).get("element", []):
        parts = element["path"].split(".")
        if len(parts) != 2 or not wanted(element):
            continue
        name = parts[1]
        if name.endswith("[x]"):
            stem = name[:-3]
            names.update(stem + choice_type_suffix(t["code"]) for t in element.get("type", []))
        else:
            names.add(name)
    return names
