"""Wiring: authenticate every FHIR request, check its scopes, open and close its audit record.

:func:`install` is the one call ``create_app`` makes. It mounts the SMART endpoints, adds
the audit commit hook to ``Services.transaction()``, and registers a ``before_request``
that, for every URL of the FHIR blueprint except ``/metadata``:

1. works out the interaction from the URL table (:mod:`fhirsrv.rest.routes`);
2. verifies the bearer token (401 + ``WWW-Authenticate`` when missing or bad);
3. checks the SMART scopes for that interaction and type (403 ``insufficient_scope``);
4. confines a patient-context token to its own ``Patient/{id}`` URLs.

Patient-level rules (consent, relationship, exclusion, sensitivity) need the stored data
and are applied by the interactions through :mod:`.enforce`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson
from flask import Flask, Response, current_app, request

from ..config import Settings
from ..errors import FhirError, operation_outcome
from ..rest.http import fhir_response
from . import audit, context
from .audit_writer import AuditWriter
from .clients import Client, load_clients
from .enforce import Forbidden, authorize_patient
from .facts import LocalFhirFacts
from .policy import Policy, build_policy
from .tokens import AuthError, TokenService

_log = logging.getLogger("fhirsrv.security")
PUBLIC_INTERACTIONS = {"capabilities"}
BREAK_GLASS_HEADER = "X-Break-Glass"
LETTERS = {"read": "r", "vread": "r", "history-instance": "r", "history-type": "r", "history-system": "r",
           "search-type": "s", "search-system": "s", "create": "c", "update": "u", "delete": "d"}


@dataclass
class SecurityServices:
    """What the security layer keeps per application (``app.extensions['fhirsrv.security']``)."""

    settings: Settings
    tokens: TokenService
    clients: dict[str, Client]
    policy: Policy
    audit_writer: AuditWriter
    facts: Any  # the access-facts provider(s) the policy reads (LocalFhirFacts by default)

    @property
    def rule_names(self) -> list[str]:
        return [*self.policy.names, *(["sensitivity"] if "sensitivity" in self.settings.policy_rules else [])]

    def statement(self) -> str:
        """One sentence of what is enforced: logged at start, shown in the CapabilityStatement."""
        if not self.settings.auth_enabled:
            return ("AUTHENTICATION IS OFF (FHIRSRV_AUTH=off): no token, no scope, no consent check and no audit. "
                    "For local development only - never with real patient data.")
        rules = ", ".join(self.rule_names) or "none"
        btg = "allowed (audited, flagged)" if self.settings.break_glass else "disabled"
        excl = "blocks" if self.settings.exclusion_blocks_break_glass else "does not block"
        return (f"SMART on FHIR bearer tokens (v1 and v2 scopes) required on every FHIR endpoint; "
                f"patient-level rules enforced: {rules}; break-the-glass {btg}, an exclusion {excl} it; "
                f"every access is recorded as an IHE BALP AuditEvent.")


def install(app: Flask, settings: Settings) -> SecurityServices:
    from .smart import blueprint

    facts = LocalFhirFacts()
    security = SecurityServices(
        settings=settings,
        tokens=TokenService(settings),
        clients=load_clients(settings.auth_clients_file),
        policy=build_policy(settings.policy_rules, consent=facts, links=facts, exclusions=facts,
                            break_glass=settings.break_glass,
                            exclusion_blocks_break_glass=settings.exclusion_blocks_break_glass),
        audit_writer=AuditWriter(app.extensions["fhirsrv"]),
        facts=facts,
    )
    if settings.audit_reads not in {"async", "sync"}:
        raise ValueError(f"FHIRSRV_AUDIT_READS must be async or sync, got {settings.audit_reads!r}")
    app.extensions["fhirsrv.security"] = security
    app.register_blueprint(blueprint(settings.base_path))
    app.extensions["fhirsrv"].commit_hooks.append(audit.before_commit)
    app.before_request(_before_request)
    app.after_request(_after_request)
    if settings.auth_enabled:
        security.tokens.signing_key  # noqa: B018 — fail at start, not at the first request
        _log.info("security: %s", security.statement())
    else:
        banner = "!" * 78
        _log.warning("%s\n%s\n%s", banner, security.statement(), banner)
    return security


def _route_of_request() -> Any:
    from ..rest.routes import ROUTES_BY_ENDPOINT

    endpoint = (request.endpoint or "").partition(".")[2]
    return ROUTES_BY_ENDPOINT.get(endpoint)


def interaction_of(route: Any, view_args: dict[str, Any]) -> str:
    if "op" in view_args:
        return "operation"
    if route.rule.endswith("/_search"):
        return "search-type"
    code = route.interactions[0] if route.interactions else "operation"
    return {"conditional-update": "update", "conditional-delete": "delete"}.get(code, code)


def _before_request() -> None:
    if request.blueprint != "fhir":
        return
    route = _route_of_request()
    if route is None:
        return
    view_args = request.view_args or {}
    interaction = interaction_of(route, view_args)
    if interaction in PUBLIC_INTERACTIONS:
        return
    security: SecurityServices = current_app.extensions["fhirsrv.security"]
    if not security.settings.auth_enabled:
        context.set_current(context.DEVELOPMENT)
        return
    if security.audit_writer.overloaded:
        raise FhirError("the audit trail cannot be stored at the moment, so no data is served; retry shortly",
                        status=503, code="transient", headers={"Retry-After": "5"})
    op = view_args.get("op")
    record = audit.AuditRecord(interaction, view_args.get("rtype"), view_args.get("rid"),
                               op[1:] if op else None, request.query_string.decode("utf-8", "replace"))
    audit.begin(record)
    ctx = _authenticate(security)
    record.ctx = ctx
    context.set_current(ctx)
    _check_scopes(ctx, interaction, view_args)
    rtype, rid = view_args.get("rtype"), view_args.get("rid")
    if ctx.patient is not None and rtype == "Patient" and rid is not None and rid != ctx.patient:
        audit.note_patient(rid)
        raise Forbidden("a patient's token gives access to their own data only")
    if interaction == "search-type":
        _check_search(ctx, rtype)
    if interaction == "operation" and rtype == "Patient" and rid is not None:
        authorize_patient(ctx, rid)  # Patient/{id}/$summary, $everything: decided before assembling


PATIENT_PARAMS = ("patient", "subject", "patient:Patient", "subject:Patient")


def _check_search(ctx: context.AccessContext, rtype: str | None) -> None:
    """Refuse up front what a search could only answer with someone else's data.

    A patient's token naming another patient (``AuditEvent?patient=other``) is refused rather
    than answered with an empty page, and access logs are not searchable by professionals.
    """
    if rtype == "AuditEvent" and ctx.user is not None:
        raise Forbidden("access logs are shown to the patient and to auditing systems only")
    if ctx.patient is None:
        return
    args = request.values if request.method == "POST" else request.args
    named = [v for p in PATIENT_PARAMS for raw in args.getlist(p) for v in raw.split(",")]
    if rtype == "Patient":
        named += [v for raw in args.getlist("_id") for v in raw.split(",")]
    for value in named:
        patient_id = value.strip().removeprefix("Patient/")
        if patient_id != ctx.patient:
            audit.note_patient(patient_id)
            raise Forbidden("a patient's token gives access to their own data only")


def _authenticate(security: SecurityServices) -> context.AccessContext:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise _unauthorized(None, "send an access token: Authorization: Bearer <token>")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized(AuthError("the Authorization header must be 'Bearer <token>'", "invalid_request"))
    try:
        ctx = security.tokens.verify(token.strip())
    except AuthError as exc:
        raise _unauthorized(exc) from None
    reason = request.headers.get(BREAK_GLASS_HEADER)
    if reason is not None:
        reason = reason.strip()[:500]
        if not security.settings.break_glass:
            raise Forbidden("break-the-glass is disabled on this server (FHIRSRV_BREAK_GLASS=off)")
        if ctx.user is None or not reason:
            raise Forbidden(f"{BREAK_GLASS_HEADER} needs a reason and is for professionals' tokens only")
        ctx = ctx.with_break_glass(reason)
    return ctx


def _unauthorized(exc: AuthError | None, text: str | None = None) -> FhirError:
    challenge = 'Bearer realm="fhirsrv"'
    if exc is not None:
        safe = "".join(c for c in exc.description if c.isprintable() and c not in '"\\')[:200]
        challenge += f', error="{exc.error}", error_description="{safe}"'
    diagnostics = text or (exc.description if exc is not None else "authentication required")
    return FhirError(diagnostics, status=401, code="login", headers={"WWW-Authenticate": challenge})


def _check_scopes(ctx: context.AccessContext, interaction: str, view_args: dict[str, Any]) -> None:
    rtype = view_args.get("rtype") or "*"
    if interaction in LETTERS:
        letters = [LETTERS[interaction]]
    elif interaction == "operation":
        letters = [_operation_letter(view_args)]
    else:  # transaction / batch: each entry is checked by authorize_write; here any write scope
        letters = []
        if not any(ctx.scopes.allows_any(x) for x in "cud"):
            raise _insufficient("a transaction or batch needs write scopes")
    for letter in letters:
        if rtype == "*" and interaction == "operation":
            ok = ctx.scopes.allows_any(letter)
        else:
            ok = ctx.scopes.allows(rtype, letter)
        if not ok:
            raise _insufficient(f"the access token's scopes ({ctx.scopes.text() or 'none'}) do not allow "
                                f"{interaction} on {rtype}")


def _operation_letter(view_args: dict[str, Any]) -> str:
    from ..operations.framework import find

    try:
        spec = find(view_args["op"][1:], view_args.get("rtype"), view_args.get("rid") is not None)
    except FhirError:
        return "r"  # unknown operation: the view answers 404 after this check
    return "u" if spec.affects_state else "r"


def _insufficient(text: str) -> Forbidden:
    return Forbidden(text, headers={"WWW-Authenticate": 'Bearer realm="fhirsrv", error="insufficient_scope"'})


def _after_request(response: Response) -> Response:
    rec = audit.record()
    if rec is None or (rec.written and response.status_code < 400):
        return response
    if response.status_code >= 400 and rec.failure is None:
        rec.failure = _diagnostics(response)
    try:
        audit.after_request(response.status_code)
    except Exception:
        _log.exception("could not write the audit record; refusing to answer without it")
        rec.written = True
        outcome = operation_outcome([{"severity": "error", "code": "exception",
                                      "diagnostics": "the access could not be audited; nothing was disclosed"}])
        return fhir_response(outcome, 500)
    return response


def _diagnostics(response: Response) -> str | None:
    try:
        issues = orjson.loads(response.get_data()).get("issue") or [{}]
        return str(issues[0].get("diagnostics", ""))[:300] or None
    except (orjson.JSONDecodeError, AttributeError, TypeError):
        return None
