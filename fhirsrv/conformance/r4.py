"""Facts about FHIR R4 read from the core definitions, never hand-kept.

Which resource types exist, which search parameters each type has (with their FHIRPath
expressions, types and targets), and which parameters put a resource in the Patient
compartment all come from the official definition bundles shipped in ``profiles/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .packages import core_bundle_path, iter_bundle_resources

CORE_DIR_NAME = "hl7.fhir.r4.core-4.0.1"


@dataclass(frozen=True)
class SearchParamDef:
    """One R4 SearchParameter as the search engine needs it."""

    code: str
    type: str  # number | date | string | token | reference | composite | quantity | uri | special
    expression: str | None
    url: str
    bases: tuple[str, ...]
    targets: tuple[str, ...] = ()
    modifiers: tuple[str, ...] = ()
    comparators: tuple[str, ...] = ()
    components: tuple[tuple[str, str], ...] = ()  # (definition url, expression)
    description: str = ""


@dataclass
class R4Model:
    resource_types: frozenset[str]
    # type name -> StructureDefinition (kind=resource, specialization)
    structure_definitions: dict[str, dict[str, Any]]
    search_params: dict[str, dict[str, SearchParamDef]] = field(default_factory=dict)
    params_by_url: dict[str, SearchParamDef] = field(default_factory=dict)
    # type name -> search parameter codes that link it to the Patient compartment
    patient_compartment: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def params_for(self, resource_type: str) -> dict[str, SearchParamDef]:
        return self.search_params.get(resource_type, {})

    def is_resource_type(self, name: str) -> bool:
        return name in self.resource_types


def _search_param(resource: dict[str, Any]) -> SearchParamDef:
    return SearchParamDef(
        code=resource["code"],
        type=resource["type"],
        expression=resource.get("expression"),
        url=resource["url"],
        bases=tuple(resource.get("base", [])),
        targets=tuple(resource.get("target", [])),
        modifiers=tuple(resource.get("modifier", [])),
        comparators=tuple(resource.get("comparator", [])),
        components=tuple(
            (c["definition"], c["expression"]) for c in resource.get("component", [])
        ),
        description=resource.get("description", ""),
    )


def build_model(core_dir: Path) -> R4Model:
    structure_definitions: dict[str, dict[str, Any]] = {}
    for sd in iter_bundle_resources(core_bundle_path(core_dir, "profiles-resources.json")):
        if (
            sd.get("resourceType") == "StructureDefinition"
            and sd.get("kind") == "resource"
            and sd.get("derivation") == "specialization"
        ):
            structure_definitions[sd["type"]] = sd
    resource_types = frozenset(
        name for name, sd in structure_definitions.items() if not sd.get("abstract")
    )
    model = R4Model(resource_types=resource_types, structure_definitions=structure_definitions)

    for resource in iter_bundle_resources(core_bundle_path(core_dir, "search-parameters.json")):
        if resource.get("resourceType") != "SearchParameter":
            continue
        param = _search_param(resource)
        model.params_by_url[param.url] = param
        for base in param.bases:
            targets = resource_types if base in {"Resource", "DomainResource"} else (base,)
            for rtype in targets:
                if base == "DomainResource" and rtype in {"Bundle", "Binary", "Parameters"}:
                    continue
                model.search_params.setdefault(rtype, {})[param.code] = param

    compartment = next(iter_bundle_resources(core_bundle_path(core_dir, "compartmentdefinition-patient.json")))
    for entry in compartment.get("resource", []):
        params = tuple(p for p in entry.get("param", []) if p != "{def}")
        if params:
            model.patient_compartment[entry["code"]] = params
    return model


@lru_cache(maxsize=4)
def load_model(profiles_dir: Path) -> R4Model:
    """The R4 model for a profiles folder; read once per process."""
    return build_model(Path(profiles_dir) / CORE_DIR_NAME)
