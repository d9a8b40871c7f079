"""A ResourceStore that checks every call against the caller: for code that drives the store
itself rather than going through one REST interaction (batch/transaction Bundles, document
ingest).

``guard(store, ctx)`` wraps the store (also in development mode, where only the AuditEvent
write ban applies): each read is authorised (:func:`authorize_read`), each write (:func:`authorize_write`, with the
version it replaces), and ``find_current`` hides what the caller may not see. Entry-level
scopes are checked too, since the middleware only checked that the Bundle has some write
scope. Same cursor as the store call, so the AuditEvent lands in the Bundle's transaction.
"""

from __future__ import annotations

from typing import Any

from ..store.repository import ResourceStore, Stored
from .context import AccessContext
from .enforce import authorize_read, authorize_write, require_scope, visible

Cursor = Any


class GuardedStore:
    def __init__(self, store: ResourceStore, ctx: AccessContext) -> None:
        self._store = store
        self._ctx = ctx

    def __getattr__(self, name: str) -> Any:  # history, exists, … pass through unchanged
        return getattr(self._store, name)

    def read(self, cur: Cursor, rtype: str, rid: str) -> Stored:
        require_scope(self._ctx, rtype, "r")
        return authorize_read(self._ctx, self._store.read(cur, rtype, rid), cur)

    def vread(self, cur: Cursor, rtype: str, rid: str, version: int) -> Stored:
        require_scope(self._ctx, rtype, "r")
        return authorize_read(self._ctx, self._store.vread(cur, rtype, rid, version), cur)

    def find_current(self, cur: Cursor, rtype: str, rid: str) -> Stored | None:
        require_scope(self._ctx, rtype, "s")
        stored = self._store.find_current(cur, rtype, rid)
        return stored if stored is not None and visible(self._ctx, stored, cur)[0] else None

    def create(self, cur: Cursor, rtype: str, resource: dict[str, Any], **options: Any) -> Any:
        rid = options.get("rid")  # a pre-assigned id (Bundle/document entries): judge the resource with it
        judged = {**resource, "id": rid} if rid is not None and rtype == "Patient" else resource
        authorize_write(self._ctx, rtype, judged, cur, letter="c")
        return self._store.create(cur, rtype, resource, **options)

    def create_many(self, cur: Cursor, items: list[tuple[str, str, dict[str, Any]]], **options: Any) -> Any:
        for rtype, rid, resource in items:
            judged = {**resource, "id": rid} if rtype == "Patient" else resource
            authorize_write(self._ctx, rtype, judged, cur, letter="c")
        return self._store.create_many(cur, items, **options)

    def revise_many(self, cur: Cursor, items: list[tuple[Any, dict[str, Any]]], **options: Any) -> Any:
        for current, resource in items:  # (store.Current, new content): the existing version is at hand
            authorize_write(self._ctx, current.stored.rtype, resource, cur, letter="u", existing=current.stored)
        return self._store.revise_many(cur, items, **options)

    def update(self, cur: Cursor, rtype: str, rid: str, resource: dict[str, Any], **options: Any) -> Any:
        existing = self._store.find_current(cur, rtype, rid)
        authorize_write(self._ctx, rtype, resource, cur, letter="u", existing=existing)
        return self._store.update(cur, rtype, rid, resource, **options)

    def delete(self, cur: Cursor, rtype: str, rid: str, **options: Any) -> Any:
        existing = self._store.find_current(cur, rtype, rid)
        authorize_write(self._ctx, rtype, None, cur, letter="d", existing=existing)
        return self._store.delete(cur, rtype, rid, writer=self, **options)  # what a delete hook changes: guarded


def guard(store: ResourceStore, ctx: AccessContext) -> GuardedStore:
    return GuardedStore(store, ctx)


class GuardedServices:
    """``Services`` with the guarded store, for code that takes the services (document ingest)."""

    def __init__(self, services: Any, ctx: AccessContext) -> None:
        self._services = services
        self.store = GuardedStore(services.store, ctx)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._services, name)


def guard_services(services: Any, ctx: AccessContext) -> GuardedServices:
    return GuardedServices(services, ctx)
