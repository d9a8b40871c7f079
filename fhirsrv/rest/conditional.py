"""Conditional interactions: which existing resources a search expression designates."""

from __future__ import annotations

from urllib.parse import parse_qsl

from psycopg import Cursor

from ..errors import FhirError, PreconditionFailed
from .http import services


def matching_ids(cur: Cursor, rtype: str, query: str, *, what: str) -> list[str]:
    """Ids of current resources of ``rtype`` matching a FHIR search query string."""
    params = parse_qsl(query.lstrip("?"), keep_blank_values=True)
    if not params:
        raise FhirError(f"{what} needs search parameters, got {query!r}", code="invalid")
    from ..store.search import find_ids  # the search engine; imported late to keep start-up light

    return find_ids(cur, services().model, rtype, params)


def single_match(cur: Cursor, rtype: str, query: str, *, what: str) -> str | None:
    """The one matching id, None for no match; 412 when the criteria are not selective enough."""
    ids = matching_ids(cur, rtype, query, what=what)
    if len(ids) > 1:
        raise PreconditionFailed(
            f"{what} matched {len(ids)} {rtype} resources; make the criteria selective enough to match one",
            code="multiple-matches",
        )
    return ids[0] if ids else None
