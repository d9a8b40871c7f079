"""Bundle rules of FHIR R4 that its StructureDefinition cannot express (bundle.html).

* ``entry.fullUrl`` is absolute (a URL or ``urn:uuid:``/``urn:oid:``): "fullUrl SHALL NOT
  disagree with the id in the resource" and relative fullUrls resolve against nothing;
* a RESTful ``fullUrl`` (``…/Patient/123``) ends with the entry's type and id;
* a link ``relation`` occurs once (``self``, ``next`` … each name one URL);
* in a ``searchset``: a ``match`` entry has an id and is of a type the search (its ``self``
  link) asks for; an ``outcome`` entry is an OperationOutcome.

Run once per Bundle in the base walk (one dict lookup per resource selects it).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from .outcome import Issue
from .references import TYPED_TAIL

if TYPE_CHECKING:
    from .context import Run


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


def _absolute(url: str) -> bool:
    """RFC 3986: an absolute URI starts with a scheme (``http:``, ``urn:`` …)."""
    return _SCHEME.match(url) is not None


def _searched_types(run: Run, self_url: str) -> list[str]:
    """The resource types a search link asks for: ``[base]/Type?…`` or ``?_type=A,B``."""
    parts = urlsplit(self_url)
    segments = [s for s in parts.path.split("/") if s and s != "_search"]
    if segments and segments[-1] in run.defs.resource_types:
        return [segments[-1]]
    types = parse_qs(parts.query).get("_type") or []
    return [t for value in types for t in value.split(",") if t in run.defs.resource_types]


def check_bundle(run: Run, bundle: dict[str, Any], path: str, out: list[Issue]) -> None:
    links = bundle.get("link")
    seen: set[str] = set()
    self_url: str | None = None
    for i, link in enumerate(links if isinstance(links, list) else ()):
        relation = link.get("relation") if isinstance(link, dict) else None
        if not isinstance(relation, str):
            continue
        if relation in seen:
            out.append(Issue("error", "invariant", "bundle-link-repeated", f"{path}.link[{i}]: the link relation {relation!r} occurs more than once; each relation names one URL.", f"{path}.link[{i}]"))
        seen.add(relation)
        if relation == "self" and isinstance(link.get("url"), str):
            self_url = self_url or link["url"]
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        return
    searchset = bundle.get("type") == "searchset"
    searched = _searched_types(run, self_url) if searchset and self_url else []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        here = f"{path}.entry[{i}]"
        resource = entry.get("resource")
        resource = resource if isinstance(resource, dict) else None
        full_url = entry.get("fullUrl")
        if isinstance(full_url, str) and full_url:
            _check_full_url(full_url, resource, here, out)
        if searchset and resource is not None:
            _check_search_entry(entry, resource, searched, here, out)


def _check_full_url(full_url: str, resource: dict[str, Any] | None, here: str, out: list[Issue]) -> None:
    if not _absolute(full_url):
        out.append(Issue("error", "invalid", "bundle-fullurl-relative", f"{here}.fullUrl {full_url!r} is not absolute; a fullUrl is an absolute URI (a URL, or urn:uuid:/urn:oid:), never relative like 'Patient/1'.", f"{here}.fullUrl"))
        return
    if resource is None or "://" not in full_url:
        return
    rtype, rid = resource.get("resourceType"), resource.get("id")
    match = TYPED_TAIL.search(full_url.split("?", 1)[0])
    if match is None or not isinstance(rid, str) or "/_history/" in full_url:
        return
    if (match.group(1), match.group(2)) != (rtype, rid):
        out.append(Issue("error", "invalid", "bundle-fullurl-mismatch", f"{here}.fullUrl {full_url!r} looks like a RESTful server URL, so it must end with the entry's type and id (/{rtype}/{rid}).", f"{here}.fullUrl"))


def _check_search_entry(entry: dict[str, Any], resource: dict[str, Any], searched: list[str], here: str, out: list[Issue]) -> None:
    search = entry.get("search")
    mode = search.get("mode") if isinstance(search, dict) else None
    rtype = resource.get("resourceType")
    if mode == "outcome" and rtype != "OperationOutcome":
        out.append(Issue("error", "invalid", "bundle-search-outcome", f"{here}.resource is a {rtype}, but an entry with search.mode 'outcome' must be an OperationOutcome.", f"{here}.resource"))
    elif mode == "match":
        if not isinstance(resource.get("id"), str):
            out.append(Issue("error", "required", "bundle-search-id", f"{here}.resource has no id; search results must have ids.", f"{here}.resource"))
        if searched and rtype not in searched:
            out.append(Issue("error", "invalid", "bundle-search-type", f"{here}.resource is a {rtype}, which the search in the self link does not ask for ({', '.join(searched)}).", f"{here}.resource"))

