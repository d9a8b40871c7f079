"""history at instance, type and system level, with _count, _since, _at and paging."""

from __future__ import annotations

from datetime import datetime

from flask import Response, request

from .. import security
from ..errors import FhirError
from .bundle_builder import bundle, history_entry, page_links
from .checks import known_type
from .http import base_url, check_accept, fhir_response, services

HISTORY_PARAMS = {"_count", "_since", "_at", "_offset", "_format", "_list", "_total"}
TOTAL_MODES = {"none", "estimate", "accurate"}


def _instant(name: str) -> datetime | None:
    value = request.args.get(name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FhirError(f"{name}={value} is not a FHIR instant (e.g. 2024-05-01T10:00:00Z)", code="value",
                        expression=name) from None
    if moment.tzinfo is None:
        raise FhirError(f"{name}={value} needs a time zone (e.g. Z or +01:00)", code="value", expression=name)
    return moment


def _int_param(name: str, default: int, maximum: int) -> int:
    value = request.args.get(name)
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()):
        raise FhirError(f"{name}={value} must be a non-negative whole number", code="value", expression=name)
    return min(int(value), maximum)


def _history(rtype: str | None, rid: str | None, path: str) -> Response:
    check_accept()
    unknown = set(request.args) - HISTORY_PARAMS
    if unknown:
        raise FhirError(f"unknown history parameter(s): {', '.join(sorted(unknown))}", code="not-supported")
    settings = services().settings
    count = max(1, _int_param("_count", settings.default_page_size, settings.max_page_size))
    offset = _int_param("_offset", 0, 10**9)
    total_mode = request.args.get("_total")
    if total_mode is not None and total_mode not in TOTAL_MODES:
        raise FhirError(f"_total={total_mode} is not one of {sorted(TOTAL_MODES)}", code="value", expression="_total")
    # A resource's own history is short: always counted. A type's or the system's is counted
    # only with _total=accurate (or when the page reaches its end, where the count is free).
    counting = rid is not None or total_mode == "accurate"
    svc = services()
    with svc.transaction() as cur:
        versions, total, more = svc.store.history(
            cur, rtype=rtype, rid=rid, since=_instant("_since"), at=_instant("_at"), count=count, offset=offset,
            total=counting,
        )
        versions = security.filter_visible(security.current(), versions, cur)
    if rid is not None and total == 0:
        from ..errors import NotFound

        raise NotFound(f"{rtype}/{rid} is not known to this server")
    base = base_url()
    params = {k: v for k, v in request.args.items() if k not in {"_count", "_offset"}}
    links = page_links(f"{base}{path}", params, offset, count, total, more=more)
    if total_mode == "none":
        total = None
    return fhir_response(bundle("history", [history_entry(base, v) for v in versions], total=total, links=links))


def instance_history(rtype: str, rid: str) -> Response:
    known_type(rtype)
    return _history(rtype, rid, f"/{rtype}/{rid}/_history")


def type_history(rtype: str) -> Response:
    known_type(rtype)
    return _history(rtype, None, f"/{rtype}/_history")


def system_history() -> Response:
    return _history(None, None, "/_history")
