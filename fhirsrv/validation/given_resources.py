"""Resources given alongside the one being validated, found by canonical URL.

``fhirsrv validate questionnaire.json response.json`` checks the response against the
Questionnaire in the other file: every file's resources (a Bundle's entries too) are offered
to each validation the way the server offers the resources users stored.
"""

from __future__ import annotations

from typing import Any

from fhirsrv.conformance.registry import version_key


class GivenResources:
    """Implements :class:`fhirsrv.terminology.content.StoredResources` over a list of resources."""

    def __init__(self, resources: list[Any]) -> None:
        self.resources: list[dict[str, Any]] = []
        for resource in resources:
            self._add(resource)

    def _add(self, resource: Any) -> None:
        if not isinstance(resource, dict):
            return
        self.resources.append(resource)
        if resource.get("resourceType") == "Bundle":
            entries = resource.get("entry")
            for entry in entries if isinstance(entries, list) else ():
                if isinstance(entry, dict):
                    self._add(entry.get("resource"))

    def find(self, rtype: str, url: str, version: str | None) -> dict[str, Any] | None:
        candidates = [
            r for r in self.resources
            if r.get("resourceType") == rtype and r.get("url") == url
            and (version is None or str(r.get("version") or "") == version or str(r.get("version") or "").startswith(version + "."))
        ]
        return max(candidates, key=lambda r: version_key(str(r.get("version") or "")), default=None)

    def all_of_type(self, rtype: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r.get("resourceType") == rtype]
