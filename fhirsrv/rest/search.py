"""search-type (``GET [type]``, ``POST [type]/_search``) and search-system (``GET [base]?_type=``).

The engine (``fhirsrv.store.search``) parses and runs the search; this module reads the
parameters from the URL (and the form body of ``_search``), honours
``Prefer: handling=lenient`` (unknown parameters become a warning in an OperationOutcome
entry instead of a 400), and builds the searchset Bundle around the stored bodies without
re-parsing them (unless ``_summary``/``_elements`` ask for a reduced body).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

from flask import Response, request

from .. import fhirjson, security
from ..errors import FhirError
from ..store.search import Match, SearchError, SearchRequest, SearchResult, execute
from .bundle_builder import bundle, raw
from .checks import known_type
from .elements import shape_resource
from .http import base_url, check_accept, fhir_response, prefer, services

FORM_MIME = "application/x-www-form-urlencoded"


def search_type(rtype: str) -> Response:
    known_type(rtype)
    return _search(rtype, f"/{rtype}")


def search_system() -> Response:
    return _search(None, "")


def _request_params() -> list[tuple[str, str]]:
    params = list(request.args.items(multi=True))
    if request.method == "POST":
        mime = (request.mimetype or "").lower()
        if mime and mime != FORM_MIME:
            raise FhirError(f"POST _search takes a form ({FORM_MIME}), not {request.content_type}",
                            status=415, code="not-supported")
        params.extend(request.form.items(multi=True))
    return params


def _search(rtype: str | None, path: str) -> Response:
    check_accept()
    svc = services()
    lenient = prefer("handling") == "lenient"
    base = base_url()
    search = SearchRequest.parse(rtype, _request_params(), svc.model, lenient, base, _TerminologyCodeSets())
    caller = security.current()
    with _read_only_connection() as conn, conn.cursor() as cur:
        result = execute(conn, search, page_size=svc.settings.default_page_size,
                         max_page_size=svc.settings.max_page_size, restrict=security.restrict_sql(caller, "r.patient_id"))
        result.matches = security.filter_visible(caller, result.matches, cur)
        result.includes = security.filter_visible(caller, result.includes, cur)
    if not security.exact_in_sql(caller):
        result.total = None  # it would count what this caller may not see
    entries = [_entry(base, m, "match", search) for m in result.matches]
    entries += [_entry(base, m, "include", search) for m in result.includes]
    if result.ignored:
        entries.append(_ignored_outcome(result))
    return fhir_response(bundle("searchset", entries, total=result.total, links=_links(base + path, search, result)))


@contextmanager
def _read_only_connection() -> Iterator[Any]:
    """A pooled connection in autocommit for the duration of a search.

    A search only reads, and each of its statements (page, count, includes) is consistent
    on its own; without an explicit transaction the page costs one round trip instead of
    three (BEGIN, SELECT, COMMIT) — measured: the BEGIN/COMMIT pair was half the time of a
    ``Observation?patient=`` request.
    """
    with services().pool.connection() as conn:
        conn.autocommit = True
        try:
            yield conn
        finally:
            conn.autocommit = False


class _TerminologyCodeSets:
    """:in / :not-in and token :below / :above answered by the terminology service (shipped
    content and what users stored); a set it cannot list in full is a 400, never a guess."""

    def valueset(self, url: str) -> list[tuple[str, str]]:
        expansion = services().terminology.session().expansion(url)
        if expansion is None:
            raise SearchError(f"the value set {url} is not known to this server")
        if not expansion.complete:
            why = expansion.reason_open(None) or next(iter(expansion.doubtful.values()), "")
            raise SearchError(f"the value set {url} cannot be listed in full ({why}); search by codes instead")
        return [(m.system, m.code) for m in expansion.listing()]

    def related(self, system: str, code: str, direction: str) -> list[tuple[str, str]]:
        codesystem = services().terminology.session().codesystem(system)
        if codesystem is None:
            raise SearchError(f"the code system {system} is not known to this server, so :{direction} cannot be evaluated")
        if not codesystem.complete:
            raise SearchError(f"the code system {system} is only partly known to this server, "
                              f"so :{direction} cannot list every code; search by codes instead")
        if codesystem.get(code) is None:
            raise SearchError(f"{code} is not a code of {system}")
        related = codesystem.descendants(code) if direction == "below" else codesystem.ancestors(code)
        return [(system, c) for c in sorted({code, *related})]


def _entry(base: str, match: Match, mode: str, search: SearchRequest) -> dict[str, Any]:
    if search.elements or search.summary in {"true", "text", "data"}:
        # _elements applies to matches only (search.html); includes go out whole
        elements = search.elements if mode == "match" else None
        resource: Any = shape_resource(fhirjson.loads(match.body), search.summary, elements)
    else:
        resource = raw(match.body)
    return {"fullUrl": f"{base}/{match.rtype}/{match.id}", "resource": resource, "search": {"mode": mode}}


def _ignored_outcome(result: SearchResult) -> dict[str, Any]:
    issues = [
        {"severity": "warning", "code": "not-supported", "diagnostics": f"{why}; the parameter was ignored",
         "expression": [name]}
        for name, why in result.ignored
    ]
    return {"resource": {"resourceType": "OperationOutcome", "issue": issues}, "search": {"mode": "outcome"}}


def _links(url: str, search: SearchRequest, result: SearchResult) -> list[tuple[str, str]]:
    kept = [(k, v) for k, v in search.params if k not in {"_count"}]
    count = [("_count", str(result.page_size))]

    def link(page: str | None) -> str:
        query = kept + count + ([("_page", page)] if page else [])
        return f"{url}?{urlencode(query)}"

    own = f"{search.offset}.{search.snapshot}" if search.snapshot is not None else (str(search.offset) if search.offset else None)
    links = [("self", link(own))]
    if result.prev_page is not None:
        links.append(("previous", link(result.prev_page)))
    if result.next_page is not None:
        links.append(("next", link(result.next_page)))
    return links
