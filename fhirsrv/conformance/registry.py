"""The canonical registry: every conformance resource by ``url|version``.

One registry holds the R4 core and every shipped package; the validator, the terminology
service and the REST layer all look definitions up here. An unversioned reference takes
the latest version known (by a numeric-aware comparison of version strings).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from .packages import Package

CANONICAL_TYPES = frozenset(
    {
        "StructureDefinition",
        "ValueSet",
        "CodeSystem",
        "ConceptMap",
        "SearchParameter",
        "OperationDefinition",
        "CompartmentDefinition",
        "NamingSystem",
        "CapabilityStatement",
        "ImplementationGuide",
        "StructureMap",
        "GraphDefinition",
        "MessageDefinition",
        "Measure",  # a MeasureReport is checked against its Measure (validation.measure_rules)
        # QuestionnaireResponse.questionnaire is a canonical: the validator resolves it here
        "Questionnaire",
    }
)


def version_key(version: str) -> tuple:
    """Sort key: ``1.10.0`` after ``1.9.0``; pre-release tags before the release."""
    main, _, pre = version.partition("-")
    numbers = tuple(int(p) if p.isdigit() else -1 for p in re.split(r"[.]", main))
    return (numbers, 0 if pre else 1, pre)


def version_matches(stated: str | None, wanted: str) -> bool:
    """``url|1.2`` is met by version 1.2 and by 1.2.x (FHIR canonical version matching)."""
    stated = stated or ""
    return stated == wanted or stated.startswith(wanted + ".")


def latest(candidates: Iterable[dict[str, Any]], version: str | None) -> dict[str, Any] | None:
    """The newest of ``candidates`` that meets ``version`` (any when None)."""
    matching = [c for c in candidates if version is None or version_matches(c.get("version"), version)]
    return max(matching, key=lambda c: version_key(c.get("version") or ""), default=None)


def split_canonical(reference: str) -> tuple[str, str | None]:
    url, sep, version = reference.partition("|")
    return url, (version if sep else None)


class Registry:
    """Conformance resources of all loaded packages, indexed by canonical URL."""

    def __init__(self) -> None:
        self._by_url: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self._latest: dict[str, dict[str, Any]] = {}
        self.packages: list[Package] = []

    def add_package(self, package: Package) -> None:
        self.packages.append(package)
        self.add_all(package.resources)

    def add_all(self, resources: Iterable[dict[str, Any]]) -> None:
        for resource in resources:
            self.add(resource)

    def add(self, resource: dict[str, Any]) -> None:
        url = resource.get("url")
        if not url or resource.get("resourceType") not in CANONICAL_TYPES:
            return
        version = resource.get("version") or ""
        self._by_url[url][version] = resource
        current = self._latest.get(url)
        if current is None or version_key(version) >= version_key(current.get("version") or ""):
            self._latest[url] = resource

    def get(self, reference: str, version: str | None = None) -> dict[str, Any] | None:
        """Resolve ``url``, ``url|version`` or (url, version)."""
        url, embedded_version = split_canonical(reference)
        version = version or embedded_version
        if version is None:
            return self._latest.get(url)
        versions = self._by_url.get(url, {})
        if version in versions:
            return versions[version]
        # ``1.1`` matches ``1.1.0``: FHIR allows partial versions in canonical references.
        for candidate, resource in sorted(versions.items(), key=lambda kv: version_key(kv[0]), reverse=True):
            if candidate.startswith(version + "."):
                return resource
        return None

    def versions(self, url: str) -> list[str]:
        return sorted(self._by_url.get(url, {}), key=version_key)

    def iter_type(self, resource_type: str) -> Iterator[dict[str, Any]]:
        for versions in self._by_url.values():
            for resource in versions.values():
                if resource.get("resourceType") == resource_type:
                    yield resource

    def __contains__(self, reference: str) -> bool:
        return self.get(reference) is not None

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_url.values())
