"""Send the planned units, file by file, and account for every resource: stored or rejected.

A rejected file never stops the run: its reason is recorded and the next file loads. A
transaction is all or nothing, so its entries are stored or rejected together; a batch is
judged entry by entry from the batch-response.

A server that does not offer batch/transaction (HTTP 501 or 405 for ``POST [base]``) still
gets the resources, one request each, when no entry needs another entry's server-assigned id
(after planning, id-carrying entries reference each other as ``Type/id``); the summary says
that such a load was not atomic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .client import Client, Reply
from .plan import Identifiers, Request, Unit, plan
from .sources import Source, SourceError

UNSUPPORTED = {405, 501}


@dataclass
class FileResult:
    path: Path
    stored: int = 0
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)
    not_idempotent: int = 0
    not_atomic: bool = False

    def reject(self, count: int, reason: str) -> None:
        self.rejected += count
        if reason not in self.reasons:
            self.reasons.append(reason)


def _status_code(entry: dict[str, Any]) -> int:
    status = str((entry.get("response") or {}).get("status", "")).strip()
    head = status.split(" ", 1)[0]
    return int(head) if head.isascii() and head.isdigit() else 0


def _entry_reason(entry: dict[str, Any], request: Request) -> str:
    response = entry.get("response") or {}
    outcome = response.get("outcome")
    detail = Reply(_status_code(entry), outcome).diagnostics() if outcome else f"HTTP {response.get('status')}"
    return f"{request.method} {request.url}: {detail}"


class Importer:
    """Loads sources through a client; reports progress through the callbacks given."""

    def __init__(self, client: Client, *, batch_size: int = 200,
                 on_progress: Callable[[int], None] = lambda n: None) -> None:
        self.client = client
        self.batch_size = batch_size
        self.on_progress = on_progress
        self.identifiers = Identifiers()
        self.transactions_supported = True

    def load(self, source: Source) -> FileResult:
        result = FileResult(source.path)
        try:
            units = list(plan(source, self.identifiers, self.batch_size))
        except SourceError as exc:
            result.reject(1, str(exc))
            self.on_progress(0)
            return result
        if not units:
            result.reasons.append("no resources in the file")
        for unit in units:
            result.not_idempotent += unit.not_idempotent
            self._send(unit, result)
            self.on_progress(unit.size)
        return result

    def _send(self, unit: Unit, result: FileResult) -> None:
        if unit.kind == "single":
            self._send_single(unit.requests[0], result)
            return
        if self.transactions_supported:
            reply = self.client.send("POST", "", unit.bundle())
            if reply.status not in UNSUPPORTED:
                self._account(unit, reply, result)
                return
            self.transactions_supported = False
        if any(isinstance(u, str) and u.startswith("urn:") for u in unit.full_urls):
            result.reject(unit.size, "the server does not support batch/transaction, and this Bundle's "
                                     "entries refer to each other by urn:uuid without ids")
            return
        result.not_atomic = result.not_atomic or unit.kind == "transaction"
        for request in unit.requests:
            self._send_single(request, result)

    def _send_single(self, request: Request, result: FileResult) -> None:
        headers = {"If-None-Exist": request.if_none_exist} if request.if_none_exist else None
        reply = self.client.send(request.method, request.url, request.resource, headers)
        if 200 <= reply.status < 300:
            result.stored += 1
        else:
            result.reject(1, f"{request.method} {request.url}: {reply.diagnostics()}")

    def _account(self, unit: Unit, reply: Reply, result: FileResult) -> None:
        body = reply.body
        if not (200 <= reply.status < 300) or not isinstance(body, dict) or body.get("resourceType") != "Bundle":
            what = "transaction" if unit.kind == "transaction" else "batch"
            result.reject(unit.size, f"{what} refused: {reply.diagnostics()}")
            return
        entries = body.get("entry") or []
        for index, request in enumerate(unit.requests):
            entry = entries[index] if index < len(entries) and isinstance(entries[index], dict) else {}
            code = _status_code(entry)
            if 200 <= code < 300:
                result.stored += 1
            else:
                result.reject(1, _entry_reason(entry, request) if entry else f"{request.method} {request.url}: "
                                                                             "no answer in the response Bundle")

