"""The CapabilityStatement's ``rest.security``: what this server enforces, said where clients look.

Also removes the write interactions from the AuditEvent entry, since AuditEvents are written
by the server only.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from .enforce import PROTECTED_TYPES
from .smart import TOKEN_PATH

WRITE_CODES = {"create", "update", "patch", "delete", "conditional-update", "conditional-delete"}


def amend(rest: dict[str, Any], base: str) -> None:
    security = current_app.extensions["fhirsrv.security"]
    section: dict[str, Any] = {"cors": False, "description": security.statement()}
    if security.settings.auth_enabled:
        section["service"] = [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
            "code": "SMART-on-FHIR"}], "text": "SMART Backend Services (client_credentials, private_key_jwt)"}]
        section["extension"] = [{
            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
            "extension": [{"url": "token", "valueUri": base + TOKEN_PATH}],
        }]
    rest["security"] = section
    for entry in rest.get("resource", []):
        if entry.get("type") in PROTECTED_TYPES:
            entry["interaction"] = [i for i in entry.get("interaction", []) if i.get("code") not in WRITE_CODES]
            entry["conditionalCreate"] = entry["conditionalUpdate"] = entry["updateCreate"] = False
            entry["conditionalDelete"] = "not-supported"
