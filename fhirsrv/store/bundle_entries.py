"""Reading the entries of a batch or transaction Bundle into requests, before any database work.

Everything that can be known from the Bundle alone is checked here — the Bundle's type,
each entry's ``request`` (method, url, ifMatch, ifNoneExist), the resource against the URL,
unique ``fullUrl``s — so that a malformed Bundle is refused with a 400 that names the entry
(``Bundle.entry[2].request.method``) and the database is never touched for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ..errors import FhirError
from .bundle_refs import EntryError

BUNDLE_TYPES = ("batch", "transaction")
# http.html#trules: DELETE, then POST, then PUT/PATCH, then GET/HEAD.
PROCESSING_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "GET": 3, "HEAD": 3}
METHODS = tuple(PROCESSING_ORDER)


@dataclass
class EntryRequest:
    """One entry of the Bundle, as a request the processor can run."""

    index: int
    method: str
    url: str  # request.url as sent, for messages
    rtype: str
    rid: str | None = None
    vid: int | None = None
    query: str | None = None  # search / conditional criteria (without '?'), None when absent
    full_url: str | None = None
    resource: dict[str, Any] | None = None
    if_none_exist: str | None = None
    if_match: int | None = None

    @property
    def at(self) -> str:
        return f"Bundle.entry[{self.index}]"

    @property
    def label(self) -> str:
        return f"entry {self.index} ({self.method} {self.url})"


def check_bundle(bundle: Any) -> list[Any]:
    """The entries of a batch/transaction Bundle; 400 for anything else."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        found = bundle.get("resourceType") if isinstance(bundle, dict) else type(bundle).__name__
        raise FhirError(
            f"POST to the base expects a Bundle of type batch or transaction, got {found!r}; "
            "to store a single resource, POST it to [base]/[type]",
            code="invalid",
            expression="Bundle",
        )
    btype = bundle.get("type")
    if btype not in BUNDLE_TYPES:
        hint = " (to store it as a resource, POST it to [base]/Bundle)" if isinstance(btype, str) else ""
        raise FhirError(
            f"Bundle.type is {btype!r}: only 'batch' and 'transaction' can be processed{hint}",
            code="invalid",
            expression="Bundle.type",
        )
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise FhirError("Bundle.entry must be an array", code="structure", expression="Bundle.entry")
    _check_unique_full_urls(entries)
    return entries


def _check_unique_full_urls(entries: list[Any]) -> None:
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        full_url = entry.get("fullUrl") if isinstance(entry, dict) else None
        if not isinstance(full_url, str):
            continue
        if full_url in seen:
            raise FhirError(
                f"entries {seen[full_url]} and {i} have the same fullUrl {full_url!r}; "
                "every entry needs its own fullUrl (bdl-7)",
                code="invalid",
                expression=f"Bundle.entry[{i}].fullUrl",
            )
        seen[full_url] = i


def _fail(index: int, where: str, text: str, *, status: int = 400, code: str = "invalid") -> EntryError:
    return EntryError(f"entry {index}: {text}", status=status, code=code, expression=f"Bundle.entry[{index}]{where}")


def parse_entry(entry: Any, index: int, base: str, is_resource_type: Any) -> EntryRequest:
    """The entry as an :class:`EntryRequest`; :class:`EntryError` (400/404/422) when it is not one."""
    if not isinstance(entry, dict):
        raise _fail(index, "", "an entry must be a JSON object")
    request = entry.get("request")
    if not isinstance(request, dict):
        raise _fail(index, "", "has no request: each entry of a batch or transaction needs "
                    "request.method and request.url", code="required")
    method = request.get("method")
    if method not in METHODS:
        supported = ", ".join(METHODS)
        text = "PATCH is not supported by this server" if method == "PATCH" else f"request.method {method!r} is not valid"
        raise _fail(index, ".request.method", f"{text}; use one of {supported}", code="not-supported")
    url = request.get("url")
    if not isinstance(url, str) or not url.strip():
        raise _fail(index, ".request.url", "request.url is missing", code="required")
    full_url = entry.get("fullUrl")
    if full_url is not None and not isinstance(full_url, str):
        raise _fail(index, ".fullUrl", "fullUrl must be a string")
    req = _parse_url(index, method, url, base, is_resource_type)
    req.full_url = full_url
    req.if_none_exist = _condition(request.get("ifNoneExist"), index, "ifNoneExist")
    req.if_match = _if_match(request.get("ifMatch"), index)
    resource = entry.get("resource")
    if method in {"POST", "PUT"}:
        req.resource = _check_resource(resource, req)
    elif resource is not None and method == "DELETE":
        raise _fail(index, ".resource", "a DELETE entry must not carry a resource")
    return req


def _parse_url(index: int, method: str, url: str, base: str, is_resource_type: Any) -> EntryRequest:
    relative = url.strip()
    if relative.startswith(base + "/"):
        relative = relative[len(base) + 1 :]
    elif "://" in relative.partition("?")[0]:
        raise _fail(index, ".request.url", f"{url!r} is not on this server ({base}); use a URL relative to the base")
    path, sep, query = relative.lstrip("/").partition("?")
    parts = path.split("/")
    rtype = parts[0]
    if not is_resource_type(rtype):
        raise _fail(index, ".request.url", f"{rtype!r} is not a FHIR R4 resource type", status=404, code="not-supported")
    req = EntryRequest(index, method, url, rtype, query=query if sep else None)
    if len(parts) == 2 and parts[1] and not parts[1].startswith(("_", "$")):
        req.rid = parts[1]
    elif len(parts) == 4 and parts[2] == "_history" and parts[3].isascii() and parts[3].isdigit() and method in {"GET", "HEAD"}:
        req.rid, req.vid = parts[1], int(parts[3])
    elif len(parts) != 1:
        raise _fail(index, ".request.url", f"{url!r} is not an interaction this server runs inside a Bundle "
                    "(read, vread, search, create, update, delete); send it as its own request",
                    code="not-supported")
    if method == "POST" and (req.rid is not None or req.query is not None):
        raise _fail(index, ".request.url", f"a POST entry's url must be the resource type ({rtype}), got {url!r}; "
                    "put conditional-create criteria in request.ifNoneExist")
    if method in {"PUT", "DELETE"} and req.rid is None and not req.query:
        raise _fail(index, ".request.url", f"{method} needs {rtype}/[id] or {rtype}?[criteria], got {url!r}")
    if req.rid is not None and req.query and method != "GET":
        raise _fail(index, ".request.url", f"{url!r} has both an id and search criteria")
    return req


def _condition(value: Any, index: int, name: str) -> str | None:
    """The criteria of ifNoneExist (``identifier=x|y``; a leading ``?`` or ``Type?`` is dropped)."""
    if value is None:
        return None
    query = value.partition("?")[2] if isinstance(value, str) and "?" in value else value
    if not isinstance(query, str) or not parse_qsl(query):
        raise _fail(index, f".request.{name}", f"request.{name} must be search criteria like "
                    f"'identifier=system|value', got {value!r}")
    return query


def _if_match(value: Any, index: int) -> int | None:
    if value is None:
        return None
    raw = value.strip() if isinstance(value, str) else ""
    raw = raw[2:] if raw.startswith("W/") else raw
    raw = raw.strip('"')
    if not (raw.isascii() and raw.isdigit()):
        raise _fail(index, ".request.ifMatch", f'request.ifMatch must be a version ETag like W/"3", got {value!r}')
    return int(raw)


def _check_resource(resource: Any, req: EntryRequest) -> dict[str, Any]:
    if not isinstance(resource, dict):
        raise _fail(req.index, "", f"a {req.method} entry needs a resource", code="required")
    found = resource.get("resourceType")
    if found != req.rtype:
        raise _fail(req.index, ".resource.resourceType", f"the resource is a {found} but request.url is for "
                    f"{req.rtype}", status=422)
    if req.method == "PUT" and req.rid is not None:
        body_id = resource.get("id")
        if body_id is None:
            raise _fail(req.index, ".resource.id", f"an update of {req.rtype}/{req.rid} must carry "
                        f"\"id\": \"{req.rid}\"", code="required")
        if body_id != req.rid:
            raise _fail(req.index, ".resource.id", f"the resource's id {body_id!r} does not match "
                        f"request.url's id {req.rid!r}", status=422)
    return resource


def condition_key(rtype: str, query: str) -> str:
    """A canonical text for search criteria, so equal conditions written differently match."""
    return f"{rtype}?{urlencode(sorted(parse_qsl(query, keep_blank_values=True)))}"
