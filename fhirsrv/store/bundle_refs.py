"""Reference rewriting for Bundles stored as a whole (transaction, document ingest).

Inside a transaction Bundle, resources point at each other by their entries' ``fullUrl``
(``urn:uuid:…``, ``urn:oid:…`` or an absolute URL) and at existing resources by a search
(a *conditional reference*, ``Patient?identifier=sys|val``). Before storing, every such
link is replaced by the ``Type/id`` the server chose (http.html#trules):

* ``reference`` values of any Reference, wherever it sits: nested elements, extensions,
  contained resources;
* ``url`` values equal to an entry's ``urn:uuid:``/``urn:oid:`` fullUrl (``Attachment.url``
  pointing at a Binary of the same Bundle — the spec asks for uri/url elements too; an
  ``http`` fullUrl is left alone there, being, for conformance resources, their canonical);
* ``href``/``src`` attributes of the narrative ``div`` that name an entry's fullUrl.

Relative references (``Patient/1``) are read against the base of the entry's own absolute
``fullUrl``, as Bundle.html "Resolving references in Bundles" says. A nested Bundle resource
(a document stored inside a transaction) is left untouched: its references are resolved in
its own context and it must be stored exactly as received.

The walk is pure: unchanged sub-trees are returned as the very same objects and only the
dicts/lists on the path to a change are copied, so the caller's parsed Bundle is never
mutated and an untouched resource costs one walk, no copy.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..errors import FhirError


class EntryError(FhirError):
    """An error whose ``expression`` already points into the Bundle (``Bundle.entry[3]…``),
    as opposed to one from a resource-level check that names the resource (``Patient.id``)."""


# Resolves a conditional reference ("Patient?identifier=x") to "Patient/<id>"; raises FhirError.
ConditionalResolver = Callable[[str, str, str], str]  # (rtype, query, expression) -> "Type/id"

# ``url`` elements are rewritten only for urn: fullUrls: a conformance resource's canonical
# ``url`` is often also its entry's fullUrl, and canonicals are never rewritten.
_URN_FULL_URLS = ("urn:uuid:", "urn:oid:")
_NARRATIVE_LINK = re.compile(r'(\b(?:href|src)\s*=\s*")([^"]+)(")')
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_RTYPE = re.compile(r"^[A-Z][A-Za-z]+$")


def fullurl_base(full_url: str | None) -> str | None:
    """``http://x/fhir`` for ``http://x/fhir/Patient/1`` (or its ``/_history/n``); else None."""
    if not full_url or full_url.startswith("urn:"):
        return None
    parts = full_url.split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) < 4 or not _RTYPE.match(parts[-2]):
        return None
    return "/".join(parts[:-2])


def conditional_target(reference: str) -> tuple[str, str] | None:
    """``("Patient", "identifier=x|y")`` for a conditional reference, else None."""
    head, sep, query = reference.partition("?")
    if not sep or "/" in head or not _RTYPE.match(head):
        return None
    return head, query


class ReferenceRewriter:
    """Rewrites links of the resources of one Bundle, given where each fullUrl now lives.

    ``targets`` maps a fullUrl to its new relative reference (``Patient/<id>``);
    ``resolve_conditional`` is called for each conditional reference met (the caller caches).
    """

    def __init__(
        self,
        targets: dict[str, str],
        resolve_conditional: ConditionalResolver | None = None,
    ) -> None:
        self.targets = targets
        self.resolve_conditional = resolve_conditional

    def rewrite(self, resource: dict[str, Any], full_url: str | None, expression: str) -> dict[str, Any]:
        """The resource with its links rewritten; ``expression`` names it in error messages
        (``Bundle.entry[3].resource``)."""
        self._base = fullurl_base(full_url)
        return self._walk_dict(resource, [expression])

    # -- the walk ----------------------------------------------------------------------------
    def _walk_dict(self, node: dict[str, Any], path: list[str]) -> dict[str, Any]:
        """``path`` holds the FHIRPath segments down to ``node``; only joined on an error."""
        if node.get("resourceType") == "Bundle":
            return node
        out: dict[str, Any] | None = None
        for key, value in node.items():
            new = value
            if isinstance(value, str):
                if key == "reference":
                    new = self._reference(value, path, key)
                elif key == "url" and value.startswith(_URN_FULL_URLS) and value in self.targets:
                    new = self.targets[value]
                elif key == "div" and self.targets and ("href" in value or "src" in value):
                    new = _NARRATIVE_LINK.sub(self._narrative_link, value)
            elif isinstance(value, dict):
                path.append(key)
                new = self._walk_dict(value, path)
                path.pop()
            elif isinstance(value, list):
                new = self._walk_list(key, value, path)
            if new is not value:
                if out is None:
                    out = dict(node)
                out[key] = new
        return node if out is None else out

    def _walk_list(self, key: str, items: list[Any], path: list[str]) -> list[Any]:
        changed: list[Any] | None = None
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            path.append(f"{key}[{i}]")
            new = self._walk_dict(item, path)
            path.pop()
            if new is not item:
                if changed is None:
                    changed = list(items)
                changed[i] = new
        return items if changed is None else changed

    def _narrative_link(self, match: re.Match[str]) -> str:
        target = self.targets.get(match.group(2))
        return match.group(0) if target is None else f"{match.group(1)}{target}{match.group(3)}"

    def _reference(self, value: str, path: list[str], key: str) -> str:
        if not value or value[0] == "#":
            return value
        hit = self.targets.get(value)
        if hit is not None:
            return hit
        if _ABSOLUTE.match(value):
            unversioned, sep, _ = value.partition("/_history/")
            return self.targets.get(unversioned, value) if sep else value
        conditional = conditional_target(value)
        if conditional is not None:
            if self.resolve_conditional is None:
                return value
            return self.resolve_conditional(*conditional, ".".join([*path, key]))
        if self._base is not None:
            unversioned = value.partition("/_history/")[0]
            return self.targets.get(f"{self._base}/{unversioned}", value)
        return value


def check_conditional(rtype: str, query: str, ids: list[str], expression: str) -> str:
    """The one match of a conditional reference; 412 for none or several."""
    if len(ids) == 1:
        return f"{rtype}/{ids[0]}"
    found = "no" if not ids else str(len(ids))
    raise EntryError(
        f"the conditional reference {rtype}?{query} matched {found} {rtype} resources; it must match "
        "exactly one (make the criteria more selective, or create the target first)",
        status=412,
        code="not-found" if not ids else "multiple-matches",
        expression=expression,
    )
