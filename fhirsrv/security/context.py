"""Who is calling: the per-request :class:`AccessContext` every check is made against.

Built once per request by :mod:`.middleware` from the verified access token (or, with
``FHIRSRV_AUTH=off``, a development context that may do everything) and kept on
``flask.g``. Code that is not in a request (the CLI, imports) never sees one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from flask import g, has_request_context

from .scopes import ScopeSet

NIHDI_SYSTEM = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/nihdi"
SSIN_SYSTEM = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ssin"

# Professional roles ("quality") a token may carry in its ``role`` claim.
CARE_ROLES = frozenset({"gp", "specialist", "pharmacist", "nurse", "dentist", "midwife", "physiotherapist",
                        "emergency-physician"})
# Physicians without a care role: never given access to shared patient data (DOMAIN §3.4 rule 5).
BANNED_ROLES = frozenset({"insurer-doctor", "occupational-doctor", "control-doctor"})
PATIENT_ROLE = "patient"
KNOWN_ROLES = CARE_ROLES | BANNED_ROLES | {PATIENT_ROLE}


@dataclass(frozen=True)
class Professional:
    """The individual behind a user token: NIHDI number and professional quality."""

    nihdi: str | None
    role: str
    name: str | None = None


@dataclass(frozen=True)
class AccessContext:
    """The caller of one request. Frozen: a check can never change who the caller is."""

    client_id: str | None
    scopes: ScopeSet
    subject: str | None = None  # token ``sub``
    user: Professional | None = None  # a professional acting (user/… scopes or a role claim)
    patient: str | None = None  # patient-context id: the token may see only this compartment
    break_glass: str | None = None  # the emergency reason given, when break-the-glass is invoked
    token_id: str | None = None  # ``jti`` of the access token (audited, never the token itself)
    issuer: str | None = None
    development: bool = False  # FHIRSRV_AUTH=off: no token, no policy
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def kind(self) -> str:
        """patient | user | system — the party whose rules apply."""
        if self.patient is not None:
            return "patient"
        if self.user is not None:
            return "user"
        return "system"

    @property
    def role(self) -> str | None:
        return PATIENT_ROLE if self.patient is not None else (self.user.role if self.user else None)

    def with_break_glass(self, reason: str) -> AccessContext:
        return replace(self, break_glass=reason)


DEVELOPMENT = AccessContext(client_id="development", scopes=ScopeSet.everything(), development=True)
ANONYMOUS = AccessContext(client_id=None, scopes=ScopeSet.parse(""))


def current() -> AccessContext | None:
    """The caller of the current request, or None outside a request / before authentication."""
    if not has_request_context():
        return None
    return g.get("fhirsrv_access")


def set_current(ctx: AccessContext) -> None:
    g.fhirsrv_access = ctx
