"""References inside a Bundle: resolving ``fullUrl``s (absolute, relative, ``urn:uuid:``).

FHIR R4 bundle.html#references: a reference is resolved against the ``fullUrl`` of the
entries; a relative reference ``Type/id`` is resolved against the base of the referring
entry's ``fullUrl`` (and, when that fails, against any entry with that type and id).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

TYPED_TAIL = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?$")


def type_of_reference(reference: str) -> str | None:
    """The resource type a literal reference names (``Patient/1``, ``http://x/Patient/1``)."""
    if reference.startswith(("urn:", "#")):
        return None
    match = TYPED_TAIL.search(reference)
    return match.group(1) if match else None


@dataclass
class BundleIndex:
    """Where the resources of a Bundle (or of a Parameters resource) are, by fullUrl and by
    type and id; every match is kept, so that an ambiguous reference can be told apart."""

    bundle_type: str | None
    by_full_url: dict[str, list[tuple[dict[str, Any], str]]] = field(default_factory=dict)
    by_type_id: dict[tuple[str, str], list[tuple[dict[str, Any], str]]] = field(default_factory=dict)

    @classmethod
    def build(cls, bundle: dict[str, Any], path: str) -> BundleIndex:
        index = cls(bundle.get("type") if isinstance(bundle.get("type"), str) else None)
        entries = bundle.get("entry")
        if not isinstance(entries, list):
            return index
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                continue
            resource = entry.get("resource")
            if isinstance(resource, dict):
                index._add(resource, f"{path}.entry[{i}].resource", entry.get("fullUrl"))
        return index

    @classmethod
    def build_parameters(cls, parameters: dict[str, Any], path: str) -> BundleIndex:
        """A Parameters resource: its parameter (and part) resources refer to each other by
        type and id, as the entries of a Bundle without fullUrls do."""
        index = cls("parameters")

        def walk(items: Any, where: str) -> None:
            for i, item in enumerate(items if isinstance(items, list) else ()):
                if not isinstance(item, dict):
                    continue
                if isinstance(item.get("resource"), dict):
                    index._add(item["resource"], f"{where}[{i}].resource", None)
                walk(item.get("part"), f"{where}[{i}].part")

        walk(parameters.get("parameter"), f"{path}.parameter")
        return index

    def _add(self, resource: dict[str, Any], where: str, full_url: Any) -> None:
        if isinstance(full_url, str):
            self.by_full_url.setdefault(full_url, []).append((resource, where))
        rtype, rid = resource.get("resourceType"), resource.get("id")
        if isinstance(rtype, str) and isinstance(rid, str):
            self.by_type_id.setdefault((rtype, rid), []).append((resource, where))

    def resolve(self, reference: str, from_full_url: str | None = None) -> tuple[dict[str, Any], str] | None:
        """The (resource, path) a reference points to inside the Bundle, or None."""
        found = self.candidates(reference, from_full_url)
        return found[0] if found else None

    def candidates(self, reference: str, from_full_url: str | None = None) -> list[tuple[dict[str, Any], str]]:
        """Every entry a reference matches (more than one: the reference is ambiguous).

        A versioned reference (``…/_history/2``) matches only an entry of that
        ``meta.versionId`` (or one that states no version)."""
        reference = reference.split("#", 1)[0] if not reference.startswith("#") else reference
        found = self.by_full_url.get(reference)
        if not found and "/_history/" in reference:
            found = self.by_full_url.get(reference.split("/_history/", 1)[0])
        if not found and "://" not in reference and not reference.startswith("urn:"):
            if from_full_url and "://" in from_full_url:
                match = TYPED_TAIL.search(from_full_url)
                if match:
                    base = from_full_url[: match.start(1)]
                    found = self.by_full_url.get(base + reference) or self.by_full_url.get(base + reference.split("/_history/", 1)[0])
            if not found:
                match = TYPED_TAIL.search(reference)
                if match:
                    found = self.by_type_id.get((match.group(1), match.group(2)))
        if not found:
            return []
        if "/_history/" in reference:
            version = reference.rsplit("/_history/", 1)[1]
            found = [f for f in found if _version_of(f[0]) in (None, version)]
        return found


def _version_of(resource: dict[str, Any]) -> str | None:
    meta = resource.get("meta")
    version = meta.get("versionId") if isinstance(meta, dict) else None
    return version if isinstance(version, str) else None
