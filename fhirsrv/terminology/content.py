"""Where terminology resources come from, in order of precedence.

1. ``terminology/`` — the content fhirsrv ships (our NamingSystems, CodeSystems, ValueSets,
   ConceptMaps), each with its licence, and the code systems built from maintained
   libraries (ISO 3166, :mod:`.generated`), which replace the packages' ``not-present`` stubs;
2. the canonical registry — R4 core and every package in ``profiles/``;
3. resources users stored through the REST API (cached per change generation, see :mod:`.stored`).

Shipped definitions come first so that a user cannot silently redefine a code system the
validator relies on; users add new canonical URLs (or new versions) instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..conformance.registry import Registry, split_canonical
from .generated import GENERATORS, generated_codesystem

_log = logging.getLogger("fhirsrv.terminology")

TERMINOLOGY_TYPES = ("CodeSystem", "ValueSet", "ConceptMap", "NamingSystem")


def read_terminology_dir(folder: Path) -> list[dict[str, Any]]:
    """Every FHIR resource (one ``.json`` file each) in ``folder``, sorted by file name."""
    resources: list[dict[str, Any]] = []
    if not folder.is_dir():
        _log.warning("terminology folder %s does not exist; shipping no local terminology", folder)
        return resources
    for path in sorted(folder.glob("*.json")):
        resource = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(resource, dict) and resource.get("resourceType") in TERMINOLOGY_TYPES:
            resources.append(resource)
    return resources


class StoredResources(Protocol):
    """User-stored resources by canonical URL (implemented over Postgres in :mod:`.stored`)."""

    def find(self, rtype: str, url: str, version: str | None) -> dict[str, Any] | None: ...

    def all_of_type(self, rtype: str) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Found:
    """A resolved resource and whether it may change (user-stored: do not cache across calls)."""

    resource: dict[str, Any]
    volatile: bool = False

    @property
    def key(self) -> tuple:
        """Identity for caches: URL, version and, for stored resources, the stored version."""
        meta = self.resource.get("meta") or {}
        return (
            self.resource.get("resourceType"),
            self.resource.get("url"),
            self.resource.get("version"),
            self.volatile,
            meta.get("versionId"),
            meta.get("lastUpdated"),
        )


class Sources:
    """The shipped content and the package registry, resolved by canonical reference."""

    def __init__(self, registry: Registry, shipped: list[dict[str, Any]]) -> None:
        self.registry = registry
        self.shipped = Registry()
        self.shipped.add_all(r for r in shipped if r.get("resourceType") != "NamingSystem")
        self.shipped_resources = shipped

    def get(self, rtype: str, reference: str, version: str | None = None) -> dict[str, Any] | None:
        url, embedded = split_canonical(reference)
        version = version or embedded
        found = self.shipped.get(url, version)
        if found is not None and found.get("resourceType") == rtype:
            return found
        if rtype == "CodeSystem" and url in GENERATORS:
            return generated_codesystem(url)
        found = self.registry.get(url, version)
        return found if found is not None and found.get("resourceType") == rtype else None

    def all_of_type(self, rtype: str) -> list[dict[str, Any]]:
        seen: set[tuple[str, str]] = set()
        out: list[dict[str, Any]] = []
        for registry in (self.shipped, self.registry):
            for resource in registry.iter_type(rtype):
                key = (resource.get("url", ""), resource.get("version") or "")
                if key not in seen:
                    seen.add(key)
                    out.append(resource)
        return out

    def package_naming_systems(self) -> list[dict[str, Any]]:
        """NamingSystems have no ``url`` in R4, so the registry skips them: read the packages."""
        return [
            r for p in self.registry.packages for r in p.resources if r.get("resourceType") == "NamingSystem"
        ]

    def shipped_naming_systems(self) -> list[dict[str, Any]]:
        return [r for r in self.shipped_resources if r.get("resourceType") == "NamingSystem"]


class Resolver:
    """Shipped content first, then (when given) the resources users stored."""

    def __init__(self, sources: Sources, stored: Callable[[], StoredResources] | None = None) -> None:
        self.sources = sources
        self.stored = stored  # called only when shipped content does not have the answer

    def find(self, rtype: str, reference: str, version: str | None = None) -> Found | None:
        resource = self.sources.get(rtype, reference, version)
        if resource is not None:
            return Found(resource)
        if self.stored is not None:
            url, embedded = split_canonical(reference)
            resource = self.stored().find(rtype, url, version or embedded)
            if resource is not None:
                return Found(resource, volatile=True)
        return None
