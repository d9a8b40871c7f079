"""Whether a decomposed resource is current for its source, as its own content shows it.

A resource that no current document holds any more (its document was superseded or withdrawn)
is not changed clinically: it gets the tag :data:`SUPERSEDED_TAG`, so that a search client
can leave it out with ``_tag:not`` (``$summary`` leaves it out through the registry,
:data:`.records.CURRENT_FOR_SOURCE`). When its document becomes current again the tag goes.

:func:`revisions` turns such changes into new versions for ``ResourceStore.revise_many``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg import Cursor

from .. import fhirjson
from ..store.repository import Current

SUPERSEDED_TAG = {
    "system": "https://fhirsrv.dev/CodeSystem/document-currency",
    "code": "superseded-in-source",
    "display": "No current document of its source holds it (superseded by a newer summary, or withdrawn)",
}

Change = Callable[[dict[str, Any]], dict[str, Any]]


def tag_superseded(resource: dict[str, Any]) -> dict[str, Any]:
    meta = dict(resource.get("meta") or {})
    tags = list(meta.get("tag") or [])
    if not any(t.get("system") == SUPERSEDED_TAG["system"] for t in tags if isinstance(t, dict)):
        tags.append(SUPERSEDED_TAG)
    meta["tag"] = tags
    return {**resource, "meta": meta}


def untag_superseded(resource: dict[str, Any]) -> dict[str, Any]:
    meta = dict(resource.get("meta") or {})
    tags = [t for t in meta.get("tag") or [] if not (isinstance(t, dict) and t.get("system") == SUPERSEDED_TAG["system"])]
    if tags:
        meta["tag"] = tags
    else:
        meta.pop("tag", None)
    return {**resource, "meta": meta} if meta else {k: v for k, v in resource.items() if k != "meta"}


def with_status(status: str) -> Change:
    """A DocumentReference's new ``status`` (superseded, entered-in-error, current again)."""
    return lambda resource: {**resource, "status": status}


def revisions(cur: Cursor, store: Any, changes: list[tuple[tuple[str, str], Change]]) -> list[tuple[Current, dict]]:
    """The new versions ``changes`` make, read under the resources' write locks (one wait):
    resources gone meanwhile and changes that change nothing make no version."""
    keys = [key for key, _ in changes]
    with cur.connection.pipeline():
        store.lock_many(cur, keys)
        current = store.current_many(cur, keys)
    out: list[tuple[Current, dict[str, Any]]] = []
    for key, change in changes:
        found = current.get(key)
        if found is None or found.stored.body is None:
            continue
        body = fhirjson.loads(found.stored.body)
        revised = change(body)
        if revised != body:
            out.append((found, revised))
    return out
