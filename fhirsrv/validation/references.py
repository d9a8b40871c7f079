"""References inside a Bundle: resolving ``fullUrl``s (absolute, relative, ``urn:uuid:``).

FHIR R4 bundle.html#references: a reference is resolved against the ``fullUrl`` of the
entries; a relative reference ``Type/id`` is resolved against the base of the referring
entry's ``fullUrl`` (and, when that fails, against any entry with that type and id).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_TYPED_TAIL = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?$")


def type_of_reference(reference: str) -> str | None:
    """The resource type a literal reference names (``Patient/1``, ``http://x/Patient/1``)."""
    if reference.startswith(("urn:", "#")):
        return None
    match = _TYPED_TAIL.search(reference)
    return match.group(1) if match else None


@dataclass
class BundleIndex:
    bundle_type: str | None
    by_full_url: dict[str, tuple[dict[str, Any], str]] = field(default_factory=dict)
    by_type_id: dict[tuple[str, str], tuple[dict[str, Any], str]] = field(default_factory=dict)

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
            if not isinstance(resource, dict):
                continue
            where = f"{path}.entry[{i}].resource"
            full_url = entry.get("fullUrl")
            if isinstance(full_url, str):
                index.by_full_url.setdefault(full_url, (resource, where))
            rtype, rid = resource.get("resourceType"), resource.get("id")
            if isinstance(rtype, str) and isinstance(rid, str):
                index.by_type_id.setdefault((rtype, rid), (resource, where))
        return index

    def resolve(self, reference: str, from_full_url: str | None = None) -> tuple[dict[str, Any], str] | None:
        """The (resource, path) a reference points to inside the Bundle, or None."""
        reference = reference.split("#", 1)[0] if not reference.startswith("#") else reference
        found = self.by_full_url.get(reference)
        if found is not None:
            return found
        if "://" not in reference and not reference.startswith("urn:"):
            if from_full_url and "://" in from_full_url:
                match = _TYPED_TAIL.search(from_full_url)
                if match:
                    base = from_full_url[: match.start(1)]
                    found = self.by_full_url.get(base + reference)
                    if found is not None:
                        return found
            match = _TYPED_TAIL.search(reference)
            if match:
                return self.by_type_id.get((match.group(1), match.group(2)))
        return None
