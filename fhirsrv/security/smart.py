"""SMART Backend Services: discovery document and the ``client_credentials`` token endpoint.

``GET [base]/.well-known/smart-configuration`` says where the token endpoint is and what it
accepts; ``POST [base]/auth/token`` exchanges a signed client assertion (``private_key_jwt``,
RS384 / ES384, at most 5 minutes of life, a ``jti`` never seen before) for a short-lived
access token limited to the scopes the client is registered for. Errors follow RFC 6749
§5.2 (``{"error": …}``) because OAuth clients expect that, not an OperationOutcome.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import jwt
from flask import Blueprint, Response, current_app, jsonify, request

from ..rest.http import base_url, services
from .clients import Client
from .keys import ASSERTION_ALGORITHMS, KeyProblem
from .scopes import narrow
from .token_audit import audit_token_request

_log = logging.getLogger("fhirsrv.security")

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 300
TOKEN_PATH = "/auth/token"
SUPPORTED_SCOPES = ["system/*.rs", "system/*.cruds", "user/*.rs", "user/*.cruds", "patient/*.rs",
                    "system/*.read", "user/*.read", "patient/*.read"]


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


def blueprint(base_path: str) -> Blueprint:
    bp = Blueprint("smart", __name__, url_prefix=base_path)
    bp.add_url_rule("/.well-known/smart-configuration", "smart_configuration", smart_configuration,
                    methods=["GET"])
    bp.add_url_rule(TOKEN_PATH, "token", token, methods=["POST"])
    return bp


def smart_configuration() -> Response:
    config: dict[str, Any] = {
        "issuer": services().settings.auth_issuer,
        "token_endpoint": base_url() + TOKEN_PATH,
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "scopes_supported": SUPPORTED_SCOPES,
        "response_types_supported": ["token"],
        "capabilities": ["client-confidential-asymmetric", "permission-v1", "permission-v2"],
    }
    response = jsonify(config)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def _oauth_error(exc: OAuthError) -> Response:
    response = jsonify({"error": exc.error, "error_description": exc.description})
    response.status_code = exc.status
    response.headers["Cache-Control"] = "no-store"
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="fhirsrv"'
    return response


def token() -> Response:
    """The token endpoint; every request, granted or refused, is audited once (ITI-71)."""
    attempt: dict[str, Any] = {}
    try:
        response, issued = _token(attempt)
    except OAuthError as exc:
        _log.info("token request refused: %s (%s)", exc.error, exc.description)
        audit_token_request(exc.status, attempt.get("client_id"), error=f"{exc.error}: {exc.description}")
        return _oauth_error(exc)
    audit_token_request(response.status_code, attempt.get("client_id"), issued=issued)
    return response


def _token(attempt: dict[str, Any]) -> tuple[Response, dict[str, Any]]:
    if request.authorization is not None:
        raise OAuthError("invalid_client", "client_secret_basic is not accepted: authenticate with a "
                         "private_key_jwt client assertion", 401)
    form = request.form
    if form.get("grant_type") != "client_credentials":
        raise OAuthError("unsupported_grant_type", "grant_type must be client_credentials")
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        raise OAuthError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}")
    assertion = form.get("client_assertion")
    if not assertion:
        raise OAuthError("invalid_request", "client_assertion is missing")
    security = current_app.extensions["fhirsrv.security"]
    client, claims = _verify_assertion(assertion, security.clients, attempt)
    _remember_jti(client.client_id, claims)
    scope = narrow(form.get("scope", ""), client.scope)
    if not scope:
        raise OAuthError("invalid_scope", "none of the requested scopes is granted to this client")
    jti = str(uuid.uuid4())
    access_token, lifetime = security.tokens.mint(
        subject=client.client_id, scope=scope, client_id=client.client_id, role=client.role, nihdi=client.nihdi,
        jti=jti,
    )
    response = jsonify({"access_token": access_token, "token_type": "bearer", "expires_in": lifetime,
                        "scope": scope})
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response, {"jti": jti, "scope": scope, "expires_in": lifetime}


def _verify_assertion(assertion: str, clients: dict[str, Client],
                      attempt: dict[str, Any]) -> tuple[Client, dict[str, Any]]:
    """The registered client and the verified claims; ``attempt['client_id']`` is set as soon
    as the assertion names a registered client, so a refusal is audited against it."""
    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise OAuthError("invalid_client", "client_assertion is not a well-formed JWT", 401) from None
    algorithm = header.get("alg")
    if algorithm not in ASSERTION_ALGORITHMS:
        raise OAuthError("invalid_client", f"client assertions must be signed with {' or '.join(ASSERTION_ALGORITHMS)}",
                         401)
    iss = unverified.get("iss")
    client = clients.get(iss) if isinstance(iss, str) else None
    if client is None:
        raise OAuthError("invalid_client", "unknown client (iss)", 401)
    attempt["client_id"] = client.client_id
    try:
        key = client.keys.find(header.get("kid"), algorithm)
    except KeyProblem:
        raise OAuthError("invalid_client", "the assertion's kid is not a registered key of this client", 401) from None
    try:
        claims = jwt.decode(
            assertion, key, algorithms=[algorithm], audience=_token_urls(), issuer=client.client_id,
            options={"require": ["exp", "jti", "iss", "sub", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise OAuthError("invalid_client", "the client assertion has expired", 401) from None
    except jwt.InvalidAudienceError:
        raise OAuthError("invalid_client", "the assertion's aud must be the token endpoint URL", 401) from None
    except jwt.PyJWTError as exc:
        raise OAuthError("invalid_client", f"the client assertion is not valid: {type(exc).__name__}", 401) from None
    if not isinstance(claims["jti"], str) or not 8 <= len(claims["jti"]) <= 200:
        raise OAuthError("invalid_client", "the assertion's jti must be a string of 8 to 200 characters", 401)
    if claims["sub"] != client.client_id:
        raise OAuthError("invalid_client", "the assertion's sub must equal its iss (the client_id)", 401)
    if claims["exp"] > time.time() + MAX_ASSERTION_LIFETIME + 5:
        raise OAuthError("invalid_client", "the assertion's exp must be at most 5 minutes ahead", 401)
    return client, claims


def _token_urls() -> list[str]:
    """The token endpoint URL(s) an assertion may name as ``aud`` (public and as requested)."""
    urls = {base_url() + TOKEN_PATH, request.base_url}
    return sorted(urls)


def _remember_jti(client_id: str, claims: dict[str, Any]) -> None:
    """Record the assertion's jti until it expires; a second use is a replay."""
    expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
    with services().transaction() as cur:
        cur.execute("DELETE FROM security_seen_jti WHERE expires_at < now() - interval '1 minute'")
        cur.execute(
            "INSERT INTO security_seen_jti (client_id, jti, expires_at) VALUES (%s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            (client_id, str(claims["jti"]), expires),
        )
        if cur.rowcount == 0:
            raise OAuthError("invalid_client", "this client assertion (jti) was already used", 401)
