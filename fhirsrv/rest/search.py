"""search: placeholder until the definition-driven search engine lands (branch `search`)."""

from __future__ import annotations

from flask import Response

from ..errors import FhirError


def search_type(rtype: str) -> Response:
    raise FhirError("search is not available yet", status=501, code="not-supported")


def search_system() -> Response:
    raise FhirError("search is not available yet", status=501, code="not-supported")
