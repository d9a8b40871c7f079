"""HTTP plumbing shared by the interactions: bodies in, FHIR responses out, headers.

Only JSON is spoken (``application/fhir+json``; ``application/json`` and ``_format=json`` are
accepted too). Stored resources are sent as the exact text read from the database.
"""

from __future__ import annotations

from datetime import UTC
from email.utils import format_datetime
from typing import Any

from flask import Response, current_app, request

from .. import fhirjson
from ..errors import FhirError
from ..services import Services
from ..store.repository import Stored

FHIR_JSON = "application/fhir+json"
JSON_MIME_TYPES = {"application/fhir+json", "application/json", "application/json+fhir", "text/json"}
JSON_FORMATS = {"json", "application/json", "application/fhir+json", "application/json+fhir"}


def services() -> Services:
    return current_app.extensions["fhirsrv"]


def base_url() -> str:
    """The absolute base of the FHIR API, for Location headers, fullUrl and links."""
    settings = services().settings
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    return request.host_url.rstrip("/") + settings.base_path


def check_accept() -> None:
    """406 for a response format we do not produce (XML, RDF)."""
    fmt = request.args.get("_format")
    if fmt is not None:
        if fmt.split(";")[0].strip().lower() not in JSON_FORMATS:
            raise FhirError(
                f"_format={fmt} is not supported: this server speaks JSON only (use _format=json)",
                status=406,
                code="not-supported",
            )
        return
    accept = request.headers.get("Accept", "")
    if not accept:
        return
    offered = [a.split(";")[0].strip().lower() for a in accept.split(",")]
    if any(
        a in JSON_MIME_TYPES or a in {"*/*", "application/*"} or a.endswith("+json") or a == "text/html"
        for a in offered
    ):
        return
    raise FhirError(
        f"cannot answer in {accept}: this server speaks application/fhir+json only",
        status=406,
        code="not-supported",
    )


def read_json_body() -> Any:
    """The request body parsed losslessly; 415 for a non-JSON content type, 400 for bad JSON."""
    mime = (request.mimetype or "").lower()
    if mime and mime not in JSON_MIME_TYPES and not mime.endswith("+json"):
        raise FhirError(
            f"Content-Type {request.content_type} is not supported: send application/fhir+json",
            status=415,
            code="not-supported",
        )
    data = request.get_data(cache=True)
    if not data.strip():
        raise FhirError("the request has no body: send a FHIR resource as JSON", code="required")
    try:
        return fhirjson.loads(data)
    except fhirjson.JsonError as exc:
        raise FhirError(f"the body could not be parsed: {exc}", code="structure") from None


def read_resource_body(expected_type: str | None = None) -> dict[str, Any]:
    body = read_json_body()
    if not isinstance(body, dict):
        raise FhirError("the body must be a JSON object (a FHIR resource)", code="structure")
    rtype = body.get("resourceType")
    if not isinstance(rtype, str):
        raise FhirError("the resource has no resourceType", code="required", expression="resourceType", status=422)
    if expected_type is not None and rtype != expected_type:
        raise FhirError(
            f"the body is a {rtype} but the URL is for {expected_type}",
            status=422,
            code="invalid",
            expression="resourceType",
        )
    return body


def fhir_response(
    body: bytes | str | dict[str, Any] | None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    if isinstance(body, dict):
        payload: bytes | str = fhirjson.dumps(body)
    elif body is None:
        payload = b""
    else:
        payload = body
    response = Response(payload, status=status, mimetype=FHIR_JSON if body is not None else None)
    if body is not None:
        response.headers["Content-Type"] = f"{FHIR_JSON}; charset=utf-8"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def version_headers(stored: Stored) -> dict[str, str]:
    return {"ETag": stored.etag, "Last-Modified": format_datetime(stored.last_updated.astimezone(UTC), usegmt=True)}


def location(stored: Stored) -> str:
    return f"{base_url()}/{stored.rtype}/{stored.id}/_history/{stored.version}"


def prefer(name: str) -> str | None:
    """A token of the Prefer header, e.g. prefer('return') -> 'minimal'."""
    for part in request.headers.get("Prefer", "").split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == name:
            return value.strip().strip('"').lower()
    return None


def parse_etag(value: str | None, header: str = "If-Match") -> int | None:
    """``W/"3"`` or ``"3"`` -> 3."""
    if value is None:
        return None
    raw = value.strip()
    if raw.startswith("W/"):
        raw = raw[2:]
    raw = raw.strip('"')
    if not (raw.isascii() and raw.isdigit()):
        raise FhirError(f'{header} must be a version ETag like W/"3", got {value!r}', code="invalid")
    return int(raw)


def write_response(stored: Stored, body: dict[str, Any] | str, status: int) -> Response:
    """Answer a create/update according to ``Prefer: return=…``."""
    headers = version_headers(stored)
    headers["Location"] = location(stored)
    mode = prefer("return") or "representation"
    if mode == "minimal":
        return fhir_response(None, status, headers)
    if mode == "operationoutcome":
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "information",
                    "code": "informational",
                    "diagnostics": f"{stored.rtype}/{stored.id} stored as version {stored.version}",
                }
            ],
        }
        return fhir_response(outcome, status, headers)
    return fhir_response(stored.body if stored.body is not None else body, status, headers)
