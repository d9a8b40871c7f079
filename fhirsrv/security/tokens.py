"""Access tokens: minted by this server (token endpoint, ``fhirsrv token``) or by a trusted
external issuer, verified here into an :class:`AccessContext`.

Every token is a JWT signed with an asymmetric key. Ours are checked against the server's
own key; an external issuer's against its JWKS (a file for tests and air-gapped sites, or
a URL). The token text is never logged: errors name the claim at fault, not the token.

Claims read (beside iss/aud/exp/iat/jti/sub): ``scope`` (or ``scp``), ``client_id`` (or
``azp``), ``patient`` (SMART patient context), ``role`` and ``nihdi`` (the professional's
quality and NIHDI number, as an upstream identity provider verified them), ``name``.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import jwt

from ..config import Settings
from .context import KNOWN_ROLES, PATIENT_ROLE, AccessContext, Professional
from .keys import (
    TOKEN_ALGORITHMS,
    KeyProblem,
    KeySet,
    SigningKey,
    key_set_from_config,
    load_or_create_signing_key,
)
from .scopes import ScopeSet

LEEWAY_SECONDS = 30
VERIFIED_CACHE_SIZE = 4096


class AuthError(Exception):
    """The bearer token is missing or unacceptable: answered 401 with WWW-Authenticate."""

    def __init__(self, description: str, error: str = "invalid_token") -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class Issuer:
    issuer: str
    keys: KeySet | None  # None: this server (its own signing key)
    audience: str


def default_signing_key_path(settings: Settings) -> Path:
    return settings.auth_signing_key or settings.data_dir / "auth" / "signing-key.pem"


def audience(settings: Settings) -> str:
    """The ``aud`` tokens must carry for this server."""
    return settings.auth_audience or (settings.public_base_url or "fhirsrv").rstrip("/")


def load_issuers_file(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    entries = data.get("issuers") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise KeyProblem(f"{path}: expected {{\"issuers\": [...]}}")
    return entries


class TokenService:
    """Mints and verifies access tokens for one server configuration."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.audience = audience(settings)
        self._verified: dict[str, tuple[AccessContext, float]] = {}

    @cached_property
    def signing_key(self) -> SigningKey:
        return load_or_create_signing_key(default_signing_key_path(self.settings))

    @cached_property
    def issuers(self) -> dict[str, Issuer]:
        found = {self.settings.auth_issuer: Issuer(self.settings.auth_issuer, None, self.audience)}
        path = self.settings.auth_issuers_file
        if path is not None:
            for entry in load_issuers_file(path):
                name = entry["issuer"]
                found[name] = Issuer(name, key_set_from_config(entry, path.parent),
                                     entry.get("audience", self.audience))
        return found

    # -- minting -------------------------------------------------------------------------
    def mint(self, *, subject: str, scope: str, lifetime: int | None = None, **claims: Any) -> tuple[str, int]:
        """A signed access token and its lifetime in seconds."""
        lifetime = lifetime or self.settings.auth_token_lifetime
        issued = int(time.time())
        payload = {
            "iss": self.settings.auth_issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": issued,
            "exp": issued + lifetime,
            "jti": str(uuid.uuid4()),
            "scope": scope,
            **{k: v for k, v in claims.items() if v is not None},
        }
        return self.signing_key.sign(payload), lifetime

    # -- verification --------------------------------------------------------------------
    def verify(self, token: str) -> AccessContext:
        """The caller a token stands for. A signature check costs ~1-2 ms (ES384), so a token
        already verified is remembered, by its exact text, until it expires."""
        cached = self._verified.get(token)
        if cached is not None and cached[1] > time.time() - LEEWAY_SECONDS:
            return cached[0]
        claims = self.decode(token)
        ctx = context_from_claims(claims)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            with contextlib.suppress(RuntimeError, StopIteration):  # another thread changed it meanwhile
                self._verified.pop(next(iter(self._verified)), None)
        self._verified[token] = (ctx, float(claims["exp"]))
        return ctx

    def decode(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise AuthError("the bearer token is not a well-formed JWT") from None
        algorithm = header.get("alg")
        if algorithm not in TOKEN_ALGORITHMS:
            raise AuthError("the token's signature algorithm is not accepted (use RS384 or ES384)")
        iss = unverified.get("iss")
        issuer = self.issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise AuthError("the token's issuer is not trusted by this server")
        try:
            key = self.signing_key.private_key.public_key() if issuer.keys is None else \
                issuer.keys.find(header.get("kid"), algorithm)
        except KeyProblem:
            raise AuthError("the token was signed with a key this server does not know") from None
        try:
            return jwt.decode(
                token, key, algorithms=[algorithm], audience=issuer.audience, issuer=issuer.issuer,
                leeway=LEEWAY_SECONDS, options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("the access token has expired; request a new one") from None
        except jwt.InvalidAudienceError:
            raise AuthError(f"the access token is not for this server (aud must be {issuer.audience})") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(f"the access token lacks the {exc.claim!r} claim") from None
        except jwt.PyJWTError as exc:
            raise AuthError(f"the access token is not valid: {type(exc).__name__}") from None


def context_from_claims(claims: dict[str, Any]) -> AccessContext:
    """Turn verified claims into the caller's identity, refusing incoherent combinations."""
    raw_scope = claims.get("scope", claims.get("scp", ""))
    scopes = ScopeSet.parse(raw_scope if isinstance(raw_scope, str | list) else "")
    role = claims.get("role")
    if role is not None and (not isinstance(role, str) or role not in KNOWN_ROLES):
        raise AuthError("the access token's role claim is not a known role")
    patient = claims.get("patient")
    if "patient" in scopes.contexts and not isinstance(patient, str):
        raise AuthError("patient/ scopes need a patient context (the 'patient' claim)")
    if role == PATIENT_ROLE and not isinstance(patient, str):
        raise AuthError("a patient's token must name the patient (the 'patient' claim)")
    user = None
    if role is not None and role != PATIENT_ROLE:
        user = Professional(nihdi=_str(claims.get("nihdi")), role=role, name=_str(claims.get("name")))
    elif "user" in scopes.contexts and patient is None:
        raise AuthError("user/ scopes need the professional's identity (the 'role' and 'nihdi' claims)")
    return AccessContext(
        client_id=_str(claims.get("client_id") or claims.get("azp") or claims.get("sub")),
        scopes=scopes,
        subject=_str(claims.get("sub")),
        user=user,
        patient=patient if isinstance(patient, str) else None,
        token_id=_str(claims.get("jti")),
        issuer=_str(claims.get("iss")),
        claims=claims,
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def operator_token(settings: Settings, client_id: str, scope: str = "system/*.cruds", lifetime: int = 3600) -> str | None:
    """A system token for a tool the operator runs in-process on the server's own machine
    (``fhirsrv import`` without --url): it holds the signing key anyway, and its requests are
    then authorised and audited like any client's. None when auth is off."""
    if not settings.auth_enabled:
        return None
    return TokenService(settings).mint(subject=client_id, scope=scope, lifetime=lifetime, client_id=client_id)[0]
