"""Turn what a file holds into requests that are safe to send twice.

Loading the same files again must not duplicate anything. FHIR gives two tools for that:
``PUT [type]/[id]`` (the resource keeps the id it was written with) and conditional create
(``If-None-Exist``). Synthea's patient Bundles are transactions of plain ``POST`` entries
whose resources carry ids equal to their ``urn:uuid`` fullUrls; sent as they are, a second
run would create every resource again. So an entry that POSTs a resource with an id becomes
a PUT of that id, and the references to its ``urn:uuid`` fullUrl become ``Type/id``. Entries
that are PUTs, DELETEs or id-less conditional creates are left alone. A resource without an
id can only be created, which is not idempotent: the plan counts them so that the summary can
say so.

Synthea's patients also refer to the shared hospitals and practitioners by conditional
reference (``Practitioner?identifier=…|…``). :class:`Identifiers` remembers the identifiers
of every resource this run stores with an id, and such a reference to one of them is
written as ``Type/id`` — what the server's transaction would resolve it to — so the load
does not depend on the server resolving conditional references.

The unit of work keeps the file's meaning: a transaction stays one all-or-nothing
transaction; a batch, a collection or an NDJSON file becomes batches of ``batch_size``
entries; a document is stored as one Bundle resource.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .sources import Source


@dataclass
class Request:
    method: str
    url: str  # relative to the FHIR base: "Patient/1", "Bundle", ""
    resource: dict[str, Any] | None = None
    if_none_exist: str | None = None

    def entry(self, full_url: str | None = None) -> dict[str, Any]:
        """This request as a transaction/batch entry."""
        entry: dict[str, Any] = {}
        if full_url:
            entry["fullUrl"] = full_url
        if self.resource is not None:
            entry["resource"] = self.resource
        request: dict[str, Any] = {"method": self.method, "url": self.url}
        if self.if_none_exist:
            request["ifNoneExist"] = self.if_none_exist
        entry["request"] = request
        return entry


@dataclass
class Unit:
    """One exchange with the server: a transaction, a batch, or a single request."""

    kind: str  # transaction | batch | single
    requests: list[Request]
    full_urls: list[str | None] = field(default_factory=list)
    not_idempotent: int = 0  # creates of resources without id (a second run duplicates them)

    @property
    def size(self) -> int:
        return len(self.requests)

    def bundle(self) -> dict[str, Any]:
        urls = self.full_urls or [None] * len(self.requests)
        return {"resourceType": "Bundle", "type": self.kind,
                "entry": [r.entry(u) for r, u in zip(self.requests, urls, strict=True)]}


def _identifier_query(resource: dict[str, Any]) -> str | None:
    """``identifier=system|value`` of the first complete identifier, for a conditional create."""
    identifiers = resource.get("identifier")
    if isinstance(identifiers, dict):  # Bundle.identifier is a single Identifier
        identifiers = [identifiers]
    for ident in identifiers or []:
        if isinstance(ident, dict) and ident.get("system") and ident.get("value"):
            return f"identifier={ident['system']}|{ident['value']}"
    return None


def store_request(resource: dict[str, Any]) -> tuple[Request, bool]:
    """How to store one resource idempotently; the flag is False when that is impossible."""
    rtype = resource["resourceType"]
    rid = resource.get("id")
    if isinstance(rid, str) and rid:
        return Request("PUT", f"{rtype}/{rid}", resource), True
    condition = _identifier_query(resource)
    if condition:
        return Request("POST", rtype, resource, if_none_exist=condition), True
    return Request("POST", rtype, resource), False


class Identifiers:
    """``Type?identifier=system|value`` -> ``Type/id`` for the resources stored with an id."""

    def __init__(self) -> None:
        self.known: dict[str, str] = {}

    def learn(self, request: Request) -> None:
        resource = request.resource
        if request.method != "PUT" or not isinstance(resource, dict):
            return
        for ident in resource.get("identifier") or []:
            if isinstance(ident, dict) and ident.get("system") and ident.get("value"):
                key = f"{resource['resourceType']}?identifier={ident['system']}|{ident['value']}"
                self.known.setdefault(key, request.url)


def _rewrite_references(node: Any, *mappings: dict[str, str]) -> None:
    """Replace ``reference`` values found in one of ``mappings``, in place."""
    if isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str):
            for mapping in mappings:
                if ref in mapping:
                    node["reference"] = mapping[ref]
                    break
        for value in node.values():
            if isinstance(value, dict | list):
                _rewrite_references(value, *mappings)
    elif isinstance(node, list):
        for value in node:
            if isinstance(value, dict | list):
                _rewrite_references(value, *mappings)


def transaction_unit(bundle: dict[str, Any], kind: str, identifiers: Identifiers) -> Unit:
    """A transaction or batch Bundle, with its id-carrying POSTs turned into PUTs."""
    # the Bundle was parsed for this plan alone, so its entries are rewritten in place
    entries = [e for e in bundle.get("entry") or [] if isinstance(e, dict)]
    mapping: dict[str, str] = {}
    requests: list[Request] = []
    full_urls: list[str | None] = []
    not_idempotent = 0
    for entry in entries:
        resource = entry.get("resource")
        req = entry.get("request") or {}
        method = str(req.get("method", "POST")).upper()
        full_url = entry.get("fullUrl")
        has_id = isinstance(resource, dict) and isinstance(resource.get("id"), str)
        if method == "POST" and isinstance(resource, dict) and (has_id or not req.get("ifNoneExist")):
            request, idempotent = store_request(resource)
            not_idempotent += not idempotent
            if request.method == "PUT" and isinstance(full_url, str) and full_url.startswith("urn:"):
                mapping[full_url] = request.url
                full_url = None  # the entry is now addressed by its id
        else:
            request = Request(method, str(req.get("url", "")), resource, req.get("ifNoneExist"))
        requests.append(request)
        full_urls.append(full_url)
    for request in requests:
        identifiers.learn(request)
    for request in requests:
        _rewrite_references(request.resource, mapping, identifiers.known)
    return Unit(kind, requests, full_urls, not_idempotent)


def _single(resource: dict[str, Any], identifiers: Identifiers) -> Unit:
    request, idempotent = store_request(resource)
    identifiers.learn(request)
    _rewrite_references(request.resource, identifiers.known)
    return Unit("single", [request], [], int(not idempotent))


def _chunks(resources: list[dict[str, Any]], size: int, identifiers: Identifiers) -> Iterator[Unit]:
    for start in range(0, len(resources), size):
        units = [_single(r, identifiers) for r in resources[start:start + size]]
        yield Unit("batch", [u.requests[0] for u in units], [], sum(u.not_idempotent for u in units))


def plan(source: Source, identifiers: Identifiers, batch_size: int = 200) -> Iterator[Unit]:
    """The units that store everything a file holds (raises SourceError for unreadable files)."""
    resources = source.resources()
    loose: list[dict[str, Any]] = []
    for resource in resources:
        if resource["resourceType"] != "Bundle":
            loose.append(resource)
            continue
        btype = resource.get("type")
        if btype == "transaction":
            yield transaction_unit(resource, "transaction", identifiers)
        elif btype == "batch":
            unit = transaction_unit(resource, "batch", identifiers)
            for start in range(0, unit.size, batch_size):
                yield Unit("batch", unit.requests[start:start + batch_size],
                           unit.full_urls[start:start + batch_size],
                           unit.not_idempotent if start == 0 else 0)
        elif btype == "document":
            yield _single(resource, identifiers)
        else:  # collection, searchset, history: the resources they carry
            loose.extend(e["resource"] for e in resource.get("entry") or []
                         if isinstance(e, dict) and isinstance(e.get("resource"), dict))
    if len(loose) == 1 and not source.ndjson:
        yield _single(loose[0], identifiers)
    elif loose:
        yield from _chunks(loose, batch_size, identifiers)
