"""batch and transaction: placeholder until the Bundle processor lands (branch `bundle`)."""

from __future__ import annotations

from flask import Response

from ..errors import FhirError


def process() -> Response:
    raise FhirError("batch and transaction are not available yet", status=501, code="not-supported")
