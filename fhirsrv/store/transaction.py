"""The batch/transaction processor: a parsed Bundle and a cursor in, a response Bundle out.

It knows nothing of HTTP: ``POST [base]`` (:mod:`fhirsrv.rest.bundle`) uses it, and so can
any caller holding a cursor. Everything runs in the caller's database transaction; the
caller commits. A document Bundle posted as an entry is handed to document ingest through
:attr:`BundleContext.ingest_document` (stored as received and decomposed, issue 4).

* **transaction** — all or nothing (http.html#transaction). Every entry is read and
  validated first; then, in the spec's order, DELETEs run, POSTs and PUTs get their
  identities (conditional create/update searches, fresh ids for creates), overlapping
  identities are refused, each resource's links are rewritten (fullUrl and conditional
  references, :mod:`.bundle_refs`) and it is stored, and finally the GETs run (they see the
  transaction's writes). The first failing entry raises a :class:`FhirError` whose
  OperationOutcome points into the Bundle (``Bundle.entry[3].resource.subject.reference``);
  the caller rolls back.
* **batch** — each entry is a one-entry transaction inside its own savepoint; a failure
  becomes that entry's ``response.outcome`` and the others stand. Entries of a batch may not
  depend on each other (http.html#brules), so a batch entry's ``urn:uuid:`` link to another
  entry is stored as sent.

Known limits: conditional references and the criteria of conditional updates are searched
over what is stored before the Bundle's own creates are written, so they cannot designate a
resource created by the same Bundle (point at that entry's fullUrl instead, which is what
fullUrls are for). PATCH is not supported (the server has no PATCH).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

import orjson
import psycopg
from psycopg import Cursor

from ..conformance.r4 import R4Model
from ..errors import Conflict, FhirError, PreconditionFailed, operation_outcome
from .bundle_entries import PROCESSING_ORDER, EntryRequest, check_bundle, condition_key, parse_entry
from .bundle_refs import EntryError, ReferenceRewriter, check_conditional
from .condition_locks import lock_conditions
from .repository import IndexBatch, ResourceStore, Stored, format_instant, new_id, now

_log = logging.getLogger("fhirsrv.transaction")
# (resource) -> None, raising FhirError (422) when the resource may not be stored.
Validate = Callable[[dict[str, Any]], None]
# (cursor, document Bundle) -> (the stored Bundle, created?): document ingest (issue 4), which
# validates against the document's profile, stores it as received and decomposes it.
IngestDocument = Callable[[Cursor, dict[str, Any]], tuple[Stored, bool]]
PREFER_RETURN = ("minimal", "representation", "operationoutcome")

@dataclass
class BundleContext:
    """What the processor needs from the server, passed in so it stays free of Flask."""

    store: ResourceStore
    model: R4Model
    base: str  # absolute base URL, for Location and fullUrl
    validate: Validate | None = None
    prefer_return: str = "representation"
    max_search_results: int = 1000  # the largest _count a GET search entry may ask for
    ingest_document: IngestDocument | None = None  # POST of a document Bundle goes through it

    def is_document(self, request: EntryRequest) -> bool:
        return (self.ingest_document is not None and request.method == "POST" and request.rtype == "Bundle"
                and request.resource is not None and request.resource.get("type") == "document")

    def find_ids(self, cur: Cursor, rtype: str, query: str) -> list[str]:
        """Ids of current resources matching FHIR search criteria (the search engine)."""
        from .search import find_ids  # imported late: the search engine is heavy to load

        return find_ids(cur, self.model, rtype, parse_qsl(query, keep_blank_values=True))


@dataclass
class EntryResult:
    """The outcome of one entry, kept for callers (document ingest wants the new ids)."""

    status: int
    stored: Stored | None = None
    resource: Any = None  # what goes in entry.resource (a GET's answer), raw JSON text or dict
    outcome: dict[str, Any] | None = None
    read: bool = False  # a GET/HEAD: its answer is ``resource``, whatever Prefer says


@dataclass
class BundleResult:
    bundle: dict[str, Any]  # the batch-response / transaction-response
    results: list[EntryResult] = field(default_factory=list)


def process_bundle(cur: Cursor, bundle: Any, ctx: BundleContext) -> BundleResult:
    """Run a batch or transaction Bundle; raises FhirError for a failed transaction."""
    entries = check_bundle(bundle)
    if bundle["type"] == "transaction":
        return _respond("transaction-response", _transaction(cur, entries, ctx), ctx)
    return _respond("batch-response", _batch(cur, entries, ctx), ctx)


# -- transaction and batch --------------------------------------------------------------------
def _transaction(cur: Cursor, entries: list[Any], ctx: BundleContext) -> list[EntryResult]:
    requests = [_prepare(entry, i, ctx) for i, entry in enumerate(entries)]
    return _Plan(cur, ctx, requests).run()


def _batch(cur: Cursor, entries: list[Any], ctx: BundleContext) -> list[EntryResult]:
    results: list[EntryResult] = []
    for i, entry in enumerate(entries):
        try:
            request = _prepare(entry, i, ctx)
            with cur.connection.transaction():
                results.extend(_Plan(cur, ctx, [request]).run())
        except FhirError as exc:
            results.append(EntryResult(exc.status, outcome=exc.outcome))
        except psycopg.errors.DeadlockDetected:
            results.append(EntryResult(409, outcome=_retry_outcome(i)))
        except psycopg.Error:
            # The savepoint is rolled back and the batch goes on; the entry gets a 500.
            _log.exception("batch entry %d failed in the database", i)
            results.append(EntryResult(500, outcome=operation_outcome([{
                "severity": "error", "code": "exception", "expression": [f"Bundle.entry[{i}]"],
                "diagnostics": f"entry {i} failed on an internal error; the incident was logged"}])))
    return results


def _retry_outcome(index: int) -> dict[str, Any]:
    return Conflict(
        f"entry {index} collided with a concurrent write to the same resources; retry it",
        code="transient",
        expression=f"Bundle.entry[{index}]",
    ).outcome


def _prepare(entry: Any, index: int, ctx: BundleContext) -> EntryRequest:
    """Parse and validate one entry (no database work)."""
    request = parse_entry(entry, index, ctx.base, ctx.model.is_resource_type)
    if request.resource is not None and ctx.validate is not None and not ctx.is_document(request):
        # (a document is validated against its own profile by document ingest)
        with _located(request):
            ctx.validate(request.resource)
    return request


class _located:
    """Re-raise a FhirError from a resource-level check with its expressions moved under the
    entry (``Patient.name`` -> ``Bundle.entry[3].resource.name``) and the entry named."""

    def __init__(self, request: EntryRequest) -> None:
        self.request = request

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: Any) -> bool:
        if isinstance(exc, FhirError) and not isinstance(exc, EntryError):
            raise _relocate(exc, self.request) from None
        return False


def _relocate(exc: FhirError, request: EntryRequest) -> EntryError:
    prefix = f"{request.at}.resource"
    issues = []
    for issue in exc.outcome.get("issue", []):
        moved = dict(issue)
        exprs = [_move(e, request.rtype, prefix) for e in issue.get("expression", [])]
        moved["expression"] = exprs or [request.at]
        if issue.get("severity") in {"error", "fatal"} and "diagnostics" in issue:
            moved["diagnostics"] = f"{request.label}: {issue['diagnostics']}"
        issues.append(moved)
    return EntryError(str(exc), status=exc.status, outcome=operation_outcome(issues), headers=exc.headers)


def _move(expression: str, rtype: str, prefix: str) -> str:
    if expression == rtype or expression.startswith((f"{rtype}.", f"{rtype}[")):
        return prefix + expression[len(rtype):]
    return f"{prefix}.{expression}"


# -- one plan: the entries of a transaction (or the single entry of a batch) ------------------
class _Plan:
    def __init__(self, cur: Cursor, ctx: BundleContext, requests: list[EntryRequest]) -> None:
        self.cur = cur
        self.ctx = ctx
        self.requests = requests
        self.moment: datetime = now()
        self.targets: dict[str, str] = {}  # fullUrl -> "Type/id"
        self.ids: dict[int, str] = {}  # entry index -> id it writes (or designates)
        self.fresh: set[int] = set()  # entries whose resource gets a new server id (stored by create)
        self.surrogates: dict[int, int] = {}  # entry index -> pre-allocated surrogate key of a create
        self.existing: dict[int, Stored] = {}  # entry index -> match of a conditional create
        self.twins: dict[int, int] = {}  # entry index -> earlier POST with the same ifNoneExist
        self.conditional_refs: dict[tuple[str, str], str] = {}
        self.results: dict[int, EntryResult] = {}
        # index rows of the writes, stored in one statement (before any search, and at the end)
        self.index_batch = IndexBatch()

    def run(self) -> list[EntryResult]:
        by_method: dict[int, list[EntryRequest]] = {}
        for request in self.requests:
            by_method.setdefault(PROCESSING_ORDER[request.method], []).append(request)
        deletes, posts, puts, gets = (by_method.get(k, []) for k in range(4))
        for request in deletes:
            with _located(request):
                self._delete(request)
        self._lock_conditions(posts)
        for request in posts:
            with _located(request):
                self._identify_post(request)
        for request in puts:
            with _located(request):
                self._identify_put(request)
        self._check_overlaps(deletes + posts + puts)
        rewriter = ReferenceRewriter(self.targets, self._resolve_conditional)
        if self.fresh:
            keys = self.ctx.store.allocate_surrogates(self.cur, len(self.fresh))
            self.surrogates = dict(zip(sorted(self.fresh), keys, strict=True))
        # Pipelined: creates read nothing back, so they go out without waiting for each answer.
        with self.cur.connection.pipeline():
            for request in posts + puts:
                with _located(request):
                    self._write(request, rewriter)
            self.ctx.store.write_index_batch(self.cur, self.index_batch)
        for request in gets:
            with _located(request):
                self._get(request)
        return [self.results[r.index] for r in self.requests]

    # identities ------------------------------------------------------------------------------
    def _lock_conditions(self, posts: list[EntryRequest]) -> None:
        """Serialise concurrent conditional creates with the same criteria (else both would
        find nothing and create twice): the locks REST ``If-None-Exist`` takes too."""
        lock_conditions(self.cur, [(r.rtype, r.if_none_exist) for r in posts if r.if_none_exist])

    def _identify_post(self, request: EntryRequest) -> None:
        if request.if_none_exist:
            twin = self._same_condition(request)
            if twin is not None:
                self.twins[request.index] = twin.index
                self._designate(request, self.ids[twin.index])
                return
            ids = self._find(request.rtype, request.if_none_exist, f"{request.at}.request.ifNoneExist")
            if len(ids) > 1:
                raise EntryError(
                    f"{request.label}: ifNoneExist {request.if_none_exist!r} matched {len(ids)} "
                    f"{request.rtype} resources; make the criteria selective enough to match one",
                    status=412, code="multiple-matches", expression=f"{request.at}.request.ifNoneExist",
                )
            if ids:
                self.existing[request.index] = self.ctx.store.read(self.cur, request.rtype, ids[0])
                self._designate(request, ids[0])
                return
        if self.ctx.is_document(request):
            self._ingest(request)
            return
        self._designate(request, new_id(), fresh=True)

    def _ingest(self, request: EntryRequest) -> None:
        """A document is stored at once, whole and decomposed, by document ingest: it refers
        to nothing outside itself, and other entries may point at it by its fullUrl."""
        assert self.ctx.ingest_document is not None and request.resource is not None
        stored, created = self.ctx.ingest_document(self.cur, request.resource)
        self.existing[request.index] = stored
        self.results[request.index] = EntryResult(201 if created else 200, stored=stored)
        self._designate(request, stored.id)

    def _same_condition(self, request: EntryRequest) -> EntryRequest | None:
        """An earlier POST of this Bundle with the same ifNoneExist: the same resource."""
        key = condition_key(request.rtype, request.if_none_exist or "")
        for other in self.requests:
            if other.index == request.index:
                return None
            if other.method == "POST" and other.if_none_exist and other.rtype == request.rtype \
                    and condition_key(other.rtype, other.if_none_exist) == key:
                return other
        return None

    def _identify_put(self, request: EntryRequest) -> None:
        if request.rid is not None:
            self._designate(request, request.rid)
            return
        assert request.query is not None and request.resource is not None
        ids = self._find(request.rtype, request.query, f"{request.at}.request.url")
        if len(ids) > 1:
            raise EntryError(
                f"{request.label}: the conditional update matched {len(ids)} {request.rtype} resources; "
                "make the criteria selective enough to match one",
                status=412, code="multiple-matches", expression=f"{request.at}.request.url",
            )
        body_id = request.resource.get("id")
        if ids and body_id is not None and body_id != ids[0]:
            raise EntryError(
                f"{request.label}: the resource's id {body_id!r} differs from the {request.rtype} the "
                f"criteria matched ({ids[0]})",
                code="invalid", expression=f"{request.at}.resource.id",
            )
        target = ids[0] if ids else body_id
        self._designate(request, target or new_id(), fresh=target is None)

    def _designate(self, request: EntryRequest, rid: str, *, fresh: bool = False) -> None:
        self.ids[request.index] = rid
        if fresh:
            self.fresh.add(request.index)
        if request.full_url:
            self.targets[request.full_url] = f"{request.rtype}/{rid}"

    def _check_overlaps(self, writes: list[EntryRequest]) -> None:
        """http.html#trules: the same resource may not be written twice in one transaction."""
        seen: dict[tuple[str, str], int] = {}
        for request in writes:
            if request.index in self.existing or request.index in self.twins or request.index not in self.ids:
                continue  # a conditional create that matched, a delete that matched nothing: no write
            key = (request.rtype, self.ids[request.index])
            if key in seen:
                raise EntryError(
                    f"entries {seen[key]} and {request.index} both change {key[0]}/{key[1]}; "
                    "a transaction may touch each resource once",
                    code="invalid", expression=f"{request.at}.request.url",
                )
            seen[key] = request.index

    def _find(self, rtype: str, query: str, expression: str) -> list[str]:
        """The search engine's matches; its complaints (unknown parameter …) point at the
        criteria in the Bundle (``Bundle.entry[2].request.ifNoneExist``)."""
        self.ctx.store.write_index_batch(self.cur, self.index_batch)  # the search sees earlier entries
        try:
            return self.ctx.find_ids(self.cur, rtype, query)
        except EntryError:
            raise
        except FhirError as exc:
            raise EntryError(f"{rtype}?{query}: {exc}", status=exc.status, code=exc.issue.code,
                             expression=expression) from None

    def _resolve_conditional(self, rtype: str, query: str, expression: str) -> str:
        key = (rtype, query)
        hit = self.conditional_refs.get(key)
        if hit is None:
            if not self.ctx.model.is_resource_type(rtype):
                raise EntryError(f"the conditional reference {rtype}?{query} names no FHIR R4 resource type",
                                 code="invalid", expression=expression)
            hit = check_conditional(rtype, query, self._find(rtype, query, expression), expression)
            self.conditional_refs[key] = hit
        return hit

    # writes ----------------------------------------------------------------------------------
    def _delete(self, request: EntryRequest) -> None:
        rid = request.rid
        if rid is None:
            assert request.query is not None
            ids = self._find(request.rtype, request.query, f"{request.at}.request.url")
            if len(ids) > 1:
                raise EntryError(
                    f"{request.label}: the conditional delete matched {len(ids)} {request.rtype} resources; "
                    "make the criteria selective enough to match one",
                    status=412, code="multiple-matches", expression=f"{request.at}.request.url",
                )
            rid = ids[0] if ids else None
        marker = None
        if rid is not None:
            self.ids[request.index] = rid
            marker = self.ctx.store.delete(self.cur, request.rtype, rid, if_match=request.if_match,
                                           moment=self.moment)
        elif request.if_match is not None:
            raise PreconditionFailed(f"{request.label}: ifMatch given but nothing matched")
        self.results[request.index] = EntryResult(204 if marker else 200, stored=marker)

    def _write(self, request: EntryRequest, rewriter: ReferenceRewriter) -> None:
        existing = self.existing.get(request.index)
        if request.index in self.twins:
            existing = self.results[self.twins[request.index]].stored
        if existing is not None:
            self.results.setdefault(request.index, EntryResult(200, stored=existing))
            return
        assert request.resource is not None
        resource = rewriter.rewrite(request.resource, request.full_url, f"{request.at}.resource")
        rid = self.ids[request.index]
        store = self.ctx.store
        if request.index in self.fresh:
            stored, _ = store.create(self.cur, request.rtype, resource, moment=self.moment, rid=rid,
                                     surrogate=self.surrogates[request.index], index_batch=self.index_batch)
            created = True
        else:
            try:
                stored, _, created = store.update(self.cur, request.rtype, rid, resource, if_match=request.if_match,
                                                  moment=self.moment, index_batch=self.index_batch)
            except PreconditionFailed as exc:
                raise EntryError(f"{request.label}: {exc}", status=412, code="conflict",
                                 expression=f"{request.at}.request.ifMatch") from None
        self.results[request.index] = EntryResult(201 if created else 200, stored=stored)

    def _get(self, request: EntryRequest) -> None:
        store = self.ctx.store
        if request.rid is not None and request.vid is not None:
            stored = store.vread(self.cur, request.rtype, request.rid, request.vid)
        elif request.rid is not None:
            stored = store.read(self.cur, request.rtype, request.rid)
        else:
            self.results[request.index] = EntryResult(200, resource=self._searchset(request), read=True)
            return
        body = None if request.method == "HEAD" else orjson.Fragment(stored.body or "{}")
        self.results[request.index] = EntryResult(200, stored=stored, resource=body, read=True)

    def _searchset(self, request: EntryRequest) -> dict[str, Any]:
        """A GET [type]?criteria entry: the first page (``_count``, default 20) as a searchset,
        seeing this transaction's own writes; ``total`` tells whether there is more."""
        from .search import SearchRequest, execute  # the search engine, loaded on first use

        params = parse_qsl(request.query or "", keep_blank_values=True)
        try:
            search = SearchRequest.parse(request.rtype, params, self.ctx.model, False, self.ctx.base)
            result = execute(self.cur, search, page_size=20, max_page_size=self.ctx.max_search_results)
        except EntryError:
            raise
        except FhirError as exc:
            raise EntryError(f"{request.label}: {exc}", status=exc.status, code=exc.issue.code,
                             expression=f"{request.at}.request.url") from None
        entries = [
            {"fullUrl": f"{self.ctx.base}/{m.rtype}/{m.id}", "resource": orjson.Fragment(m.body),
             "search": {"mode": mode}}
            for mode, found in (("match", result.matches), ("include", result.includes))
            for m in found
        ]
        searchset: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
        if result.total is not None:
            searchset["total"] = result.total
        url = request.url if "://" in request.url else f"{self.ctx.base}/{request.url.lstrip('/')}"
        searchset["link"] = [{"relation": "self", "url": url}]
        searchset["entry"] = entries
        return searchset


# -- the response Bundle ----------------------------------------------------------------------
def _respond(btype: str, results: list[EntryResult], ctx: BundleContext) -> BundleResult:
    entries = [_response_entry(result, ctx) for result in results]
    bundle = {
        "resourceType": "Bundle",
        "id": new_id(),
        "meta": {"lastUpdated": format_instant(now())},
        "type": btype,
        "entry": entries,
    }
    return BundleResult(bundle, results)


def _response_entry(result: EntryResult, ctx: BundleContext) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    response: dict[str, Any] = {"status": f"{result.status} {HTTPStatus(result.status).phrase}"}
    stored = result.stored
    resource = result.resource
    if not result.read and stored is not None and stored.body and ctx.prefer_return == "representation":
        resource = orjson.Fragment(stored.body)
    if stored is not None:
        if resource is not None:
            entry["fullUrl"] = f"{ctx.base}/{stored.rtype}/{stored.id}"
        if not result.read and stored.body is not None:
            response["location"] = f"{ctx.base}/{stored.rtype}/{stored.id}/_history/{stored.version}"
        response["etag"] = stored.etag
        response["lastModified"] = stored.last_updated_fhir
    if resource is not None:
        entry["resource"] = resource
    if result.outcome is not None:
        response["outcome"] = result.outcome
    elif ctx.prefer_return == "operationoutcome" and stored is not None and not result.read:
        response["outcome"] = operation_outcome([{
            "severity": "information", "code": "informational",
            "diagnostics": f"{stored.rtype}/{stored.id} version {stored.version}",
        }])
    entry["response"] = response
    return entry
