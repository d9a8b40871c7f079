"""The AuditEvent of a token request (``POST [base]/auth/token``): IHE IUA ITI-71 as BALP shapes it.

Every request to the token endpoint, granted or refused, gives exactly one AuditEvent:
``type`` DCM 110114 User Authentication, ``subtype`` ITI-71 Get Access Token, the client
(DCM 110150 Application, its client id and network address) and the authorisation server
as agents, the token request as a Query entity (its form without the client assertion)
and, when a token was issued, a Security Resource entity naming the token's ``jti``, scope
and lifetime. The token and the assertion themselves are never recorded. A granted request
claims the profile ``IHE.IUA.71``; a refused one has outcome 4 and the OAuth error.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

from flask import current_app, request

from ..store.repository import format_instant, now
from .audit import DCM, store_now

IUA_71 = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.IUA.71"
USER_AGENT_TYPES = "https://profiles.ihe.net/ITI/BALP/CodeSystem/UserAgentTypes"
OBJECT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
RECORDED_FORM_FIELDS = ("grant_type", "scope", "client_assertion_type")  # never the assertion itself


def token_event(status: int, client_id: str | None, *, issued: dict[str, Any] | None = None,
                error: str | None = None) -> dict[str, Any]:
    settings = current_app.extensions["fhirsrv"].settings
    form = urlencode([(k, request.form[k]) for k in RECORDED_FORM_FIELDS if k in request.form])
    event: dict[str, Any] = {"resourceType": "AuditEvent"}
    if issued is not None:
        event["meta"] = {"profile": [IUA_71]}
    event["type"] = {"system": DCM, "code": "110114", "display": "User Authentication"}
    event["subtype"] = [{"system": "urn:ihe:event-type-code", "code": "ITI-71", "display": "Get Access Token"}]
    event["action"] = "E"
    event["recorded"] = format_instant(now())
    event["outcome"] = "0" if status < 400 else ("4" if status < 500 else "8")
    if error is not None:
        event["outcomeDesc"] = f"HTTP {status}: {error}"[:300]
    client_who: dict[str, Any] = {"display": "unidentified client"}
    if client_id:
        client_who = {"identifier": {"system": "urn:fhirsrv:client", "value": client_id[:200]}}
    event["agent"] = [
        {"type": {"coding": [{"system": DCM, "code": "110150", "display": "Application"}]},
         "who": client_who, "requestor": True,
         "network": {"address": request.remote_addr or "unknown", "type": "2"}},
        {"type": {"coding": [{"system": USER_AGENT_TYPES, "code": "AuthzOauthService"}]},
         "who": {"identifier": {"value": settings.auth_issuer}}, "requestor": False,
         "network": {"address": f"{request.scheme}://{request.host}", "type": "5"}},
    ]
    event["source"] = {"observer": {"display": "fhirsrv"},
                       "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                                 "code": "6", "display": "Security Server"}]}
    entities: list[dict[str, Any]] = [{
        "type": {"system": OBJECT_TYPE, "code": "2", "display": "System Object"},
        "role": {"system": OBJECT_ROLE, "code": "24", "display": "Query"},
        "query": base64.b64encode(form.encode("utf-8")).decode("ascii"),
    }]
    if issued is not None:
        entities.append({
            "what": {"identifier": {"system": "urn:ietf:params:oauth:jti", "value": issued["jti"]}},
            "type": {"system": OBJECT_TYPE, "code": "2", "display": "System Object"},
            "role": {"system": OBJECT_ROLE, "code": "13", "display": "Security Resource"},
            "detail": [{"type": "scope", "valueString": issued["scope"]},
                       {"type": "expires_in", "valueString": str(issued["expires_in"])}],
        })
    event["entity"] = entities
    return event


def audit_token_request(status: int, client_id: str | None, **details: Any) -> None:
    """Record one token request (nothing with FHIRSRV_AUTH=off, like every other audit)."""
    if not current_app.extensions["fhirsrv"].settings.auth_enabled:
        return
    store_now(token_event(status, client_id, **details))
