"""Assemble Bundles around stored bodies without re-parsing them.

Stored resources are JSON text; ``orjson.Fragment`` splices that text into the Bundle as is,
so a history or search page costs one serialisation of the envelope, and decimals stay
exactly as stored.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

import orjson

from ..store.repository import Stored, format_instant, now


def raw(body: str | dict[str, Any]) -> Any:
    return orjson.Fragment(body) if isinstance(body, str) else body


def bundle(bundle_type: str, entries: list[dict[str, Any]], *, total: int | None = None,
           links: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": format_instant(now())},
        "type": bundle_type,
    }
    if total is not None:
        out["total"] = total
    if links:
        out["link"] = [{"relation": rel, "url": url} for rel, url in links]
    out["entry"] = entries
    return out


def history_entry(base: str, stored: Stored) -> dict[str, Any]:
    entry: dict[str, Any] = {"fullUrl": f"{base}/{stored.rtype}/{stored.id}"}
    if stored.body is not None:
        entry["resource"] = raw(stored.body)
    method = stored.method if stored.method in {"POST", "PUT", "DELETE"} else "PUT"
    entry["request"] = {
        "method": method,
        "url": f"{stored.rtype}/{stored.id}" if method != "POST" else stored.rtype,
    }
    entry["response"] = {
        "status": "410 Gone" if stored.deleted else ("201 Created" if stored.version == 1 else "200 OK"),
        "etag": stored.etag,
        "lastModified": stored.last_updated_fhir,
    }
    return entry


def page_links(url: str, params: dict[str, str], offset: int, count: int, total: int | None,
               *, more: bool | None = None) -> list[tuple[str, str]]:
    """self/first/previous/next/last links for offset paging (``last`` only with a known total;
    ``more``: whether a next page exists, when the total is not known)."""

    def link(at: int) -> str:
        query = {**params, "_count": str(count), "_offset": str(at)}
        return f"{url}?{urlencode(query)}"

    links = [("self", link(offset)), ("first", link(0))]
    if offset > 0:
        links.append(("previous", link(max(0, offset - count))))
    if (more if more is not None else total is not None and offset + count < total):
        links.append(("next", link(offset + count)))
    if total is not None and total > 0:
        links.append(("last", link(((total - 1) // count) * count)))
    return links
